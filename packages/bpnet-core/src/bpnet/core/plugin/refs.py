"""Lazy references to plugin classes, so listing plugins imports no heavy code."""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class PluginRef:
    """Name a plugin class by ``"package.module:ClassName"`` without importing it.

    ``summary`` is a one-line description shown by ``bpnet plugins``.
    """

    name: str
    target: str
    summary: str = ""

    def load(self) -> type:
        """Import and return the class (raises ImportError/AttributeError if missing)."""
        return import_dotted(self.target)


def import_dotted(target: str) -> type:
    """Import ``"package.module:attr"`` (or ``"package.module.attr"``) and return ``attr``."""
    module_name, sep, attribute = target.partition(":")
    if not sep:
        module_name, _, attribute = target.rpartition(".")
    obj = importlib.import_module(module_name)
    for part in attribute.split("."):
        obj = getattr(obj, part)
    return obj
