"""Command groups of the ``fiscald`` command line."""
