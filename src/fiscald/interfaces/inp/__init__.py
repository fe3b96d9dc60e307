"""The INP file interface (shared/spec/inp.md)."""

from fiscald.interfaces.inp.encoding import Decoded, decode
from fiscald.interfaces.inp.parser import InpError, InpJob, parse_inp

__all__ = ["Decoded", "InpError", "InpJob", "decode", "parse_inp"]
