"""Writing a bpnet plugin: the one import a plugin needs.

A plugin is a module (or any object) with functions marked ``@hookimpl`` whose names
are those of the hook specs in :mod:`bpnet.core.plugin.hookspecs`. Publish it through
the ``bpnet`` entry-point group of your package::

    # pyproject.toml
    [project.entry-points.bpnet]
    my_arch = "my_package.plugin"

    # my_package/plugin.py
    from bpnet.core.plugin import hookimpl

    @hookimpl
    def bpnet_register_architectures():
        from my_package.model import MyNet     # import heavy code inside the hook
        return [MyNet]

Each registration hook returns a list of classes carrying a unique ``name`` (or
:class:`PluginRef` objects that name a class without importing it); what each kind of
class must provide is in :mod:`bpnet.core.plugin.kinds`, the plugin author's reference.
bpnet's own built-ins register exactly the same way. ``bpnet plugins`` lists what is
installed.
"""

from __future__ import annotations

import pluggy

from .refs import PluginRef

PROJECT_NAME = "bpnet"
ENTRY_POINT_GROUP = "bpnet"

hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
hookspec = pluggy.HookspecMarker(PROJECT_NAME)

__all__ = ["ENTRY_POINT_GROUP", "PROJECT_NAME", "PluginRef", "hookimpl", "hookspec"]
