"""Tremol registers (ZFP framing, drivers/zfp): the Bulgarian, Romanian and V2 dialects as tables (models.py)."""
