"""``fiscald emulate tremol``: a Tremol (ZFP) register on the wire, per model and dialect (dialects.py), built
from Tremol's protocol description and third-party clients (shared/spec/tremol.md), never from our driver."""

from fiscald.emulators.tremol.dialects import DEFAULT_MODEL, DIALECTS, MODELS, Dialect, Model
from fiscald.emulators.tremol.emulator import TremolEmulator

__all__ = ["DEFAULT_MODEL", "DIALECTS", "MODELS", "Dialect", "Model", "TremolEmulator"]
