"""Shipping every store's journal, Z reports and operation outcomes to a central PostgreSQL (docs/central.md)."""
