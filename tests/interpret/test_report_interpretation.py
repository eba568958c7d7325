"""The report's interpretation sections: attribution tracks, TF-MoDISco motifs, marginalization.

Inputs are small but valid files in the formats the stages write: an attribution file
written with ``write_scores``, a TF-MoDISco results file in modisco-lite's layout (that of
``modiscolite.io.save_hdf5``), the annotate stage's ``patterns.tsv`` and the marginalize stage's
``marginalization.tsv`` and ``effects.npz``.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import h5py
import numpy as np
import pytest
from pydantic import ValidationError

from bpnet.core.cli.main import run_cli
from bpnet.core.errors import InputError
from bpnet.core.stages.base import StageContext
from bpnet.data.onehot import codes_to_one_hot, encode_codes
from bpnet.interpret.report.interpret_inputs import read_attribution_examples, read_interpretation
from bpnet.interpret.report.interpretation import InterpretationSection
from bpnet.interpret.scores import Scores, write_scores
from bpnet.interpret.stages.report import Report

from .browser import rendered_body

LENGTH = 300
GATA = "AGATAAGG"
MARGINALIZATION_COLUMNS = (
    "rank", "motif", "alt_name", "consensus", "width", "n_loci", "mean_delta_log_counts", "sd_delta_log_counts",
    "fold_change", "mean_log_counts_before", "mean_log_counts_after", "profile_jsd", "max_abs_profile_change", "plot",
)
ANNOTATION_COLUMNS = ("pattern", "rank", "motif", "motif_alt_name", "p_value", "q_value", "offset", "strand", "n_seqlets")


# --- inputs --------------------------------------------------------------------------------------


def write_evaluation(folder: Path) -> tuple[Path, Path]:
    """The smallest metrics.json and predictions.npz the report accepts."""
    folder.mkdir(parents=True, exist_ok=True)
    metrics = folder / "metrics.json"
    metrics.write_text(
        json.dumps(
            {"architecture": "bpnet", "split": "test", "peaks": {"n": 20, "count_pearson": 0.7, "profile_pearson": 0.4}}
        )
    )
    rng = np.random.default_rng(0)
    obs = rng.normal(4, 1, 40)
    predictions = folder / "predictions.npz"
    np.savez(predictions, is_peak=np.arange(40) < 20, obs_log_counts=obs, pred_log_counts=obs + rng.normal(0, 0.3, 40))
    return metrics, predictions


def write_attributions(path: Path) -> Path:
    """Six windows: five peaks (window 3 holds a strong GATA site at the centre) and one background
    window whose attributions are larger than any peak's (it must not be drawn: peaks come first)."""
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 4, (6, LENGTH), dtype=np.uint8)
    centre = LENGTH // 2 - len(GATA) // 2
    codes[3, centre : centre + len(GATA)] = encode_codes(GATA)
    hypothetical = rng.normal(0, 0.01, (6, 4, LENGTH)).astype(np.float32)
    hypothetical[3, :, centre : centre + len(GATA)] += 0.8
    hypothetical[5] *= 500  # background
    for i in range(6):
        hypothetical[i] *= 1 + i % 3
    scores = Scores(
        one_hot=codes_to_one_hot(codes), hypothetical=hypothetical, chrom=np.array(["chr1", "chr1", "chr2", "chr3", "chr4", "chr5"]),
        start=np.arange(6, dtype=np.int64) * 10_000 + 1_000_000, is_peak=np.array([True] * 5 + [False]),
        delta=np.array([1e-5, -2e-4, 0, 3e-5, 0, 0], np.float32),
        meta={"head": "counts", "models": ["chip/model"], "submodel": "model", "n_shuffles": 20, "seed": 0},
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    write_scores(path, scores)
    return path


def _pattern(group: h5py.Group, consensus: str, width: int, n_seqlets: int, sign: float = 1.0) -> None:
    """One pattern in the layout of modisco-lite's ``save_pattern`` (matrices ``(W, 4)`` and a seqlets group)."""
    start = width // 2 - len(consensus) // 2
    one_hot = codes_to_one_hot(encode_codes(consensus)).T  # (len, 4)
    sequence = np.full((width, 4), 0.25)
    sequence[start : start + len(consensus)] = 0.85 * one_hot + 0.05
    contrib = np.zeros((width, 4))
    contrib[start : start + len(consensus)] = sign * 0.6 * one_hot
    group.create_dataset("sequence", data=sequence)
    group.create_dataset("contrib_scores", data=contrib)
    group.create_dataset("hypothetical_contribs", data=contrib * 1.1)
    seqlets = group.create_group("seqlets")
    seqlets.create_dataset("n_seqlets", data=np.array([n_seqlets]))
    seqlets.create_dataset("start", data=np.full(n_seqlets, 10))
    seqlets.create_dataset("end", data=np.full(n_seqlets, 10 + width))
    seqlets.create_dataset("example_idx", data=np.arange(n_seqlets))
    seqlets.create_dataset("is_revcomp", data=np.zeros(n_seqlets, bool))


def write_modisco(path: Path, empty: bool = False, head: str | None = None) -> Path:
    """A results file in modisco-lite's layout (``modiscolite.io.save_hdf5``; written with h5py here because
    importing modisco-lite takes seconds): two positive patterns (TGACTCA with 40 seqlets, GATA with 150,
    stored in that order on purpose) and one negative (CCAAT, 30). ``empty``: what a run without patterns leaves;
    ``head``: the head the modisco stage records (``bpnet_head``; modisco-lite's own files lack it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        f.attrs["window_size"] = 400
        if head is not None:
            f.attrs["bpnet_head"] = head
        if empty:
            f.attrs["bpnet_message"] = "TF-MoDISco found no pattern: only 12 positive and 3 negative seqlets in 6 windows"
            return path
        _pattern(f.create_group("pos_patterns/pattern_0"), "TGACTCA", 20, 40)
        _pattern(f.create_group("pos_patterns/pattern_1"), GATA, 20, 150)
        _pattern(f.create_group("neg_patterns/pattern_0"), "CCAAT", 16, 30, sign=-1.0)
    return path


def write_annotations(path: Path) -> Path:
    """patterns.tsv of the annotate stage: GATA named (two matches), AP-1 without a match, CCAAT weakly matched."""
    rows = [
        ["pos_patterns.pattern_1", "1", "MA0035.4", "GATA1", "1.2e-07", "3.4e-06", "0", "+", "150"],
        ["pos_patterns.pattern_1", "2", "MA0036.3", "GATA2", "2e-06", "2e-05", "1", "-", "150"],
        ["pos_patterns.pattern_0", "", "", "", "", "", "", "", "40"],
        ["neg_patterns.pattern_0", "1", "MA0060.3", "NFYA", "0.004", "0.21", "2", "+", "30"],
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join("\t".join(r) for r in [list(ANNOTATION_COLUMNS), *rows]) + "\n")
    return path


def write_marginalization(folder: Path, n_motifs: int = 25, tracks: int = 2, length: int = 100) -> tuple[Path, Path]:
    """marginalization.tsv (ranked, largest effect first) and effects.npz of the marginalize stage."""
    rng = np.random.default_rng(2)
    names = [f"MA{i:04d}.1" for i in range(n_motifs)]
    alt = ["GATA1", "TAL1::GATA1"] + [f"TF{i}" for i in range(2, n_motifs)]
    delta = np.sort(rng.normal(0, 0.3, (n_motifs, 50)).mean(axis=1) + np.linspace(1.5, -0.5, n_motifs))[::-1]
    per_locus = delta[:, None] + rng.normal(0, 0.1, (n_motifs, 50))
    before = np.exp(-0.5 * ((np.arange(length) - length / 2) / 15) ** 2)[None].repeat(tracks, 0) + 0.1
    after = before[None] * (1 + np.maximum(delta, 0)[:, None, None])
    lines = ["\t".join(MARGINALIZATION_COLUMNS)]
    for i in range(n_motifs):
        lines.append("\t".join(str(v) for v in (
            i + 1, names[i], alt[i], "AGATAA", 6, 50, f"{per_locus[i].mean():.6g}", f"{per_locus[i].std(ddof=1):.6g}",
            f"{np.exp(per_locus[i].mean()):.6g}", 3.0, f"{3 + per_locus[i].mean():.6g}", f"{0.01 * (n_motifs - i):.6g}",
            f"{np.abs(after[i] - before).max():.6g}", f"{i + 1}_{names[i]}.png",
        )))
    folder.mkdir(parents=True, exist_ok=True)
    table = folder / "marginalization.tsv"
    table.write_text("\n".join(lines) + "\n")
    effects = folder / "effects.npz"
    np.savez_compressed(
        effects,
        motif=np.array(names),
        alt_name=np.array(alt),
        consensus=np.array(["AGATAA"] * n_motifs),
        log_counts_after=(3 + per_locus).astype(np.float32),
        delta_log_counts=per_locus.astype(np.float32),
        profile_jsd=np.full((n_motifs, 50), 0.01, np.float32),
        mean_profile_after=after.astype(np.float32),
        loci_index=np.arange(50),
        chrom=np.array(["chr1"] * 50),
        centre=np.arange(50) * 1000,
        log_counts_before=np.full(50, 3.0, np.float32),
        mean_profile_before=before.astype(np.float32),
        track_names=np.array(["+", "-"][:tracks]),
        models=np.array(["m"]),
        submodels=np.array(["model"]),
        insertion=np.array("consensus"),
        seed=np.array(0),
    )
    return table, effects


def write_inputs(folder: Path) -> dict:
    """Two models: 'ChIP' with every interpretation file, 'ATAC' whose interpretation files are not there."""
    chip_metrics, chip_predictions = write_evaluation(folder / "chip")
    atac_metrics, atac_predictions = write_evaluation(folder / "atac")
    table, effects = write_marginalization(folder / "chip/marginalize")
    missing = folder / "atac/never-made"
    return {"models": [
        {"name": "ChIP", "metrics": chip_metrics, "predictions": chip_predictions,
         "attributions": write_attributions(folder / "chip/scores/counts.h5"),
         "modisco": write_modisco(folder / "chip/modisco/modisco_results.h5"),
         "annotations": write_annotations(folder / "chip/annotate/patterns.tsv"),
         "marginalization": table, "marginalization_effects": effects},
        {"name": "ATAC", "metrics": atac_metrics, "predictions": atac_predictions,
         "attributions": missing / "counts.h5", "modisco": missing / "modisco_results.h5", "annotations": missing / "patterns.tsv",
         "marginalization": missing / "marginalization.tsv", "marginalization_effects": missing / "effects.npz"},
    ]}


def run_report(folder: Path, **params) -> str:
    params.setdefault("report", folder / "out" / "report.html")
    context = StageContext("report", folder / "out", folder / "resume", logging.getLogger("test"))
    Report().run(Report.Params(**params), context)
    return Path(params["report"]).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("interpretation")
    html = run_report(folder, title="interpretation report", **write_inputs(folder))
    return folder / "out" / "report.html", html


def image_sources(html: str) -> list[str]:
    return re.findall(r'<img[^>]*\ssrc="([^"]*)"', html)


def section(html: str, name: str) -> str:
    """The HTML of one model's section."""
    start = html.index(f"<h2>{name} ")
    end = html.find('<section class="card"', start)
    return html[start : end if end >= 0 else len(html)]


# --- the page ------------------------------------------------------------------------------------

#: ChIP: counts scatter, 3 attribution tracks, 3 pattern logos, effects bars, profile change; ATAC: counts scatter
EXPECTED_IMAGES = 10


def test_interpretation_sections_are_embedded_in_the_page(rendered):
    _, html = rendered
    chip = section(html, "ChIP")
    for heading in ("<h3>Example attribution tracks</h3>", "<h3>Motifs</h3>", "<h3>Marginalization</h3>"):
        assert heading in chip
    sources = image_sources(html)
    assert len(sources) == EXPECTED_IMAGES and all(src.startswith("data:image/png;base64,") for src in sources)
    assert f'data-plots-expected="{EXPECTED_IMAGES}"' in html
    assert "http://" not in html and "https://" not in html


def test_attribution_tracks_show_the_strongest_peaks_with_their_loci(rendered):
    _, html = rendered
    chip = section(html, "ChIP")
    # window 3 (chr3) holds the planted site: the strongest peak comes first; the background window (chr5) is never drawn
    loci = re.findall(r"<b>(chr\d:[\d,]+-[\d,]+)</b>", chip)
    assert loci[0] == "chr3:1,030,001-1,030,300" and len(loci) == 3 and not any(locus.startswith("chr5") for locus in loci)
    assert "head <b>counts</b>" in chip and "6 windows (5 peaks) of 300 bp" in chip and "20 shuffled references" in chip
    assert "central 120 bp (chr3:1,030,091-1,030,210)" in chip
    assert "largest |convergence delta| of a window" in chip and "0.0002" in chip


def test_motifs_list_positive_patterns_first_by_seqlets_with_their_matches(rendered):
    _, html = rendered
    chip = section(html, "ChIP")
    order = [chip.index(f"<code>{name}</code>") for name in ("pos_patterns.pattern_1", "pos_patterns.pattern_0", "neg_patterns.pattern_0")]
    assert order == sorted(order)
    assert "GATA1 (MA0035.4)" in chip and "3.4e-06" in chip and "Matches GATA1 (MA0035.4) (q &lt; 0.05)" in chip
    assert "No database match: possibly a novel motif" in chip  # AP-1 pattern without a match
    assert "Best match not significant" in chip and "Negative pattern" in chip  # CCAAT, q = 0.21
    assert chip.count("Few seqlets (&lt; 100): weak evidence.") == 2
    assert f"<code>{GATA}</code>" in chip  # consensus from the results file
    assert "positive patterns found" in chip and "patterns matching a database motif" in chip
    # the summary's patterns column names the top pattern's match; the model without files says not available
    assert "3 patterns; top: GATA1 (MA0035.4)" in html


def test_marginalization_shows_the_top_20_motifs_and_the_profile_change(rendered):
    _, html = rendered
    chip = section(html, "ChIP")
    assert "The top 20 of 25 motifs" in chip
    assert "MA0019.1" in chip and "MA0020.1" not in chip
    assert "TAL1::GATA1" in chip and " ± " in chip
    assert "over 50 background loci" in chip and "Two tracks are the + (up)" in chip


def test_interpretation_files_that_are_not_there_show_as_not_available(rendered):
    _, html = rendered
    atac = section(html, "ATAC")
    for what in ("Attribution tracks", "TF-MoDISco patterns", "Marginalization"):
        assert re.search(re.escape(what) + r" \([^)]*never-made[^)]*\): not available", atac), what
    assert len(image_sources(atac)) == 1  # the counts scatter only


def test_without_interpretation_inputs_there_are_no_such_sections(tmp_path):
    metrics, predictions = write_evaluation(tmp_path / "m")
    html = run_report(tmp_path, models=[{"name": "m", "metrics": metrics, "predictions": predictions}])
    for heading in ("Example attribution tracks", "<h3>Motifs", "<h3>Marginalization", "TF-MoDISco patterns"):
        assert heading not in html


def test_annotations_alone_list_the_patterns_without_logos_and_effects_alone_are_optional(tmp_path):
    metrics, predictions = write_evaluation(tmp_path / "m")
    table, _ = write_marginalization(tmp_path / "marg", n_motifs=4, tracks=1)
    html = run_report(tmp_path, models=[{
        "name": "m", "metrics": metrics, "predictions": predictions,
        "annotations": write_annotations(tmp_path / "patterns.tsv"), "marginalization": table,
    }])
    assert "Pattern logos (give modisco: the modisco stage&#x27;s results file): not available" in html
    assert "GATA1 (MA0035.4)" in html and "pos_patterns.pattern_0" in html
    assert "Mean profile change (give marginalization_effects" in html
    assert len(image_sources(html)) == 2  # counts scatter and the effects bars


def test_a_run_without_patterns_says_why_and_warns(tmp_path):
    metrics, predictions = write_evaluation(tmp_path / "m")
    html = run_report(
        tmp_path,
        models=[
            {
                "name": "m",
                "metrics": metrics,
                "predictions": predictions,
                "modisco": write_modisco(tmp_path / "r.h5", empty=True),
            }
        ],
    )
    assert "<b>No pattern.</b> TF-MoDISco found no pattern: only 12 positive" in html
    checks = html[html.index("positive patterns found") :]
    assert '<span class="badge warn">warn</span>' in checks[:2000]
    assert "0 patterns" in html  # summary column


def head_model(folder: Path, **files) -> dict:
    """A BPNet's entry as bpnet init writes it: the count head's TF-MoDISco run found nothing, the profile head's the
    motifs (the case the profile-* stages are for); ``files`` replace or add fields."""
    metrics, predictions = write_evaluation(folder / "m")
    return {"name": "ChIP", "metrics": metrics, "predictions": predictions,
            "modisco": write_modisco(folder / "modisco/modisco_results.h5", empty=True, head="counts"),
            "profile_modisco": write_modisco(folder / "profile-modisco/modisco_results.h5", head="profile"),
            "profile_annotations": write_annotations(folder / "profile-annotate/patterns.tsv"), **files}


def test_the_profile_heads_patterns_are_shown_beside_the_count_heads_each_titled_by_head(tmp_path):
    html = run_report(tmp_path, models=[head_model(tmp_path)])
    chip = section(html, "ChIP")
    counts, profile = chip.index("<h3>Motifs: count head</h3>"), chip.index("<h3>Motifs: profile head</h3>")
    assert counts < profile
    assert "<b>No pattern.</b> TF-MoDISco found no pattern" in chip[counts:profile]
    profile_part = chip[profile:]
    assert "BPNet paper ran" in profile_part  # why a ChIP-seq BPNet's motifs are here
    assert "Matches GATA1 (MA0035.4) (q &lt; 0.05)" in profile_part and "profile-annotate/patterns.tsv" in profile_part
    assert len(image_sources(chip)) == 1 + 3  # the counts scatter and the profile head's 3 pattern logos
    # the summary names each head's patterns; each head has its markers (the count head found none: warn)
    assert "count head: 0 patterns<br>profile head: 3 patterns; top: GATA1 (MA0035.4)" in html
    assert '<span class="badge warn">warn</span>' in chip[counts:profile]
    assert "positive patterns found" in profile_part and '<span class="badge pass">pass</span>' in profile_part
    verdicts = InterpretationSection(read_interpretation(**{k: v for k, v in head_model(tmp_path / "again").items()
                                                            if k in ("modisco", "profile_modisco", "profile_annotations")}))
    assert len(verdicts.verdicts()) == 2 + 3  # count head: patterns, seqlets; profile head: those and matches


def test_a_section_without_the_profile_heads_patterns_titles_the_one_head_it_has(tmp_path):
    model = head_model(tmp_path, modisco=write_modisco(tmp_path / "profile-only.h5", head="profile"))
    del model["profile_modisco"], model["profile_annotations"]
    html = run_report(tmp_path, models=[model])
    assert html.count("<h3>Motifs") == 1 and "<h3>Motifs: profile head</h3>" in html  # as the modisco stage recorded it
    assert "3 patterns" in html and "count head" not in html


def test_profile_head_files_that_are_not_there_or_unreadable_are_named_by_their_field(tmp_path):
    missing = tmp_path / "never-made" / "modisco_results.h5"
    html = run_report(tmp_path, models=[head_model(tmp_path, profile_modisco=missing)])
    profile_part = html[html.index("<h3>Motifs: profile head</h3>") :]
    assert re.search(r"Pattern logos \([^)]*never-made[^)]*\): not available", profile_part)  # named from the annotations
    assert "GATA1 (MA0035.4)" in profile_part
    html = run_report(tmp_path, models=[head_model(tmp_path, profile_modisco=missing, profile_annotations=missing.with_name("p.tsv"))])
    profile_part = html[html.index("<h3>Motifs: profile head</h3>") :]
    assert re.search(r"TF-MoDISco patterns \([^)]*never-made[^)]*\): not available", profile_part)
    assert "profile head: <span class=\"na\">not available</span>" in html
    corrupt = tmp_path / "corrupt.h5"
    corrupt.write_bytes(b"not hdf5 at all")
    with pytest.raises(InputError, match=r"^profile_modisco: .*corrupt\.h5"):
        run_report(tmp_path, models=[head_model(tmp_path, profile_modisco=corrupt)], report=tmp_path / "bad" / "report.html")
    assert not (tmp_path / "bad" / "report.html").exists()


def test_attribution_examples_are_the_peaks_with_the_largest_summed_contribution(tmp_path):
    examples = read_attribution_examples(write_attributions(tmp_path / "counts.h5"), k=5)
    assert [e.row for e in examples.examples][0] == 3 and 5 not in [e.row for e in examples.examples]
    totals = [e.total_abs for e in examples.examples]
    assert totals == sorted(totals, reverse=True) and len(totals) == 5
    first = examples.examples[0]
    assert first.observed.shape == (4, LENGTH) and np.allclose(first.total_abs, np.abs(first.projected).sum(), rtol=1e-6)
    assert examples.delta_max_abs == pytest.approx(2e-4)


# --- parameters and bad inputs -------------------------------------------------------------------


def parallel_lists(models: list[dict]) -> dict:
    """The same models in the deprecated form: one list per parameter, in the order of names."""
    return {"names": [m["name"] for m in models]} | {key: [m[key] for m in models] for key in models[0] if key != "name"}


def test_interpretation_lists_of_before_must_match_the_names(tmp_path):
    params = parallel_lists(write_inputs(tmp_path)["models"])
    for field in ("attributions", "modisco", "annotations", "marginalization", "marginalization_effects"):
        with pytest.raises(ValidationError, match=f"{field} has 1 entry but names has 2"):
            Report.Params(**{**params, field: params[field][:1]})
    sections = Report.Params(**params).models
    assert [s.marginalization_effects for s in sections] == params["marginalization_effects"]


def _not_scores(models: list[dict]) -> Path:
    path = models[0]["attributions"]
    with h5py.File(path, "a") as f:
        f.attrs["format"] = "something-else"
    return path


def _bad_q_value(models: list[dict]) -> Path:
    path = models[0]["annotations"]
    path.write_text(path.read_text().replace("3.4e-06", "tiny"))
    return path


def _table_without_effects_column(models: list[dict]) -> Path:
    path = models[0]["marginalization"]
    path.write_text(path.read_text().replace("mean_delta_log_counts", "mean_delta", 1))
    return path


def _corrupt_modisco(models: list[dict]) -> Path:
    path = models[0]["modisco"]
    path.write_bytes(b"not hdf5 at all")
    return path


def _effects_of_another_shape(models: list[dict]) -> Path:
    path = models[0]["marginalization_effects"]
    with np.load(path) as npz:
        arrays = {key: npz[key] for key in npz.files}
    arrays["mean_profile_after"] = arrays["mean_profile_after"][:3]
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    "break_it, message",
    [
        (_not_scores, "is not a bpnet attribution file"),
        (_bad_q_value, "column q_value holds 'tiny'"),
        (_table_without_effects_column, "lacks the column(s) mean_delta_log_counts"),
        (_corrupt_modisco, "cannot read"),
        (_effects_of_another_shape, "and (25, T, L)"),
    ],
)
def test_a_bad_interpretation_file_is_an_input_error_naming_it(tmp_path, break_it, message):
    params = write_inputs(tmp_path)
    path = break_it(params["models"])
    with pytest.raises(InputError, match=re.escape(message)) as info:
        run_report(tmp_path, **params)
    assert str(path) in str(info.value)
    assert not (tmp_path / "out" / "report.html").exists()


def test_interpretation_inputs_run_through_bpnet_run(tmp_path, capsys):
    chip = write_inputs(tmp_path)["models"][0]
    spec = tmp_path / "spec.yaml"
    spec.write_text(json.dumps({"output_dir": "out", "stages": {"report": {"stage": "report", "params": {
        "models": [{key: str(value) for key, value in chip.items()}]}}}}))
    code = run_cli(["run", str(spec)])
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    assert len(image_sources((tmp_path / "out/report/report.html").read_text())) == EXPECTED_IMAGES - 1


# --- rendering in a browser ----------------------------------------------------------------------


def test_interpretation_report_renders_in_headless_chromium_with_every_image_loaded(rendered, tmp_path):
    report, _ = rendered
    body = rendered_body(report, tmp_path / "profile")
    assert f'data-plots-loaded="{EXPECTED_IMAGES}"' in body, body
    assert 'data-plot-errors="0"' in body, body
