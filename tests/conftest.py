"""Shared test fixtures: small real files (a FASTA genome) and a small preprocessed ChIP and ATAC simulation."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("BPNET_NO_PROGRESS", "1")

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


def write_fasta(path: Path, chroms: dict[str, str], width: int = 60) -> Path:
    """Write ``chroms`` (name -> sequence) as FASTA with ``width``-character lines."""
    with open(path, "w") as out:
        for name, seq in chroms.items():
            out.write(f">{name}\n")
            for i in range(0, len(seq), width):
                out.write(seq[i : i + width] + "\n")
    return path


def random_sequence(length: int, seed: int = 0, gc: float = 0.5) -> str:
    rng = np.random.default_rng(seed)
    p = [(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]
    return "".join(np.array(list("ACGT"))[rng.choice(4, size=length, p=p)])


@pytest.fixture
def small_genome(tmp_path) -> tuple[Path, dict[str, str]]:
    """chr1 (5 kb) and chr2 (3 kb) of random sequence, with a run of N on chr2."""
    chroms = {"chr1": random_sequence(5000, 1), "chr2": random_sequence(1000, 2) + "N" * 100 + random_sequence(1900, 3)}
    return write_fasta(tmp_path / "genome.fa", chroms), chroms


#: a small ChIP and ATAC simulation, preprocessed to loci.h5 (short windows keep training fast)
PREPROCESS_SPEC = {
    "stages": {
        "chip-sim": {
            "stage": "simulate",
            "params": {"kind": "chip", "seed": 3, "genome_size": 1_200_000, "n_peaks": 120},
        },
        "chip-signal": {
            "stage": "reads-to-bigwig",
            "params": {"reads": ["@chip-sim.out/reads.bam"], "genome": "@chip-sim.out/genome.fa", "stranded": True},
        },
        "chip-control": {
            "stage": "reads-to-bigwig",
            "params": {"reads": ["@chip-sim.out/control.bam"], "genome": "@chip-sim.out/genome.fa"},
        },
        "chip-negatives": {
            "stage": "negatives",
            "params": {
                "genome": "@chip-sim.out/genome.fa",
                "peaks": "@chip-sim.out/peaks.narrowPeak",
                "ratio": 1.0,
                "width": 500,
            },
        },
        "folds": {
            "stage": "splits",
            "params": {"genome": "@chip-sim.out/genome.fa", "folds": {"fold_0": {"valid": ["chr2"], "test": ["chr1"]}}},
        },
        "chip-loci": {
            "stage": "loci",
            "params": {
                "genome": "@chip-sim.out/genome.fa",
                "peaks": "@chip-sim.out/peaks.narrowPeak",
                "negatives": "@chip-negatives.negatives",
                "signals": ["@chip-signal.tracks"],
                "controls": ["@chip-control.tracks"],
                "splits": "@folds.splits",
                "input_length": 400,
                "output_length": 200,
                "max_jitter": 16,
            },
        },
        "atac-sim": {
            "stage": "simulate",
            "params": {"kind": "atac", "seed": 3, "genome_size": 1_200_000, "n_peaks": 120},
        },
        "atac-signal": {
            "stage": "reads-to-bigwig",
            "params": {"reads": ["@atac-sim.out/reads.bam"], "genome": "@atac-sim.out/genome.fa", "preset": "atac"},
        },
        "atac-negatives": {
            "stage": "negatives",
            "params": {
                "genome": "@atac-sim.out/genome.fa",
                "peaks": "@atac-sim.out/peaks.narrowPeak",
                "ratio": 2.0,
                "width": 500,
            },
        },
        "atac-loci": {
            "stage": "loci",
            "params": {
                "genome": "@atac-sim.out/genome.fa",
                "peaks": "@atac-sim.out/peaks.narrowPeak",
                "negatives": "@atac-negatives.negatives",
                "signals": ["@atac-signal.tracks"],
                "splits": "@folds.splits",
                "input_length": 400,
                "output_length": 200,
                "max_jitter": 32,
            },
        },
    },
}


@pytest.fixture(scope="session")
def preprocessed(tmp_path_factory) -> dict[str, Path]:
    """Paths of the preprocessed small simulations: chip_loci, atac_loci, atac_bias_meme, folder."""
    import yaml

    from bpnet.core.cli.main import run_cli

    folder = tmp_path_factory.mktemp("preprocessed")
    spec = folder / "spec.yaml"
    spec.write_text(yaml.safe_dump({"output_dir": "out", **PREPROCESS_SPEC}))
    assert run_cli(["run", str(spec)]) == 0
    out = folder / "out"
    return {
        "folder": folder, "chip_loci": out / "chip-loci" / "loci.h5", "atac_loci": out / "atac-loci" / "loci.h5",
        "atac_bias_meme": out / "atac-sim" / "simulation" / "bias.meme", "chip_genome": out / "chip-sim" / "simulation" / "genome.fa",
    }
