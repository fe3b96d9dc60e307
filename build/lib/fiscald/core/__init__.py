"""What every device shares: the manager (per-device queue, keyed tasks, restart), idempotency, card payments
through a linked terminal, device administration and the events they publish."""
