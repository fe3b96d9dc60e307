"""What every real fiscal register driver shares, whatever its brand: the receipt it is printing, recorded
durably before the receipt can close, and what remains to pay when a failure interrupted it."""
