"""Interfaces: adapters that translate a wire format into typed operations and back."""
