"""The ``bpnet`` command line."""

from .main import build_app, main

__all__ = ["build_app", "main"]
