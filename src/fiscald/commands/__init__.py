"""Sub-commands of the ``fiscald`` command line."""
