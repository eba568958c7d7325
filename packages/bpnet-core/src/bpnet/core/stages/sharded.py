"""Sharded stages: a stage whose work splits into independent shards.

This is the contract between such a stage and an executor plugin that spreads work over
GPUs or machines. The local executor knows nothing of it and calls ``run``, which runs
the shards not yet finished, one after another, then merges them. A distributed executor
may instead, for a stage ``isinstance(stage, ShardedStage)``:

1. prepare ``params`` and a :class:`~bpnet.core.stages.base.StageContext` exactly as for
   ``run`` (resolved inputs, temporary output paths, one ``resume_dir`` that every worker
   reaches, e.g. on a shared file system; for a forced run, empty it first);
2. call ``shard_ids(params)`` once;
3. call ``run_shard(params, context, shard_id)`` for each id, in any order, in parallel,
   in separate processes or on separate machines;
4. when all have returned, call ``merge(params, context)`` once, rename the outputs into
   place and empty ``resume_dir``, as after ``run``.

A killed or failed shard is simply run again: finished shards stay in ``resume_dir``.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from .base import StageContext


@runtime_checkable
class ShardedStage(Protocol):
    """A :class:`~bpnet.core.stages.base.Stage` whose work is a list of independent shards."""

    def run(self, params: Any, context: StageContext) -> None:
        """Run the shards not finished in ``context.resume_dir``, then :meth:`merge` (what the local executor calls)."""

    def shard_ids(self, params: Any) -> list[str]:
        """The shards of this run, in order: unique short names, safe as file names.

        The same ``params`` and input files give the same list. Reads the inputs only:
        writes nothing and needs no accelerator. Bad input raises the stage's usual
        :class:`~bpnet.core.errors.BpnetError` (e.g. more shards asked for than there is work).
        """

    def run_shard(self, params: Any, context: StageContext, shard_id: str) -> None:
        """Compute the shard ``shard_id`` and save it, atomically, under ``context.resume_dir``.

        Writes none of the stage's outputs. Returns at once when that shard is already
        saved there from the same settings and inputs (a shard saved from other ones is
        recomputed). Shards with different ids may run at the same time against the same
        ``resume_dir``, each in its own process. An id not in :meth:`shard_ids` raises
        ``ValueError``.
        """

    def merge(self, params: Any, context: StageContext) -> None:
        """Write the stage's outputs (to ``params``' output paths) from the shards saved in ``context.resume_dir``.

        Call it once, after :meth:`run_shard` has returned for every id; missing shards
        raise :class:`~bpnet.core.errors.StageError` naming them. The result is the
        same as ``run``'s.
        """


__all__ = ["ShardedStage"]
