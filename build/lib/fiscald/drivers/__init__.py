"""What differs per device family: the driver contract (``base``), the supported models (``registry``), the
byte-stream transports below drivers, and one package per family (``simulated``...)."""
