"""Device-level data shared by the store, the drivers, the core and the interfaces (a leaf: imports only
errors and operations): device configurations, device status, the simulator's control request."""
