"""bpnet-data's pipeline stages: one module per stage, registered in :mod:`bpnet.data.plugin`."""
