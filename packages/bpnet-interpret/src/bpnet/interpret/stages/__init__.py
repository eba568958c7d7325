"""bpnet-interpret's pipeline stages: one module per stage, registered in :mod:`bpnet.interpret.plugin`."""
