"""The annotate stage: patterns and seqlets named after a MEME database by memelite's TOMTOM.

Queries are built from the simulator's JASPAR motifs (so the right answer is known):
patterns are motifs re-estimated from sampled sites, shifted, cut or reverse-complemented;
seqlets are planted in a small FASTA genome and listed in a seqlets.bed (BED6+ with a
``#`` header, as the seqlets stage writes it).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bpnet.core.cli.main import run_cli
from bpnet.data.motifs import Motif, read_meme, sample_sites, write_meme
from bpnet.interpret.annotation import benjamini_hochberg
from bpnet.interpret.modisco import ModiscoResult, ModiscoSettings, save_results

JASPAR = Path(__file__).parents[2] / "packages/bpnet-data/src/bpnet/data/simulate/jaspar.meme"
BASES = np.array(list("ACGT"))


def jaspar() -> dict[str, Motif]:
    return {m.alt_name: m for m in read_meme(JASPAR)}


def resampled(motif: Motif, n: int, rng: np.random.Generator) -> np.ndarray:
    """The base frequencies of ``n`` sites drawn from ``motif`` (what a pattern's PFM looks like)."""
    sites = sample_sites(motif, n, rng)
    return np.stack([(sites == b).mean(axis=0) for b in range(4)], axis=1)


@pytest.fixture
def patterns_meme(tmp_path) -> Path:
    """CTCF with 3 extra columns in front, Spi1 reverse-complemented, CEBPB without its first column, noise."""
    rng = np.random.default_rng(0)
    m = jaspar()
    flank = rng.dirichlet(np.ones(4), 3)
    patterns = [
        Motif("pos_patterns.pattern_0", np.vstack([flank, resampled(m["CTCF"], 80, rng)]), nsites=80),
        Motif("pos_patterns.pattern_1", resampled(m["Spi1"].reverse_complement(), 50, rng), nsites=50),
        Motif("pos_patterns.pattern_2", resampled(m["CEBPB"], 40, rng)[1:], nsites=40),
        Motif("pos_patterns.pattern_3", rng.dirichlet(np.ones(4), 10), nsites=25),
    ]
    write_meme(tmp_path / "patterns.meme", patterns)
    return tmp_path / "patterns.meme"


@pytest.fixture
def genome_and_seqlets(tmp_path) -> tuple[Path, Path]:
    """chr1 with a CTCF consensus at 400 and a reverse Spi1 consensus at 1200; seqlets on both and on random sequence."""
    rng = np.random.default_rng(1)
    m = jaspar()
    chrom = BASES[rng.integers(0, 4, 2000)]
    chrom[400:415] = list(m["CTCF"].consensus)
    chrom[1200:1213] = list(m["Spi1"].reverse_complement().consensus)
    (tmp_path / "genome.fa").write_text(">chr1\n" + "".join(chrom) + "\n")
    rows = [("chr1", 395, 420), ("chr1", 1195, 1218), ("chr1", 1700, 1725)]
    lines = ["#chrom\tstart\tend\tname\tscore\tstrand\tp_value\twindow_index"]
    lines += [f"{c}\t{s}\t{e}\tseqlet_{i}\t{1.5 - i * 0.4}\t.\t0.001\t{i}" for i, (c, s, e) in enumerate(rows)]
    (tmp_path / "seqlets.bed").write_text("\n".join(lines) + "\n")
    return tmp_path / "genome.fa", tmp_path / "seqlets.bed"


def annotate(tmp_path: Path, capsys, **params) -> tuple[int, str]:
    spec = tmp_path / "spec.yaml"
    params = {"motifs": str(JASPAR), **{k: str(v) if isinstance(v, Path) else v for k, v in params.items()}}
    spec.write_text(json.dumps({"output_dir": "out", "stages": {"annotate": {"stage": "annotate", "params": params}}}))
    code = run_cli(["run", str(spec)])
    return code, capsys.readouterr().err


def tsv(path: Path) -> list[dict[str, str]]:
    header, *rows = path.read_text().splitlines()
    return [dict(zip(header.split("\t"), row.split("\t"))) for row in rows]


def test_patterns_are_named_with_identifier_alt_name_q_offset_and_strand(tmp_path, capsys, patterns_meme):
    code, err = annotate(tmp_path, capsys, patterns=patterns_meme)
    assert code == 0, err
    rows = tsv(tmp_path / "out/annotate/patterns.tsv")
    assert list(rows[0]) == ["pattern", "rank", "motif", "motif_alt_name", "p_value", "q_value", "offset", "strand", "n_seqlets"]
    best = {row["pattern"]: row for row in rows if row["rank"] in ("1", "")}
    ctcf, spi1, cebpb, noise = (best[f"pos_patterns.pattern_{i}"] for i in range(4))
    assert (ctcf["motif"], ctcf["motif_alt_name"], ctcf["offset"], ctcf["strand"], ctcf["n_seqlets"]) == (
        "MA0139.2",
        "CTCF",
        "-3",
        "+",
        "80",
    )
    assert (spi1["motif"], spi1["motif_alt_name"], spi1["strand"]) == ("MA0080.7", "Spi1", "-")
    assert (cebpb["motif"], cebpb["motif_alt_name"], cebpb["offset"]) == ("MA0466.4", "CEBPB", "1")
    for row in (ctcf, spi1, cebpb):
        assert float(row["p_value"]) <= float(row["q_value"]) < 1e-3
    assert noise["motif"] == "" and noise["rank"] == ""  # no match at q <= 0.05: one row, empty match cells
    assert all(float(row["q_value"]) <= 0.05 for row in rows if row["q_value"])

    counts = tsv(tmp_path / "out/annotate/motif_counts.tsv")
    assert {row["motif_alt_name"]: (row["n_patterns"], row["n_pattern_seqlets"]) for row in counts} == {
        "CTCF": ("1", "80"), "Spi1": ("1", "50"), "CEBPB": ("1", "40"),
    }
    assert tsv(tmp_path / "out/annotate/seqlets.tsv") == []


def test_without_max_q_every_pattern_gets_its_top_k_matches_best_first(tmp_path, capsys, patterns_meme):
    code, err = annotate(tmp_path, capsys, patterns=patterns_meme, max_q=None, top_k=4)
    assert code == 0, err
    rows = tsv(tmp_path / "out/annotate/patterns.tsv")
    assert len(rows) == 4 * 4
    for i in range(4):
        mine = [row for row in rows if row["pattern"] == f"pos_patterns.pattern_{i}"]
        assert [row["rank"] for row in mine] == ["1", "2", "3", "4"]
        assert [float(row["p_value"]) for row in mine] == sorted(float(row["p_value"]) for row in mine)
        assert len({row["motif"] for row in mine}) == 4


def test_seqlets_from_a_bed_and_genome_are_named_and_counted(tmp_path, capsys, patterns_meme, genome_and_seqlets):
    genome, seqlets = genome_and_seqlets
    code, err = annotate(tmp_path, capsys, patterns=patterns_meme, seqlets=seqlets, genome=genome, top_k=1)
    assert code == 0, err
    rows = {row["seqlet"]: row for row in tsv(tmp_path / "out/annotate/seqlets.tsv")}
    assert list(rows) == ["seqlet_0", "seqlet_1", "seqlet_2"]
    assert (rows["seqlet_0"]["chrom"], rows["seqlet_0"]["start"], rows["seqlet_0"]["end"]) == ("chr1", "395", "420")
    assert (rows["seqlet_0"]["motif_alt_name"], rows["seqlet_0"]["offset"], rows["seqlet_0"]["strand"]) == ("CTCF", "-5", "+")
    assert (rows["seqlet_1"]["motif_alt_name"], rows["seqlet_1"]["strand"]) == ("Spi1", "-")
    assert float(rows["seqlet_0"]["q_value"]) < 0.05 and float(rows["seqlet_1"]["q_value"]) < 0.05
    counts = {row["motif_alt_name"]: row for row in tsv(tmp_path / "out/annotate/motif_counts.tsv")}
    assert counts["CTCF"]["n_seqlets"] == "1" and counts["Spi1"]["n_seqlets"] == "1"
    assert sum(int(row["n_seqlets"]) for row in counts.values()) == sum(bool(row["motif"]) for row in rows.values())


def test_an_empty_modisco_result_gives_empty_tables(tmp_path, capsys):
    empty = ModiscoResult(None, None, [], ModiscoSettings(), n_windows=10, window_start=50, message="nothing")
    save_results(tmp_path / "modisco_results.h5", empty)
    code, err = annotate(tmp_path, capsys, patterns=tmp_path / "modisco_results.h5")
    assert code == 0, err
    for name, header in (("patterns.tsv", "pattern\t"), ("seqlets.tsv", "seqlet\t"), ("motif_counts.tsv", "motif\t")):
        text = (tmp_path / "out/annotate" / name).read_text()
        assert text.startswith(header) and text.count("\n") == 1
    assert "holds no pattern (TF-MoDISco found none)" in (tmp_path / "out/run.log").read_text()


def test_a_malformed_meme_database_is_exit_2_naming_file_and_line(tmp_path, capsys, patterns_meme):
    bad = tmp_path / "db.meme"
    lines = JASPAR.read_text().splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("MOTIF")) + 3
    lines[row] = "  0.2  0.3  oops  0.5"
    bad.write_text("\n".join(lines) + "\n")
    code, err = annotate(tmp_path, capsys, motifs=bad, patterns=patterns_meme)
    assert code == 2
    assert f"{bad}:{row + 1}" in err and "non-numeric" in err
    assert not (tmp_path / "out/annotate/patterns.tsv").exists()


@pytest.mark.parametrize(
    "params, message",
    [
        ({}, "give patterns (from a modisco stage), seqlets (a BED), or both"),
        ({"seqlets": "seqlets.bed"}, "seqlets needs genome"),
    ],
)
def test_nothing_to_annotate_or_seqlets_without_genome_is_refused(tmp_path, capsys, params, message):
    (tmp_path / "seqlets.bed").write_text("chr1\t0\t10\n")
    code, err = annotate(tmp_path, capsys, **params)
    assert code == 2
    assert message in err


def test_a_seqlet_on_a_chromosome_missing_from_the_genome_is_exit_2(tmp_path, capsys, genome_and_seqlets):
    genome, seqlets = genome_and_seqlets
    seqlets.write_text(seqlets.read_text() + "chr9\t10\t30\tseqlet_3\t1\t.\t0.01\t3\n")
    code, err = annotate(tmp_path, capsys, seqlets=seqlets, genome=genome)
    assert code == 2
    assert "chr9" in err and "genome.fa" in err


@pytest.mark.parametrize("kind", ["attribution h5", "bed"])
def test_a_patterns_file_that_is_not_from_modisco_is_exit_2(tmp_path, capsys, kind):
    if kind == "bed":
        wrong = tmp_path / "peaks.bed"
        wrong.write_text("chr1\t0\t10\n")
    else:
        from bpnet.interpret.scores import Scores, write_scores

        wrong = tmp_path / "counts.h5"
        one_hot = np.zeros((2, 4, 8), np.float32)
        write_scores(
            wrong,
            Scores(
                one_hot,
                one_hot,
                np.array(["chr1"] * 2),
                np.zeros(2, np.int64),
                np.ones(2, bool),
                np.zeros(2, np.float32),
            ),
        )
    code, err = annotate(tmp_path, capsys, patterns=wrong)
    assert code == 2
    assert str(wrong) in err and "modisco" in err


def test_peak_sized_seqlets_are_refused_before_tomtom(tmp_path, capsys, genome_and_seqlets):
    genome, seqlets = genome_and_seqlets
    seqlets.write_text(seqlets.read_text() + "chr1\t100\t600\tpeak\t1\t.\t0.01\t3\n")
    code, err = annotate(tmp_path, capsys, seqlets=seqlets, genome=genome)
    assert code == 2
    assert "chr1:100-600" in err and "wider than 200 bp" in err


def test_benjamini_hochberg_per_row():
    p = np.array([[0.01, 0.04, 0.03, 0.5], [0.2, 0.2, 0.2, 0.2]])
    q = benjamini_hochberg(p)
    np.testing.assert_allclose(q[0], [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.5])
    np.testing.assert_allclose(q[1], [0.2] * 4)
    assert (benjamini_hochberg(np.array([1e-3, 0.9])) <= 1).all()
