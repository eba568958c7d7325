"""``bpnet init``: a complete, commented pipeline spec from data pointers.

:class:`InitOptions` holds what the user points at (genome, reads, controls, peaks,
motifs) and how the experiment was done (:mod:`.options`); :func:`build_plan` turns
them into stages and parameters (:mod:`.plan`); :func:`render_spec` writes every
parameter of every stage with its description as a comment (:mod:`.render`);
:func:`write_spec` checks the files, validates like ``bpnet validate`` and writes the
spec (:mod:`.writer`). The command is :func:`bpnet.interpret.init.cli.init`, added to
``bpnet`` by bpnet-interpret's plugin. Names are imported on first use, so adding the
command costs ``bpnet --help`` nothing.
"""

from bpnet.core.lazy import lazy_exports

_EXPORTS = {
    "InitOptions": ".options",
    "Plan": ".plan",
    "PlannedStage": ".plan",
    "build_plan": ".plan",
    "render_spec": ".render",
    "WrittenSpec": ".writer",
    "write_spec": ".writer",
}
__getattr__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
