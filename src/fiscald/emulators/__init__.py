"""Wire-level device emulators for testing drivers without hardware."""
