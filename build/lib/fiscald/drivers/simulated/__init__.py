"""Simulated devices: a fiscal register and a POS terminal that behave like real ones."""
