"""Hook specifications: the contract between bpnet and its plugins.

Every hook is called once per plugin when the registry loads (``bpnet`` commands,
:func:`bpnet.core.registry`). The registration hooks take no arguments and return a
list; each item is a class with a unique class attribute ``name`` (the name users
write in specs and on the command line) or a :class:`bpnet.core.plugin.PluginRef` that
names such a class lazily. Two plugins registering the same name for the same kind
is an error naming both plugins. Plugins may implement any subset of the hooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import hookspec

if TYPE_CHECKING:  # pragma: no cover
    import cyclopts


@hookspec
def bpnet_register_architectures() -> list[Any]:
    """Register model architectures.

    Called once when the registry loads. Return a list of
    :class:`bpnet.core.architectures.Architecture` subclasses (or ``PluginRef`` to
    them). Each class has a unique ``name``, a pydantic ``Config`` with every
    hyperparameter, and ``forward(X, X_ctl=None) -> (profile_logits, log_counts)`` with
    ``X`` of shape ``(N, 4, L)``. Once registered, the architecture can be named in a
    spec (``architecture: my-net``), built with :func:`bpnet.core.build_model`, and
    saved and loaded with :func:`bpnet.core.save_model` / :func:`bpnet.core.load_model`.

    Example::

        @hookimpl
        def bpnet_register_architectures():
            return [PluginRef("my-net", "my_package.model:MyNet", "a one-line summary")]
    """


@hookspec
def bpnet_register_sources() -> list[Any]:
    """Register data sources (readers of FASTA, bigWig, BAM, tsv, BED, ... files).

    Called once when the registry loads. Return a list of source classes, each with a
    unique ``name`` (for example ``"bigwig"``), a class attribute ``suffixes`` (the file
    endings it reads, such as ``(".bw", ".bigwig")``) and a constructor taking a local
    path or an http(s) URL. bpnet picks a source by name when a spec names one, and
    otherwise by the file's suffix.

    Example::

        @hookimpl
        def bpnet_register_sources():
            return [PluginRef("cram", "my_package.cram:CramSource")]
    """


@hookspec
def bpnet_register_stages() -> list[Any]:
    """Register pipeline stages (the steps a spec composes into a DAG).

    Called once when the registry loads. Return a list of
    :class:`bpnet.core.stages.Stage` subclasses. Each has a unique ``name``, a pydantic
    ``Params`` model whose fields are the stage's parameters (fields typed
    :data:`bpnet.core.stages.Input` / :data:`bpnet.core.stages.Output` declare the
    files it reads and writes, from which the DAG is built), an optional ``version``
    (a change re-runs the stage; defaults to its package's version) and
    ``run(self, params, context)``. The executor hands ``run`` temporary paths for the
    outputs and moves them into place only when ``run`` returns, so a stage never
    leaves a half-written output. Every registered stage also becomes a command,
    ``bpnet stage NAME --param value ...``.

    Example::

        @hookimpl
        def bpnet_register_stages():
            from my_package.stages import CallFootprints
            return [CallFootprints]
    """


@hookspec
def bpnet_register_importers() -> list[Any]:
    """Register model importers (foreign model files to bpnet models).

    Called once when the registry loads. Return a list of importer classes, each with
    a unique ``name``, a one-line ``summary``, a classmethod ``can_read(source) ->
    bool`` that sniffs a path, and ``load(source, **options) -> torch.nn.Module``.
    bpnet-keras registers its Keras/ENCODE importer this way; ``bpnet plugins`` lists
    importers and the ``import-model`` stage uses them.

    Example::

        @hookimpl
        def bpnet_register_importers():
            return [PluginRef("onnx", "my_package.onnx:OnnxImporter")]
    """


@hookspec
def bpnet_register_executors() -> list[Any]:
    """Register DAG executors (what runs the stages of ``bpnet run``).

    Called once when the registry loads. Return a list of executor classes, each with
    a unique ``name`` and ``execute(graph, run_stage) -> list[StageResult]``:
    ``graph`` is a :class:`bpnet.core.dag.StageGraph` (stage ids in topological order
    and their dependencies) and ``run_stage(stage_id)`` runs one stage, including the
    up-to-date check, and returns its result. An executor may run independent stages
    concurrently (on other machines or GPUs) but must not start a stage before its
    dependencies have finished successfully. The built-in ``local`` executor runs them
    one after the other on this machine; specs choose one with ``executor: NAME``.

    Example::

        @hookimpl
        def bpnet_register_executors():
            return [PluginRef("ray", "my_package.ray_executor:RayExecutor")]
    """


@hookspec
def bpnet_add_commands(app: "cyclopts.App") -> None:
    """Add sub-commands to the ``bpnet`` command line.

    Called once when the ``bpnet`` command starts, with the root cyclopts ``App``.
    Register commands with ``app.command(function, name="...")``; keep imports of heavy
    modules inside the command functions so ``bpnet --help`` stays fast. Command names
    must not clash with bpnet's own (``run``, ``validate``, ``schema``, ``plugins``,
    ``stage``).

    Example::

        @hookimpl
        def bpnet_add_commands(app):
            from my_package.cli import simulate
            app.command(simulate, name="simulate")
    """
