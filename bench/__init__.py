"""Benchmarks: scripts that print numbers (results in docs/benchmarks.md)."""
