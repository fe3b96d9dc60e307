"""fiscald: an open fiscal device driver (FisCool-compatible)."""

__version__ = "0.1.0"
