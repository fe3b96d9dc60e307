"""Datecs fiscal registers (ISL protocol family): framing, session, command tables, the driver."""
