"""Every bad input the data stages refuse, through ``bpnet run``: exit code 2, one error
line naming the file (and line), and nothing written where the output would be."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from bpnet.core.cli.main import run_cli
from bpnet.data.bigwig_io import write_bigwig

from ..http_server import closed_port_url
from .test_reads_to_bigwig import read, write_bam


@pytest.fixture(autouse=True)
def download_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BPNET_CACHE_DIR", str(tmp_path / "cache"))


def negatives(folder: Path, peaks_text: str) -> dict:
    (folder / "peaks.bed").write_text(peaks_text)
    return {"stage": "negatives", "params": {"genome": "genome.fa", "peaks": "peaks.bed"}}


def loci(folder: Path, peaks_text: str, chroms: dict[str, int]) -> dict:
    (folder / "peaks.bed").write_text(peaks_text)
    write_bigwig(folder / "signal.bw", chroms, {c: np.ones(n, np.float32) for c, n in chroms.items()})
    params = {"genome": "genome.fa", "peaks": "peaks.bed", "signals": ["signal.bw"], "input_length": 200,
              "output_length": 100, "max_jitter": 0, "off_chrom": "error", "outlier_quantile": None}
    return {"stage": "loci", "params": params}


def bigwig(folder: Path, reads: str | list, *, sort: bool = True) -> dict:
    if isinstance(reads, list):
        write_bam(folder / "reads.bam", reads, sort=sort, index=False)
        reads = "reads.bam"
    return {"stage": "reads-to-bigwig", "params": {"reads": [reads], "genome": "genome.fa"}}


def fragments(folder: Path, fragment_format: str, reads: str = "fragments.tsv") -> dict:
    (folder / "fragments.tsv").write_text("chr1\t100\t300\n")
    write_bam(folder / "reads.bam", [read("chr1", 100)])
    params = {"reads": [reads], "genome": "genome.fa", "preset": "atac", "fragment_format": fragment_format}
    return {"stage": "reads-to-bigwig", "params": params}


CASES = {
    "bed-with-two-columns": (
        lambda f: negatives(f, "chr1\t100\t300\nchr1\t500\n"),
        ["peaks.bed:2", "at least 3 columns"],
    ),
    "bed-start-after-end": (
        lambda f: negatives(f, "chr1\t100\t300\nchr1\t900\t800\n"),
        ["peaks.bed:2", "start 900 must be >= 0 and <= end 800"],
    ),
    "chromosome-missing-from-fasta": (lambda f: negatives(f, "chrZ\t100\t300\n"), ["peaks.bed", "chrZ", "genome.fa"]),
    "locus-off-the-chromosome-end": (
        lambda f: loci(f, "chr1\t1000\t1200\nchr2\t2950\t2990\n", {"chr1": 5000, "chr2": 3000}),
        ["peaks.bed", "line 2"],
    ),
    "chromosome-missing-from-bigwig": (
        lambda f: loci(f, "chr1\t1000\t1200\nchr2\t1000\t1200\n", {"chr1": 5000}),
        ["peaks.bed", "chr2", "signal.bw"],
    ),
    "empty-bam": (lambda f: bigwig(f, []), ["reads.bam", "no mapped reads"]),
    "unsorted-bam": (
        lambda f: bigwig(f, [read("chr1", 500), read("chr1", 100)], sort=False),
        ["reads.bam", "not sorted by coordinate", "samtools sort"],
    ),
    "unreachable-url": (lambda f: bigwig(f, closed_port_url("reads.bam")), ["could not download", "reads.bam"]),
    "unknown-fragment-format": (lambda f: fragments(f, "cellranger"), ["fragment_format", "'sequenced' or '10x'"]),
    "10x-fragment-format-on-a-bam": (
        lambda f: fragments(f, "10x", reads="reads.bam"),
        ["fragment_format: 10x is for text fragment files", "leave fragment_format out"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_clear_error_with_exit_code_2_and_no_output(case, tmp_path, small_genome, capsys):
    make_stage, fragments = CASES[case]
    stage = make_stage(tmp_path)
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"output_dir": "out", "stages": {"step": stage}}))
    assert run_cli(["run", str(spec)]) == 2
    captured = capsys.readouterr()
    output = captured.out + captured.err
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert "Traceback" not in output and len(errors) == 1, output
    text = " ".join(output.split()[output.split().index("error:"):])  # the error line, unwrapped
    for fragment in fragments:
        assert fragment in text, (fragment, text)
    left = [p.name for p in (tmp_path / "out/step").iterdir()] if (tmp_path / "out/step").exists() else []
    assert set(left) <= {".resume"} and not any((tmp_path / "out/step/.resume").glob("*"))
