"""The ShardedStage protocol: what an executor plugin may rely on, with a small sharded stage."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bpnet.core.atomic import write_text_atomic
from bpnet.core.stages import Input, Output, Stage, StageContext, StageParams
from bpnet.core.stages.sharded import ShardedStage


class SumLines(Stage):
    """Sum the numbers of a text file, two lines per shard."""

    name = "sum-lines"

    class Params(StageParams):
        numbers: Input
        out: Output = Path("sum.txt")

    def shard_ids(self, params) -> list[str]:
        n = len(params.numbers.read_text().split())
        return [f"lines-{k}" for k in range(0, n, 2)]

    def run_shard(self, params, context: StageContext, shard_id: str) -> None:
        if shard_id not in self.shard_ids(params):
            raise ValueError(shard_id)
        first = int(shard_id.removeprefix("lines-"))
        part = sum(int(v) for v in params.numbers.read_text().split()[first : first + 2])
        write_text_atomic(context.resume_dir / f"{shard_id}.txt", str(part))

    def merge(self, params, context: StageContext) -> None:
        params.out.write_text(str(sum(int((context.resume_dir / f"{i}.txt").read_text()) for i in self.shard_ids(params))))

    def run(self, params, context: StageContext) -> None:
        for shard_id in self.shard_ids(params):
            if not (context.resume_dir / f"{shard_id}.txt").exists():
                self.run_shard(params, context, shard_id)
        self.merge(params, context)


def context(folder: Path) -> StageContext:
    (folder / "resume").mkdir(parents=True)
    return StageContext("sum", folder, folder / "resume", logging.getLogger("test"))


def test_a_stage_with_shard_methods_is_a_sharded_stage_and_a_plain_one_is_not():
    assert isinstance(SumLines(), ShardedStage)
    assert not isinstance(Stage(), ShardedStage)


def test_shards_run_in_parallel_in_any_order_then_merged_equal_run(tmp_path):
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("\n".join(str(i * i) for i in range(7)))
    stage = SumLines()
    local = SumLines.Params(numbers=numbers, out=tmp_path / "local.txt")
    stage.run(local, context(tmp_path / "local"))

    spread = SumLines.Params(numbers=numbers, out=tmp_path / "spread.txt")
    ctx = context(tmp_path / "spread")
    ids = stage.shard_ids(spread)
    with ThreadPoolExecutor(2) as pool:  # what a distributed executor does, on one machine
        list(pool.map(lambda i: stage.run_shard(spread, ctx, i), reversed(ids)))
    stage.merge(spread, ctx)
    assert (tmp_path / "spread.txt").read_text() == (tmp_path / "local.txt").read_text() == str(sum(i * i for i in range(7)))
