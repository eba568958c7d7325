"""MEME motif files: reading, writing, clear errors; sampling and scanning sites."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from bpnet.data.errors import DataError
from bpnet.data.motifs import (
    BUILTIN_MOTIFS,
    Motif,
    builtin_motifs_file,
    motifs_location,
    read_meme,
    read_motifs,
    sample_sites,
    scan,
    score_sites,
    write_meme,
)
from bpnet.data.onehot import encode_codes

BUNDLED = Path(__file__).parents[2] / "packages/bpnet-data/src/bpnet/data/simulate/jaspar.meme"

HEADER = "MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\nBackground letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n\n"


def meme_file(tmp_path: Path, body: str, name: str = "m.meme") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + textwrap.dedent(body))
    return path


def test_bundled_jaspar_motifs_are_real_dna_matrices():
    motifs = read_meme(BUNDLED)
    assert [m.alt_name for m in motifs] == ["CTCF", "GATA1", "Spi1", "FOS::JUN", "CEBPB"]
    assert [m.name for m in motifs] == ["MA0139.2", "MA0035.5", "MA0080.7", "MA0099.4", "MA0466.4"]
    for m in motifs:
        assert m.pwm.dtype == np.float64 and m.pwm.shape == (m.width, 4)
        np.testing.assert_allclose(m.pwm.sum(axis=1), 1.0, atol=1e-12)
        assert m.url == f"https://jaspar.elixir.no/matrix/{m.name}/"
    assert motifs[3].consensus == "ATGAGTCAT"  # AP-1 TGA(C/G)TCA
    assert motifs[4].consensus == "ATTGCGCAAT"
    assert "CC BY 4.0" in BUNDLED.read_text()


def test_write_then_read_round_trips(tmp_path):
    motifs = read_meme(BUNDLED)
    path = tmp_path / "out" / "copy.meme"
    write_meme(path, motifs, comments=["a note"])
    again = read_meme(path)
    assert [(m.name, m.alt_name, m.nsites, m.url) for m in again] == [(m.name, m.alt_name, m.nsites, m.url) for m in motifs]
    for a, b in zip(again, motifs):
        np.testing.assert_allclose(a.pwm, b.pwm, atol=2e-6)
    assert "# a note" in path.read_text()
    assert not list(path.parent.glob(".*tmp*"))  # written atomically


def test_written_files_are_readable_by_memelite(tmp_path):
    memelite = pytest.importorskip("memelite.io")
    path = tmp_path / "m.meme"
    write_meme(path, read_meme(BUNDLED))
    found = memelite.read_meme(str(path))
    assert list(found) == ["MA0139.2 CTCF", "MA0035.5 GATA1", "MA0080.7 Spi1", "MA0099.4 FOS::JUN", "MA0466.4 CEBPB"]
    assert found["MA0099.4 FOS::JUN"].shape == (4, 9)


def test_motif_without_w_and_with_log_odds_block_is_read(tmp_path):
    path = meme_file(
        tmp_path,
        """\
        MOTIF one
        log-odds matrix: alength= 4 w= 2
        1.0 -1.0 -1.0 -1.0
        -1.0 1.0 -1.0 -1.0

        letter-probability matrix: alength= 4
        0.7 0.1 0.1 0.1
        0.1 0.1 0.1 0.7
        URL http://example.org/one
        """,
    )
    (motif,) = read_meme(path)
    assert motif.name == "one" and motif.alt_name is None and motif.width == 2
    assert motif.consensus == "AT" and motif.url == "http://example.org/one"


MALFORMED = {
    "wrong column count": ("0.25 0.25 0.5\n", 13, "needs 4 columns"),
    "non-numeric": ("0.25 0.25 x 0.5\n", 13, "non-numeric"),
    "row not summing to 1": ("0.5 0.5 0.5 0.5\n", 13, "sums to 2"),
    "negative value": ("-0.25 0.5 0.5 0.25\n", 13, ">= 0"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_matrix_row_names_file_and_line(tmp_path, case):
    row, line, fragment = MALFORMED[case]
    path = meme_file(tmp_path, "MOTIF bad X\nletter-probability matrix: alength= 4 w= 2\n0.25 0.25 0.25 0.25\n" + row)
    with pytest.raises(DataError) as err:
        read_meme(path)
    assert f"{path}:{line}:" in str(err.value) and fragment in str(err.value) and "bad" in str(err.value)


def test_fewer_rows_than_w_is_an_error(tmp_path):
    path = meme_file(
        tmp_path,
        "MOTIF short\nletter-probability matrix: alength= 4 w= 3\n0.25 0.25 0.25 0.25\n0.25 0.25 0.25 0.25\n\nMOTIF next\n",
    )
    with pytest.raises(DataError, match=r"m\.meme:\d+: motif short has 2 rows but w= 3"):
        read_meme(path)


def test_more_rows_than_w_is_an_error(tmp_path):
    path = meme_file(tmp_path, "MOTIF long\nletter-probability matrix: alength= 4 w= 1\n0.25 0.25 0.25 0.25\n0.25 0.25 0.25 0.25\n")
    with pytest.raises(DataError, match=r"m\.meme:13: motif long has more rows than its w= 1"):
        read_meme(path)


def test_file_without_motifs_is_an_error(tmp_path):
    with pytest.raises(DataError, match="no motifs found"):
        read_meme(meme_file(tmp_path, ""))


def test_motif_without_matrix_names_its_line(tmp_path):
    path = meme_file(tmp_path, "MOTIF lonely\n\nMOTIF ok\nletter-probability matrix: alength= 4 w= 1\n0.25 0.25 0.25 0.25\n")
    with pytest.raises(DataError, match=r"m\.meme:10: motif lonely has no 'letter-probability matrix'"):
        read_meme(path)


def test_non_dna_alphabet_is_refused(tmp_path):
    path = tmp_path / "rna.meme"
    path.write_text("MEME version 4\n\nALPHABET= ACGU\n\nMOTIF r\nletter-probability matrix: alength= 4 w= 1\n0.25 0.25 0.25 0.25\n")
    with pytest.raises(DataError, match=r"rna\.meme:3: alphabet 'ACGU' is not DNA"):
        read_meme(path)


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="no such MEME file"):
        read_meme(tmp_path / "nope.meme")


def test_sampled_sites_follow_the_probabilities():
    motif = read_meme(BUNDLED)[0]
    sites = sample_sites(motif, 20_000, np.random.default_rng(0))
    assert sites.shape == (20_000, motif.width) and sites.dtype == np.uint8
    freq = np.stack([np.bincount(sites[:, j], minlength=4) for j in range(motif.width)]) / len(sites)
    np.testing.assert_allclose(freq, motif.pwm, atol=0.02)


def test_scan_finds_a_site_on_either_strand():
    motif = read_meme(BUNDLED)[0]
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 4, size=400).astype(np.uint8)
    site = motif.pwm.argmax(axis=1).astype(np.uint8)
    codes[100 : 100 + motif.width] = site
    codes[300 : 300 + motif.width] = 3 - site[::-1]  # reverse complement
    scores = scan(codes, motif)
    assert scores.shape == (2, 400 - motif.width + 1)
    low, high = motif.score_range()
    assert scores[0, 100] == pytest.approx(high) and scores[1, 300] == pytest.approx(high)
    assert scores[0].argmax() == 100 and scores[1].argmax() == 300
    assert scores[0, 100] == pytest.approx(score_sites(site, motif))
    assert low <= scores.min()


def test_scan_works_on_batches_and_scores_n_lowest():
    motif = Motif("m", [[0.7, 0.1, 0.1, 0.1], [0.1, 0.7, 0.1, 0.1]])
    batch = np.stack([encode_codes("ACAC"), encode_codes("ANAC")])
    scores = scan(batch, motif, both_strands=False)
    assert scores.shape == (2, 3)
    assert scores[0, 0] == pytest.approx(scores[0, 2]) and scores[1, 0] == pytest.approx(
        motif.score_range()[0] / 2 + motif.log_odds()[0, 0]
    )
    assert np.isfinite(scan(batch, motif)).all()


def test_motif_validates_its_matrix():
    with pytest.raises(ValueError, match=r"shape \(L, 4\)"):
        Motif("bad", np.ones((3, 5)))
    motif = Motif("norm", [[2, 2, 0, 0]])
    np.testing.assert_allclose(motif.pwm, [[0.5, 0.5, 0, 0]])
    assert motif.reverse_complement().consensus in {"G", "T"}


# --- built-in bias motifs ------------------------------------------------------------------------

#: the official ChromBPNet bias-motif sequences (kundajelab/chrombpnet, chrombpnet/pipelines.py)
OFFICIAL_BIAS_MOTIFS = {
    "tn5": {"tn5_1": "GCACAGTACAGAGCTG", "tn5_2": "GTGCACAGTTCTAGAGTGTGCAG", "tn5_3": "CCTCTACACTGTGCAGAA",
            "tn5_4": "GCACAGTTCTAGACTGTGCAG", "tn5_5": "CTGCACAGTGTAGAGTTGTGC"},
    "dnase": {"dnase_1": "TTTACAAGTCCA"},
}


@pytest.mark.parametrize("name", ["tn5", "dnase"])
def test_built_in_bias_motifs_are_the_official_sequences_as_one_hot_motifs(name):
    assert set(BUILTIN_MOTIFS) == set(OFFICIAL_BIAS_MOTIFS)
    motifs = read_motifs(name)
    assert {m.name: m.consensus for m in motifs} == OFFICIAL_BIAS_MOTIFS[name]
    assert all(set(np.unique(m.pwm)) == {0.0, 1.0} for m in motifs)  # one-hot: the consensus is the sequence
    assert motifs_location(name) == motifs_location(name.upper()) == builtin_motifs_file(name)
    assert builtin_motifs_file(name).parent.name == "bias_motifs" and "MIT licence" in builtin_motifs_file(name).read_text()


def test_an_unknown_motif_set_name_is_one_clear_error_and_paths_stay_paths(tmp_path):
    with pytest.raises(ValueError, match=r"'tn6' is neither a built-in motif set \(tn5, dnase\) nor a MEME file path") as caught:
        motifs_location("tn6")
    assert "\n" not in str(caught.value) and "./tn6" in str(caught.value)
    with pytest.raises(DataError, match="'tn6' is neither a built-in motif set"):
        read_motifs("tn6")
    # anything with a '/' or a '.' is a path, and so is every Path object (a file named like a set: ./tn5)
    for value in ("motifs.meme", "./tn5", "data/tn5", tmp_path / "tn5"):
        assert motifs_location(value) == Path(value)
    write_meme(tmp_path / "own.meme", [Motif("own", np.eye(4))])
    assert [m.name for m in read_motifs(tmp_path / "own.meme")] == ["own"]
