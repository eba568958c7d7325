"""A third party's source plugin is really used: files are opened through the registry.

The plugin here reads a made-up fragment format, ``.frag.gz`` (gzipped ``chrom
midpoint length`` lines), which the built-in tsv reader would misread as ``chrom start
end``. Registered like any plugin, it is the source ``reads-to-bigwig`` counts such a
file with; without it, the file is refused with one line naming the installed sources.
"""

from __future__ import annotations

import gzip
import json
import textwrap
import types
from pathlib import Path

import numpy as np
import pyBigWig
import pytest

from bpnet.core.cli.main import run_cli
from bpnet.core.plugin import hookimpl
from bpnet.core.plugin.registry import Registry, set_registry
from bpnet.data.readcount import EndCounts, fragment_ends
from bpnet.data.sources import ReadSource, open_source
from bpnet.data.sources.reads import TsvSource


class FragSource(ReadSource):
    """Fragments as gzipped ``chrom midpoint length`` lines (a made-up format)."""

    name = "frag"
    suffixes = (".frag.gz",)

    def count_ends(self, sizes, options, *, genome_label="the genome", processes=1, logger=None) -> EndCounts:
        fragments: dict[str, list[tuple[int, int]]] = {}
        with gzip.open(self.path, "rt") as lines:
            for line in lines:
                chrom, midpoint, length = line.split()
                fragments.setdefault(chrom, []).append((int(midpoint), int(length)))
        counts = EndCounts()
        for chrom, rows in fragments.items():
            if chrom not in sizes:
                counts.missing[chrom] = len(rows)
                continue
            midpoint, length = np.array(rows, dtype=np.int64).T
            start = midpoint - length // 2
            counts.reads += len(rows)
            counts.add_chromosome(chrom, int(sizes[chrom]), fragment_ends(start, start + length, options), None, options)
        return counts


def _register_sources() -> list[type]:
    return [FragSource]


_register_sources.__name__ = "bpnet_register_sources"
FRAG_PLUGIN = types.SimpleNamespace(__name__="bpnet_frag", bpnet_register_sources=hookimpl(_register_sources))

#: (chrom, midpoint, length): fragment [midpoint - length // 2, + length)
FRAGMENTS = [("chr1", 1000, 200), ("chr1", 2000, 100), ("chr2", 500, 300)]


@pytest.fixture
def frag_registry():
    """The installed plugins plus the fragment source plugin, as the process-wide registry."""
    set_registry(Registry(plugins=[FRAG_PLUGIN]))
    yield
    set_registry(None)


@pytest.fixture
def frag_file(tmp_path) -> Path:
    path = tmp_path / "reads.frag.gz"
    with gzip.open(path, "wt") as out:
        out.writelines(f"{chrom}\t{midpoint}\t{length}\n" for chrom, midpoint, length in FRAGMENTS)
    return path


def write_spec(tmp_path: Path, reads: str) -> Path:
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent(f"""
        output_dir: out
        stages:
          cuts:
            stage: reads-to-bigwig
            params: {{reads: [{reads}], genome: genome.fa, stranded: false, ends: both}}
    """))
    return spec


def counted_positions(bigwig: Path) -> dict[str, list[int]]:
    """Each counted position of each chromosome, repeated as often as it was counted."""
    handle = pyBigWig.open(str(bigwig))
    try:
        return {
            chrom: [start + i for start, end, value in handle.intervals(chrom) or [] for i in range(end - start) for _ in range(int(value))]
            for chrom in handle.chroms()
        }
    finally:
        handle.close()


def test_reads_to_bigwig_counts_a_third_party_format_with_its_source_plugin(
    frag_registry, frag_file, small_genome, tmp_path, capsys
):
    assert isinstance(open_source(frag_file, ReadSource), FragSource)
    code = run_cli(["run", str(write_spec(tmp_path, "reads.frag.gz"))])
    assert code == 0, capsys.readouterr().out
    tracks = tmp_path / "out/cuts/tracks"
    # both ends of each fragment [midpoint - length // 2, + length): the plugin's reading, not tsv's
    assert counted_positions(tracks / "unstranded.bw") == {"chr1": [900, 1099, 1950, 2049], "chr2": [350, 649]}
    manifest = json.loads((tracks / "tracks.json").read_text())
    assert manifest["reads"] == 3 and manifest["description"]["inputs"] == [str(frag_file)]


def test_the_builtin_tsv_reader_would_misread_the_format(frag_file, small_genome):
    from bpnet.data.readcount import CountOptions, count_reads

    sizes = {"chr1": 5000, "chr2": 3000}
    options = CountOptions(stranded=False, ends="both")
    ours = count_reads([FragSource(frag_file)], sizes, options)
    theirs = count_reads([TsvSource(frag_file)], sizes, options)  # midpoint taken for start, length for end
    assert ours.plus["chr1"].positions.tolist() != theirs.plus["chr1"].positions.tolist()


def test_a_file_no_installed_source_reads_is_refused_in_one_line(frag_file, small_genome, tmp_path, capsys):
    code = run_cli(["run", str(write_spec(tmp_path, "reads.frag.gz"))])
    captured = capsys.readouterr()
    out = " ".join((captured.out + captured.err).split())
    assert code == 2 and "Traceback" not in out and out.count("error:") == 1
    assert "spec.yaml:6: stages.cuts.params.reads" in out  # refused while the spec is checked: nothing runs
    assert f"{frag_file.name}: no installed data source reads files named like this as reads" in out
    assert "(sources: bam (.bam); sam (.sam); tsv (.tsv, .tsv.gz, .bed, .bed.gz))" in out
    assert not (tmp_path / "out/cuts").exists()
