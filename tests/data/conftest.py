"""Small real files for bpnet-data tests: a FASTA genome and bigWig tracks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


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
