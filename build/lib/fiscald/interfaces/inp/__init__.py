"""The INP file interface (shared/spec/inp.md)."""

from fiscald.interfaces.inp.parser import InpError, InpJob, decode_inp, parse_inp

__all__ = ["InpError", "InpJob", "decode_inp", "parse_inp"]
