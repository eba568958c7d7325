"""The plugin kinds: what bpnet expects of each class a plugin registers.

This module is the plugin author's reference. A plugin registers classes of five
kinds through the hooks of :mod:`bpnet.core.plugin.hookspecs`; each kind has one
interface below, with the base class most plugins derive from:

.. code-block:: text

    kind          interface         usual base class                            registration hook
    architecture  ArchitectureKind  bpnet.core.architectures.Architecture       bpnet_register_architectures
    stage         StageKind         bpnet.core.stages.Stage                     bpnet_register_stages
    source        SourceKind        a role class of bpnet.data.sources.roles    bpnet_register_sources
    importer      ImporterKind      none (a class with two classmethods)        bpnet_register_importers
    executor      ExecutorKind      none                                        bpnet_register_executors

The registry checks every class when it first loads it (a ``PluginRef`` target on
first use, a class registered directly at once, an architecture named by dotted path
when the spec names it) with :func:`contract_problem`, and refuses a wrong one with a
:class:`~bpnet.core.errors.RegistryError` that names the plugin, its package, the kind
and what is wrong. Importing this module imports nothing heavy: the checks look at a
class after its plugin has imported it, and never import torch themselves.
"""

from __future__ import annotations

import inspect
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from ..dag.executor import StageResult
    from ..dag.graph import StageGraph
    from ..stages.base import StageContext, StageParams


class ArchitectureKind(Protocol):
    """A model: a ``torch.nn.Module`` subclass (kind ``architecture``).

    Derive from :class:`bpnet.core.architectures.Architecture` (or
    ``DilatedResidualArchitecture``) and give the class a unique ``name`` and a pydantic
    ``Config`` with every hyperparameter; specs then name it (``architecture: my-net``),
    validate its hyperparameters, and :func:`bpnet.core.save_model` /
    :func:`bpnet.core.load_model` store and rebuild it without pickle. A plain
    ``torch.nn.Module`` subclass needs no registration and no ``name``: a spec may name
    it by dotted path (``architecture: my_package.model:MyNet``).

    ``forward(X, X_ctl=None)`` takes one-hot sequence ``X`` of shape ``(N, 4, L)`` and
    optional control tracks ``X_ctl`` of shape ``(N, C, L')`` and returns
    ``(profile_logits, log_counts)`` of shapes ``(N, tracks, output_length)`` and
    ``(N, k)``.
    """

    name: ClassVar[str]

    def forward(self, X: torch.Tensor, X_ctl: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(profile logits, log counts) of a batch of one-hot sequences."""
        ...


class StageKind(Protocol):
    """A pipeline step (kind ``stage``): a subclass of :class:`bpnet.core.stages.Stage`.

    ``name`` is unique and is what specs write (``stage: NAME``); ``Params`` is a
    subclass of :class:`bpnet.core.stages.StageParams` whose fields are the stage's
    parameters (fields typed ``Input``/``Output`` declare the files it reads and
    writes); ``version`` (optional) changes when behaviour changes, so earlier outputs
    are re-made; ``run(params, context)`` does the work and writes its outputs to the
    temporary paths it is given. See :mod:`bpnet.core.stages.base` for an example.
    """

    name: ClassVar[str]
    Params: ClassVar[type[StageParams]]
    version: ClassVar[str | None]

    def run(self, params: Any, context: StageContext) -> None:
        """Read the inputs named in ``params`` and write its outputs."""
        ...


class SourceKind(ABC):
    """A reader of one kind of file, local or by URL (kind ``source``).

    ``name`` is unique (for example ``"bigwig"``); ``suffixes`` are the file endings it
    reads, such as ``(".bw", ".bigwig")``, matched case-insensitively against the end of
    a path or URL (a URL's query string ignored); the constructor takes the location as
    its first argument, a local path or an http(s) URL; :attr:`label` is how error
    messages name the input.

    What a source reads beyond that depends on its *role*. bpnet-data opens every file
    for a purpose (reads to count, a genome, intervals, signal tracks) and considers
    only the sources of that role's class (:mod:`bpnet.data.sources.roles`): the one a
    caller names, else the one whose longest suffix matches. Derive from the role's
    class (``ReadSource``, ``SequenceSource``, ...), which derives from
    ``bpnet.data.sources.base.Source`` (local paths, downloads into the cache), which
    implements this interface.
    """

    name: ClassVar[str] = ""
    suffixes: ClassVar[tuple[str, ...]] = ()

    @property
    @abstractmethod
    def label(self) -> str:
        """How error messages name this input (its path or URL)."""


class ImporterKind(Protocol):
    """Turns a model file of another framework into a bpnet model (kind ``importer``).

    ``name`` is unique (``importer: NAME`` in the ``import-model`` stage), ``summary`` is
    one line for ``bpnet plugins``; both methods are classmethods (bpnet never builds an
    importer): ``can_read(source)`` tells cheaply whether the file is one this importer
    reads (``importer: auto`` takes the first importer, by name, that says yes), and
    ``load(source, **options)`` returns the ``torch.nn.Module``.
    """

    name: ClassVar[str]
    summary: ClassVar[str]

    @classmethod
    def can_read(cls, source: Any) -> bool:
        """Whether ``source`` (a path) is a file this importer reads."""
        ...

    @classmethod
    def load(cls, source: Any, **options: Any) -> torch.nn.Module:
        """The imported model (options such as ``fold`` and ``kind`` come from the spec)."""
        ...


class ExecutorKind(Protocol):
    """Runs the stages of ``bpnet run`` (kind ``executor``); specs choose one with ``executor: NAME``.

    bpnet builds the executor with no arguments and calls ``execute(graph, run_stage)``:
    ``graph`` is the :class:`bpnet.core.dag.StageGraph` of the selected stages (ids in
    topological order, ``graph.dependencies[id]``) and ``run_stage(stage_id)`` runs one
    stage (up-to-date check, atomic outputs, records, lifecycle hooks) and returns its
    :class:`bpnet.core.dag.StageResult`. ``execute`` returns the results of the stages
    it ran; it may run independent stages concurrently but starts none before its
    dependencies have finished with status ``ran`` or ``skipped``.
    """

    name: ClassVar[str]

    def execute(self, graph: StageGraph, run_stage: Callable[[str], StageResult]) -> list[StageResult]:
        """Run the stages of ``graph`` through ``run_stage``; return their results."""
        ...


# -- the checks the registry applies ------------------------------------------------------


def contract_problem(kind: str, cls: Any, name: str | None) -> str | None:
    """What is wrong with ``cls`` as a plugin of ``kind`` registered as ``name``; None if nothing.

    ``name`` is None for an architecture named by dotted path (it needs no ``name``).
    The answer completes a sentence that starts with the plugin, as in "stage 'x' from
    plugin 'y' (pkg) has no Params model derived from StageParams".
    """
    if not isinstance(cls, type):
        return f"is {cls!r}, not a class"
    own = getattr(cls, "name", None)
    if name is not None and own != name:
        return (
            f"is the class {_qualname(cls)}, whose name attribute is {own!r}, not {name!r}: "
            "give the class the name it is registered under"
        )
    return _CHECKS[kind](cls)


def _architecture_problem(cls: type) -> str | None:
    torch = sys.modules.get("torch")  # a class cannot derive from torch.nn.Module unless torch is imported
    if torch is None or not issubclass(cls, torch.nn.Module):
        return (
            f"is the class {_qualname(cls)}, which is not a torch.nn.Module subclass "
            "(derive from bpnet.core.architectures.Architecture)"
        )
    return None


def _stage_problem(cls: type) -> str | None:
    from ..stages.base import Stage, StageParams

    if not issubclass(cls, Stage):
        return f"is the class {_qualname(cls)}, which does not derive from bpnet.core.stages.Stage"
    params = getattr(cls, "Params", None)
    if not (isinstance(params, type) and issubclass(params, StageParams)) or params is StageParams:
        return "has no Params model derived from StageParams (declare `class Params(StageParams): ...` on the stage)"
    if cls.run is Stage.run:
        return "does not define run(self, params, context)"
    return None


def _source_problem(cls: type) -> str | None:
    suffixes = getattr(cls, "suffixes", None)
    if not isinstance(suffixes, tuple) or not all(isinstance(s, str) and s for s in suffixes):
        return f"has suffixes {suffixes!r}: give a tuple of file endings such as ('.frag.gz',)"
    if not hasattr(cls, "label"):
        return "has no label (how error messages name the input): derive from bpnet.data.sources.base.Source"
    if not _takes(cls, "location"):
        return "cannot be built from a path or URL: its constructor must take the location as its first argument"
    return None


def _importer_problem(cls: type) -> str | None:
    if not isinstance(getattr(cls, "summary", None), str):
        return "has no summary (a one-line str class attribute)"
    for method, signature in (("can_read", "can_read(cls, source) -> bool"), ("load", "load(cls, source, **options)")):
        if not isinstance(inspect.getattr_static(cls, method, None), (classmethod, staticmethod)):
            return f"has no classmethod {signature}"
    return None


def _executor_problem(cls: type) -> str | None:
    if not callable(getattr(cls, "execute", None)):
        return "has no method execute(self, graph, run_stage)"
    if not _takes(cls):
        return "cannot be built without arguments (bpnet calls the class with none)"
    return None


def _takes(cls: type, *arguments: str) -> bool:
    """Whether ``cls(*arguments)`` binds to its constructor's signature."""
    try:
        inspect.signature(cls).bind(*arguments)
    except TypeError:
        return False
    except ValueError:  # no signature to read (a builtin): trust it
        return True
    return True


def _qualname(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


_CHECKS: dict[str, Callable[[type], str | None]] = {
    "architecture": _architecture_problem,
    "source": _source_problem,
    "stage": _stage_problem,
    "importer": _importer_problem,
    "executor": _executor_problem,
}

#: kind -> its interface
INTERFACES: dict[str, type] = {
    "architecture": ArchitectureKind,
    "source": SourceKind,
    "stage": StageKind,
    "importer": ImporterKind,
    "executor": ExecutorKind,
}

__all__ = [
    "INTERFACES", "ArchitectureKind", "ExecutorKind", "ImporterKind", "SourceKind", "StageKind", "contract_problem",
]
