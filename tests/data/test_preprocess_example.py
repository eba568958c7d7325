"""The README's preprocessing example runs end to end, skips when up to date, and
re-runs only what a deleted output or a changed parameter affects."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from bpnet.core.cli.main import run_cli
from bpnet.data.sources import BigWigSource, read_bed

EXAMPLE = Path(__file__).parents[2] / "examples" / "preprocess.yaml"


@pytest.fixture(scope="module")
def example_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("example")
    text = EXAMPLE.read_text().replace("output_dir: ../bpnet-out/preprocess", "output_dir: out")
    spec = folder / "preprocess.yaml"
    spec.write_text(text)
    assert run_cli(["run", str(spec)]) == 0
    return spec, folder / "out"


def ran_stages(run_log: Path, since: int) -> list[str]:
    lines = run_log.read_text().splitlines()[since:]
    return [line.split("running stage ")[1].split()[0] for line in lines if "running stage " in line]


@pytest.mark.slow
def test_example_writes_tracks_peaks_negatives_and_loci(example_run):
    _, out = example_run
    for kind in ("chip", "atac"):
        truth = read_bed(out / f"{kind}-sim/simulation/peaks.narrowPeak")
        called = read_bed(out / f"{kind}-peaks/peaks.narrowPeak")
        assert truth.overlaps(called).mean() >= 0.9
        assert not read_bed(out / f"{kind}-negatives/negatives.bed").overlaps(called).any()
        with h5py.File(out / f"{kind}-loci/loci.h5") as loci:
            assert len(loci["codes"]) > 300
    assert sorted(p.name for p in (out / "chip-signal/tracks").iterdir()) == ["minus.bw", "plus.bw", "tracks.json"]
    for ours, truth in (("chip-signal/tracks/plus.bw", "chip-sim/simulation/signal/plus.bw"),
                        ("chip-signal/tracks/minus.bw", "chip-sim/simulation/signal/minus.bw"),
                        ("atac-signal/tracks/unstranded.bw", "atac-sim/simulation/signal/unstranded.bw")):
        a, b = BigWigSource(out / ours), BigWigSource(out / truth)
        assert all(np.array_equal(a.chromosome(c), b.chromosome(c)) for c in a.sizes), ours
    assert sorted(p.name for p in (out / "atac-signal/tracks").iterdir()) == ["tracks.json", "unstranded.bw"]


@pytest.mark.slow
def test_example_reruns_only_what_a_deleted_output_or_new_parameter_affects(example_run, capsys):
    spec, out = example_run
    log = out / "run.log"
    start = len(log.read_text().splitlines())
    assert run_cli(["run", str(spec)]) == 0
    assert ran_stages(log, start) == []
    (out / "chip-negatives/negatives.bed").unlink()
    start = len(log.read_text().splitlines())
    assert run_cli(["run", str(spec)]) == 0
    # the negatives come back byte-identical (seeded), so the loci built on them stay valid
    assert ran_stages(log, start) == ["chip-negatives"]
    spec.write_text(spec.read_text().replace("ratio: 1.0", "ratio: 1.5"))
    start = len(log.read_text().splitlines())
    assert run_cli(["run", str(spec)]) == 0
    assert ran_stages(log, start) == ["chip-negatives", "chip-loci"]
