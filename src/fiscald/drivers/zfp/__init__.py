"""Tremol's ZFP protocol: the wire framing and session rules a driver and the emulator share (no I/O here)."""
