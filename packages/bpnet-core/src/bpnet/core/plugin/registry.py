"""The plugin registry: a typed facade over pluggy.

Core code never calls hooks directly: it asks the :class:`Registry` for an
architecture, stage, source, importer or executor by name (or for the source that
reads a file, the importer that reads a model file), and tells plugins about stages
through typed wrappers of the lifecycle hooks. Every class is checked against its
kind (:mod:`bpnet.core.plugin.kinds`) when it is first loaded. Plugins are discovered
through the ``bpnet`` entry-point group (bpnet-core's own built-ins included) and may
also be passed in directly (tests, local plugins). Set ``BPNET_DISABLE_PLUGINS`` to a
comma-separated list of entry-point names to block them.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from ..errors import RegistryError
from . import ENTRY_POINT_GROUP, PROJECT_NAME, hookspecs
from .kinds import contract_problem
from .refs import PluginRef, import_dotted

if TYPE_CHECKING:  # pragma: no cover
    from ..dag.executor import StageResult

log = logging.getLogger(__name__)

#: kind -> the registration hook that fills it
KINDS: dict[str, str] = {
    "architecture": "bpnet_register_architectures",
    "source": "bpnet_register_sources",
    "stage": "bpnet_register_stages",
    "importer": "bpnet_register_importers",
    "executor": "bpnet_register_executors",
}


@dataclass(frozen=True)
class Entry:
    """One registered class: its kind and name, and the plugin that provided it."""

    kind: str
    name: str
    plugin: str
    package: str
    version: str
    item: Any

    @property
    def summary(self) -> str:
        if isinstance(self.item, PluginRef):
            return self.item.summary
        doc = (self.item.__doc__ or "").strip()
        return doc.splitlines()[0] if doc else ""

    @property
    def who(self) -> str:
        """How messages name it: "stage 'x' from plugin 'y' (package)"."""
        return f"{self.kind} '{self.name}' from plugin '{self.plugin}' ({self.package})"

    def load(self) -> type:
        """The registered class (imported on first use for a PluginRef, then checked against its kind)."""
        if not isinstance(self.item, PluginRef):
            return self.item  # checked when it was registered
        try:
            cls = self.item.load()
        except (ImportError, AttributeError) as exc:
            raise RegistryError(f"{self.who} cannot be imported from {self.item.target}: {exc}") from exc
        self.check(cls)
        return cls

    def check(self, cls: Any) -> None:
        """Refuse ``cls`` with a RegistryError if it does not meet its kind's contract."""
        problem = contract_problem(self.kind, cls, self.name)
        if problem:
            raise RegistryError(f"{self.who} {problem}")


class Registry:
    """Everything the installed plugins register, by kind and name."""

    def __init__(self, plugins: Iterable[Any] = (), *, entry_points: bool = True):
        self.pm = pluggy.PluginManager(PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self._dists: dict[str, tuple[str, str]] = {}
        if entry_points:
            self._load_entry_points()
        for plugin in plugins:
            name = getattr(plugin, "__name__", None) or repr(plugin)
            self.pm.register(plugin, name=name)
        self.pm.check_pending()
        self._entries: dict[str, dict[str, Entry]] = {kind: self._collect(kind) for kind in KINDS}

    def _load_entry_points(self) -> None:
        blocked = {n.strip() for n in os.environ.get("BPNET_DISABLE_PLUGINS", "").split(",") if n.strip()}
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in blocked or self.pm.get_plugin(ep.name) is not None:
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # a broken third-party plugin must not break bpnet
                log.warning("plugin '%s' (%s) failed to load and is skipped: %s", ep.name, ep.value, exc)
                continue
            self.pm.register(plugin, name=ep.name)
            dist = ep.dist
            if dist is not None:
                self._dists[ep.name] = (dist.metadata["Name"], dist.version)

    def _origin(self, plugin_name: str, plugin: Any) -> tuple[str, str]:
        if plugin_name in self._dists:
            return self._dists[plugin_name]
        module = getattr(plugin, "__name__", "") or type(plugin).__module__
        return (module.split(".")[0] or "?", "")

    def _collect(self, kind: str) -> dict[str, Entry]:
        entries: dict[str, Entry] = {}
        hook = getattr(self.pm.hook, KINDS[kind])
        for impl in reversed(hook.get_hookimpls()):  # registration order
            package, version = self._origin(impl.plugin_name, impl.plugin)
            for item in impl.function() or []:
                name = getattr(item, "name", "") or getattr(item, "PLUGIN_NAME", "")
                if not isinstance(name, str) or not name:
                    raise RegistryError(
                        f"plugin '{impl.plugin_name}' registers a {kind} without a name: {item!r}"
                    )
                if name in entries:
                    other = entries[name]
                    raise RegistryError(
                        f"{kind} name '{name}' is registered twice: by plugin '{other.plugin}' "
                        f"({other.package}) and by plugin '{impl.plugin_name}' ({package}); "
                        "uninstall one of them or block it with BPNET_DISABLE_PLUGINS"
                    )
                entries[name] = Entry(kind, name, impl.plugin_name, package, version, item)
                if not isinstance(item, PluginRef):
                    entries[name].check(item)
        return entries

    # -- typed access -------------------------------------------------------------------
    def entries(self, kind: str | None = None) -> Iterator[Entry]:
        """All registered entries, or those of one kind, sorted by kind then name."""
        kinds = [kind] if kind else list(KINDS)
        for k in kinds:
            yield from sorted(self._entries[k].values(), key=lambda e: e.name)

    def plugins(self) -> list[tuple[str, str, str, list[str]]]:
        """(plugin name, package, version, hooks it implements) of every registered plugin."""
        rows = []
        for name, plugin in self.pm.list_name_plugin():
            hooks = sorted(impl.name for impl in self.pm.get_hookcallers(plugin) or [])
            package, version = self._origin(name, plugin)
            rows.append((name, package, version, hooks))
        return sorted(rows, key=lambda row: (row[1], row[0]))

    def names(self, kind: str) -> list[str]:
        return sorted(self._entries[kind])

    def entry(self, kind: str, name: str) -> Entry:
        try:
            return self._entries[kind][name]
        except KeyError:
            known = ", ".join(self.names(kind)) or "none"
            raise RegistryError(f"unknown {kind} '{name}' (installed: {known})") from None

    def get(self, kind: str, name: str) -> type:
        """The class registered as ``name``; a ``"module:Class"`` path is imported directly.

        Either way the class is checked against its kind (:mod:`.kinds`).
        """
        if name not in self._entries[kind] and ":" in name:
            try:
                cls = import_dotted(name)
            except (ImportError, AttributeError) as exc:
                raise RegistryError(f"{kind} '{name}' cannot be imported: {exc}") from exc
            problem = contract_problem(kind, cls, None)
            if problem:
                raise RegistryError(f"{kind} '{name}' (a dotted path) {problem}")
            return cls
        return self.entry(kind, name).load()

    def name_of(self, kind: str, cls: type) -> str | None:
        """The registered name of ``cls``, if it is registered."""
        for entry in self._entries[kind].values():
            target = entry.item.target if isinstance(entry.item, PluginRef) else entry.item
            if target is cls or target == f"{cls.__module__}:{cls.__qualname__}":
                return entry.name
        return None

    def architecture(self, name: str) -> type:
        return self.get("architecture", name)

    def stage(self, name: str) -> type:
        return self.get("stage", name)

    def source(self, name: str) -> type:
        return self.get("source", name)

    def importer(self, name: str) -> type:
        return self.get("importer", name)

    def executor(self, name: str) -> type:
        return self.get("executor", name)

    # -- choosing a source or an importer for a file ------------------------------------
    def source_for(self, location: str | Path, *, role: type | None = None, name: str | None = None) -> type | None:
        """The source class that reads ``location``, or None when no source does.

        With ``name``, the source registered under that name; otherwise the one whose
        longest suffix ends the file name (case-insensitive; a URL's query string is
        ignored; between equally long suffixes the first name in alphabetical order).
        Only sources derived from ``role`` count (bpnet-data's roles: reads, genome,
        intervals, signal); a named source that is not one is an error.
        """
        if name:
            cls = self.source(name)
            if role is not None and not issubclass(cls, role):
                who = self._entries["source"][name].who if name in self._entries["source"] else f"source '{name}'"
                raise RegistryError(f"{who} cannot be used here: it is not a {role.__qualname__}")
            return cls
        file_name = str(location).split("?", 1)[0].lower()
        best: tuple[int, type] | None = None
        for cls in self.sources(role):
            for suffix in cls.suffixes:
                if file_name.endswith(suffix.lower()) and (best is None or len(suffix) > best[0]):
                    best = (len(suffix), cls)
        return best[1] if best else None

    def sources(self, role: type | None = None) -> list[type]:
        """Every registered source class (derived from ``role``, if given), by name."""
        classes = [entry.load() for entry in self.entries("source")]
        return [cls for cls in classes if role is None or issubclass(cls, role)]

    def importer_for(self, source: str | Path, name: str = "auto") -> type:
        """The importer called ``name``, or for ``"auto"`` the first (by name) whose ``can_read(source)`` is true."""
        if name != "auto":
            return self.importer(name)
        for entry in self.entries("importer"):
            importer = entry.load()
            if importer.can_read(source):
                return importer
        installed = ", ".join(self.names("importer")) or "none (install bpnet-keras for Keras/ENCODE models)"
        raise RegistryError(f"no installed importer reads {source} (importers: {installed})")

    # -- commands and lifecycle hooks -----------------------------------------------------
    def add_commands(self, app: Any) -> None:
        """Let plugins add sub-commands to the ``bpnet`` command line."""
        self.pm.hook.bpnet_add_commands(app=app)

    def stage_started(self, stage_id: str, stage: str, params: dict[str, Any]) -> None:
        """Tell plugins that the runner takes up a stage (``bpnet_stage_started``)."""
        self._notify("bpnet_stage_started", stage_id=stage_id, stage=stage, params=params)

    def stage_finished(self, result: StageResult) -> None:
        """Tell plugins how a stage ended (``bpnet_stage_finished``)."""
        self._notify("bpnet_stage_finished", result=result)

    def _notify(self, hook_name: str, **kwargs: Any) -> None:
        """Call every implementation of a notification hook; one that raises is logged and skipped."""
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            if impl.hookwrapper or impl.wrapper:  # nothing to wrap: notifications return nothing
                continue
            try:
                impl.function(*(kwargs[arg] for arg in impl.argnames))
            except Exception as exc:  # a plugin's observer must not break the run
                log.warning("plugin '%s': its %s hook failed and is ignored: %s: %s", impl.plugin_name, hook_name, type(exc).__name__, exc)


_default: Registry | None = None


def registry() -> Registry:
    """The process-wide registry of installed plugins (loaded on first use)."""
    global _default
    if _default is None:
        _default = Registry()
    return _default


def set_registry(new: Registry | None) -> None:
    """Replace the process-wide registry (tests, embedding applications)."""
    global _default
    _default = new
