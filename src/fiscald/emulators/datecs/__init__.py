"""``fiscald emulate datecs``: a Datecs register on the wire, per model and dialect (dialects.py), built from
the manuals and third-party clients (shared/spec/datecs-evidence.md), never from our driver."""

from fiscald.emulators.datecs.dialects import DEFAULT_MODEL, MODELS, Dialect, Model
from fiscald.emulators.datecs.emulator import DatecsEmulator

__all__ = ["DEFAULT_MODEL", "MODELS", "DatecsEmulator", "Dialect", "Model"]
