"""Interfaces: thin adapters from a wire format onto Device Operations."""
