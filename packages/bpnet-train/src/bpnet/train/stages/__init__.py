"""bpnet-train's pipeline stages: one module per stage, registered in :mod:`bpnet.train.plugin`."""

#: Code version of these stages. They moved here from bpnet-data 0.1.0 with the same
#: behaviour, so they keep the version they had there and outputs written then stay
#: up to date. A stage whose results change gets its own version (``evaluate``: 0.2.0).
STAGE_VERSION = "bpnet-data==0.1.0"
