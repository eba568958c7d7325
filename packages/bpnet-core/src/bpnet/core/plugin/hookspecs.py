"""Hook specifications: the contract between bpnet and its plugins.

Registration hooks (``bpnet_register_*``) are called once per plugin when the registry
loads (``bpnet`` commands, :func:`bpnet.core.registry`). They take no arguments and
return a list; each item is a class with a unique class attribute ``name`` (the name
users write in specs and on the command line) or a :class:`bpnet.core.plugin.PluginRef`
that names such a class lazily. What each kind's class must provide is defined in
:mod:`bpnet.core.plugin.kinds`; the registry checks every class against it when the
class is first loaded and refuses a wrong one, naming the plugin. Two plugins
registering the same name for the same kind is an error naming both plugins.

Lifecycle hooks (``bpnet_stage_started``, ``bpnet_stage_finished``) tell plugins what
the runner does, for progress reporters, notifiers and executors. bpnet calls them
through typed wrappers on the registry; one that raises is logged as a warning naming
its plugin, and the run goes on.

Plugins may implement any subset of the hooks, and an implementation may take any
subset of a hook's arguments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import hookspec

if TYPE_CHECKING:  # pragma: no cover
    import cyclopts

    from ..dag.executor import StageResult


@hookspec
def bpnet_register_architectures() -> list[Any]:
    """Register model architectures.

    Called once when the registry loads. Return a list of
    :class:`bpnet.core.architectures.Architecture` subclasses (or ``PluginRef`` to
    them): :class:`bpnet.core.plugin.kinds.ArchitectureKind`. Each class has a unique
    ``name``, a pydantic ``Config`` with every hyperparameter, and ``forward(X,
    X_ctl=None) -> (profile_logits, log_counts)`` with ``X`` of shape ``(N, 4, L)``; a
    class that is not a ``torch.nn.Module`` is refused. Once registered, the
    architecture can be named in a spec (``architecture: my-net``), built with
    :func:`bpnet.core.build_model`, and saved and loaded with
    :func:`bpnet.core.save_model` / :func:`bpnet.core.load_model`.

    Example::

        @hookimpl
        def bpnet_register_architectures():
            return [PluginRef("my-net", "my_package.model:MyNet", "a one-line summary")]
    """


@hookspec
def bpnet_register_sources() -> list[Any]:
    """Register data sources (readers of FASTA, bigWig, BAM, tsv, BED, ... files).

    Called once when the registry loads. Return a list of source classes
    (:class:`bpnet.core.plugin.kinds.SourceKind`), each with a unique ``name`` (for
    example ``"bigwig"``), a class attribute ``suffixes`` (the file endings it reads,
    such as ``(".bw", ".bigwig")``), a constructor taking a local path or an http(s)
    URL, and a ``label``. Derive from the class of the role the source plays
    (:mod:`bpnet.data.sources.roles`: ``ReadSource`` for reads to count,
    ``SequenceSource`` or ``SizesSource`` for a genome, ``IntervalSource`` for
    intervals, ``SignalSource`` for signal tracks): bpnet-data opens every file with
    :func:`bpnet.data.sources.open_source`, which considers the sources of the role it
    needs and takes the one a caller names, else the one whose longest suffix ends the
    file name (:meth:`bpnet.core.plugin.registry.Registry.source_for`). So a
    ``.cram`` reader that is a ``ReadSource`` is used by ``reads-to-bigwig`` for any
    ``.cram`` file a spec names.

    Example::

        @hookimpl
        def bpnet_register_sources():
            return [PluginRef("cram", "my_package.cram:CramSource", "aligned reads in CRAM")]
    """


@hookspec
def bpnet_register_stages() -> list[Any]:
    """Register pipeline stages (the steps a spec composes into a DAG).

    Called once when the registry loads. Return a list of
    :class:`bpnet.core.stages.Stage` subclasses
    (:class:`bpnet.core.plugin.kinds.StageKind`). Each has a unique ``name``, a pydantic
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

    Called once when the registry loads. Return a list of importer classes
    (:class:`bpnet.core.plugin.kinds.ImporterKind`), each with a unique ``name``, a
    one-line ``summary``, a classmethod ``can_read(source) -> bool`` that sniffs a path,
    and a classmethod ``load(source, **options) -> torch.nn.Module``. The
    ``import-model`` stage takes the importer its spec names, or with ``importer: auto``
    the first (by name) whose ``can_read`` is true
    (:meth:`bpnet.core.plugin.registry.Registry.importer_for`). bpnet-keras registers
    its Keras/ENCODE importer this way; ``bpnet plugins`` lists importers.

    Example::

        @hookimpl
        def bpnet_register_importers():
            return [PluginRef("onnx", "my_package.onnx:OnnxImporter")]
    """


@hookspec
def bpnet_register_executors() -> list[Any]:
    """Register DAG executors (what runs the stages of ``bpnet run``).

    Called once when the registry loads. Return a list of executor classes
    (:class:`bpnet.core.plugin.kinds.ExecutorKind`), each with a unique ``name``, a
    constructor without arguments and ``execute(graph, run_stage) -> list[StageResult]``:
    ``graph`` is a :class:`bpnet.core.dag.StageGraph` (stage ids in topological order
    and their dependencies) and ``run_stage(stage_id)`` runs one stage, including the
    up-to-date check, and returns its result. An executor may run independent stages
    concurrently (on other machines or GPUs) but must not start a stage before its
    dependencies have finished successfully. ``run_stage`` calls the lifecycle hooks
    (``bpnet_stage_started`` / ``bpnet_stage_finished``) itself, so an executor need not.
    The built-in ``local`` executor runs them
    one after the other on this machine; specs choose one with ``executor: NAME``.

    Example::

        @hookimpl
        def bpnet_register_executors():
            return [PluginRef("ray", "my_package.ray_executor:RayExecutor")]
    """


@hookspec
def bpnet_add_commands(app: cyclopts.App) -> None:
    """Add sub-commands to the ``bpnet`` command line.

    Called once when the ``bpnet`` command starts; ``app`` is the root cyclopts
    ``App``. Register commands with ``app.command(function, name="...")``; keep imports of heavy
    modules inside the command functions so ``bpnet --help`` stays fast. Command names
    must not clash with bpnet's own (``run``, ``validate``, ``schema``, ``plugins``,
    ``stage``).

    Example::

        @hookimpl
        def bpnet_add_commands(app):
            from my_package.cli import simulate
            app.command(simulate, name="simulate")
    """


@hookspec
def bpnet_stage_started(stage_id: str, stage: str, params: dict[str, Any]) -> None:
    """A stage is taken up by the runner (``bpnet run``, ``bpnet stage NAME``).

    Called in the process that runs the pipeline, once for every stage the executor
    hands to the runner, before the runner checks whether the stage is up to date: so
    for stages that will run, be skipped or fail alike. Every call is followed by one
    call of ``bpnet_stage_finished`` with the same ``stage_id``, unless the run is
    interrupted (Ctrl-C). Stages that are never taken up (those after a failure) get
    neither call.

    Arguments: ``stage_id`` is the stage's id in the spec (``chip-signal``); ``stage``
    is the registered stage name (``reads-to-bigwig``); ``params`` is the stage's
    resolved parameters as JSON-ready data (paths are absolute strings, inputs given
    as URLs are the URLs), exactly as ``params.yaml`` records them. Treat it as
    read-only. The return value is ignored. An implementation that raises is logged as
    a warning naming its plugin, and the run goes on.

    Example::

        @hookimpl
        def bpnet_stage_started(stage_id, stage, params):
            print(f"-> {stage_id} ({stage}) with {len(params)} parameters")
    """


@hookspec
def bpnet_stage_finished(result: StageResult) -> None:
    """A stage the runner took up has ended: it ran, was skipped, or failed.

    Called in the process that runs the pipeline, once after every
    ``bpnet_stage_started`` call, when the stage's outputs are in place (or, for a
    failure, when its temporary outputs are gone). ``result`` is the
    :class:`bpnet.core.dag.StageResult`: ``stage_id``, ``stage`` (the registered name),
    ``status`` (``"ran"``, ``"skipped"`` because it was up to date, or ``"failed"``),
    ``seconds`` (wall time of the stage's ``run``; 0 when skipped), ``message`` (the
    one-line error of a failure, else empty) and ``exit_code`` (2 for a refused input,
    1 otherwise). The return value is ignored; an implementation that raises is logged
    as a warning naming its plugin, and the run goes on.

    Example::

        @hookimpl
        def bpnet_stage_finished(result):
            if result.status == "failed":
                notify(f"bpnet: {result.stage_id} failed: {result.message}")
            else:
                print(f"<- {result.stage_id} {result.status} in {result.seconds:.1f} s")
    """
