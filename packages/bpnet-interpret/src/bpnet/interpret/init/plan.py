"""Which stages ``bpnet init`` writes, and the parameters it sets in each.

The pipeline follows the official recipes:

* **BPNet** (ChIP-seq, ChIP-nexus, ChIP-exo): stranded 5' ends of the reads (and of
  the controls, which also feed the model), MACS3 ``chip`` peaks, GC-matched negatives,
  128 bp of jitter, a 64 x 8 BPNet;
* **ChromBPNet** (ATAC-seq, DNase-seq): unstranded cut sites, MACS3 ``atac`` peaks,
  500 bp of jitter; a ``train-chrombpnet-bias`` stage trains a 128 x 4 bias model at
  three count-threshold factors around the official starting point (ATAC 0.5, DNase
  0.8) and ``train-chrombpnet`` picks one (``bias_choice: auto``) and trains the
  512 x 8 accessibility model, so another choice re-trains only the latter; evaluation
  runs the footprint test with the enzyme's built-in bias motifs (``tn5``, ``dnase``);
  the interpretation stages read the accessibility (de-biased) model, and a short
  branch checks the chosen bias model's TF-MoDISco patterns against the bias motifs
  and the ``-m`` motifs (:mod:`bpnet.interpret.bias_patterns`).

Then evaluation on the held-out chromosomes, DeepLIFT/SHAP attributions, and per
explained head seqlets, TF-MoDISco (with the known motifs as its database when ``-m``
is given) and annotation of patterns and seqlets (only with ``-m``); marginalization of
the known motifs (only with ``-m``), and the HTML report. A BPNet's motifs are found in
both heads (:data:`MOTIF_HEADS`): for ChIP-seq they live in the profile head (the BPNet
paper ran TF-MoDISco on profile contributions), while the count head may read little
sequence where the data lack background depletion; ChromBPNet keeps the official
choice, the accessibility model's count head.

Only the parameters that depend on the options are set here; every other parameter
keeps its stage's default (the render writes those too, so users see every knob).
:func:`fit_plan` checks the plan against the installed stages: a stage that is not
installed, or that no longer has a parameter init sets, is a clear error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bpnet.core.errors import BpnetError
from bpnet.core.plugin.registry import Registry
from bpnet.core.stages.base import StageParams

from .options import InitOptions
from .paths import spec_location

#: stage ids of the written pipeline
SIGNAL, CONTROL, PEAKS, NEGATIVES, FOLDS, LOCI = "signal", "control-signal", "peaks", "negatives", "folds", "loci"
TRAIN, EVALUATE, ATTRIBUTE, SEQLETS, MODISCO = "train", "evaluate", "attribute", "seqlets", "modisco"
ANNOTATE, MARGINALIZE, REPORT = "annotate", "marginalize", "report"
FOLD_SUMMARY = "fold-summary"
BIAS, BIAS_ATTRIBUTE, BIAS_MODISCO, BIAS_ANNOTATE = "bias", "bias-attribute", "bias-modisco", "bias-annotate"
#: stages that run once per fold when the spec trains several folds (the rest read every fold's model, or the first fold's loci)
PER_FOLD = (LOCI, BIAS, TRAIN, EVALUATE)

PROFILE_SEQLETS, PROFILE_MODISCO, PROFILE_ANNOTATE = "profile-seqlets", "profile-modisco", "profile-annotate"

#: the attribution file of the count head, which seqlets and TF-MoDISco read
COUNT_SCORES = f"@{ATTRIBUTE}.scores/counts.h5"
#: the attribution file of the profile head, which the profile-* stages read
PROFILE_SCORES = f"@{ATTRIBUTE}.scores/profile.h5"
#: per head: its attribution file and the ids of its seqlets, TF-MoDISco and annotate stages
HEAD_STAGES = {
    "counts": (COUNT_SCORES, SEQLETS, MODISCO, ANNOTATE),
    "profile": (PROFILE_SCORES, PROFILE_SEQLETS, PROFILE_MODISCO, PROFILE_ANNOTATE),
}
#: the heads whose motifs are found: a ChIP-seq BPNet's live in the profile head (the BPNet paper's choice; its count
#: head may read little sequence without background depletion), ChromBPNet's in the accessibility model's count head
MOTIF_HEADS = {"bpnet": ("counts", "profile"), "chrombpnet": ("counts",)}
#: how the written comments name each head
_HEAD_NAMES = {"counts": "count head", "profile": "profile head"}
#: jitter stored around each locus: bpnet-lite's 128 bp for BPNet, the official 500 bp for ChromBPNet
MAX_JITTER = {"bpnet": 128, "chrombpnet": 500}
#: ChromBPNet's bias-model factors: the official starting point (ATAC 0.5, DNase 0.8) and a step either side
BIAS_FACTORS = {"atac": [0.3, 0.5, 0.7], "dnase": [0.6, 0.8, 1.0]}
#: the enzyme's built-in bias motifs (bpnet.data.motifs.BUILTIN_MOTIFS)
BIAS_MOTIFS = {"atac": "tn5", "dnase": "dnase"}
#: peaks (those with the most counts) whose bias-model attributions the bias check's TF-MoDISco reads
BIAS_CHECK_LOCI = 5000
#: seqlets per sign clustered by the bias check's TF-MoDISco (a short run)
BIAS_CHECK_SEQLETS = 20_000


class InitPlanError(BpnetError):
    """The installed stages do not match what ``bpnet init`` writes (exit code 2)."""

    exit_code = 2


@dataclass
class PlannedStage:
    """One stage of the written pipeline: id, registered stage, the values init sets, and what it does here."""

    id: str
    stage: str
    params: dict[str, Any]
    about: str
    per_fold: bool = False


@dataclass
class Plan:
    """The pipeline ``bpnet init`` writes: its output folder and its stages in run order."""

    name: str
    model: str
    output_dir: str
    stages: list[PlannedStage] = field(default_factory=list)
    #: the folds per-fold stages fan out over (empty: one fold, no fan-out)
    folds: list[str] = field(default_factory=list)

    def ids(self) -> list[str]:
        return [s.id for s in self.stages]


def build_plan(options: InitOptions, spec_dir: Path, cwd: Path | None = None) -> Plan:
    """The stages for ``options``, with paths written for a spec in ``spec_dir``."""

    def where(location: str) -> str:
        return spec_location(location, spec_dir, cwd)

    name = options.experiment
    output_dir = where(options.output_dir) if options.output_dir else name
    plan = Plan(name, options.model, output_dir)
    genome = where(options.genome)
    add = plan.stages.append

    add(_signal_stage(SIGNAL, [where(p) for p in options.inputs], genome, options, "the experiment's reads"))
    if options.controls:
        add(_signal_stage(CONTROL, [where(p) for p in options.controls], genome, options, "the control reads (they feed the model too)"))
    if options.peaks:
        peaks = where(options.peaks)
    else:
        peaks = f"@{PEAKS}.peaks"
        add(PlannedStage(
            PEAKS, "call-peaks",
            {"reads": [where(p) for p in options.inputs], "controls": [where(p) for p in options.controls], "genome": genome,
             "preset": options.peak_preset, **({"tn5_shift": [0, 0]} if options.assay == "dnase" else {})},
            f"MACS3 peaks from the reads ({options.peak_preset} settings{', no Tn5 shift' if options.assay == 'dnase' else ''}); "
            "give -p to use your own peaks instead",
        ))
    negatives = {"genome": genome, "peaks": peaks}
    if options.blacklist:
        negatives["blacklist"] = where(options.blacklist)
    add(
        PlannedStage(
            NEGATIVES,
            "negatives",
            negatives,
            "background loci with the GC content of the peaks (the model also learns what is not bound)",
        )
    )
    folds = {"genome": genome, "folds": options.custom_folds or "human", **({"disjoint_tests": True} if options.per_fold else {})}
    add(PlannedStage(FOLDS, "splits", folds, _folds_about(options)))
    if options.per_fold:
        plan.folds = options.fold_names
    loci = {"genome": genome, "peaks": peaks, "negatives": f"@{NEGATIVES}.negatives", "signals": [f"@{SIGNAL}.tracks"],
            "controls": [f"@{CONTROL}.tracks"] if options.controls else [], "splits": f"@{FOLDS}.splits",
            "fold": "{fold}" if plan.folds else "fold_0", "max_jitter": MAX_JITTER[options.model]}
    add(
        PlannedStage(
            LOCI,
            "loci",
            loci,
            "2114 bp sequence and 1000 bp signal windows of every peak and negative, labelled by fold, in one loci.h5"
            + (" per fold" if plan.folds else ""),
        )
    )
    motifs = where(options.motifs) if options.motifs else None
    _add_model(plan, options)
    if plan.folds:
        plan.stages.append(PlannedStage(
            FOLD_SUMMARY, "summarize-folds", {"metrics": [f"@{EVALUATE}.metrics"]},
            "every fold's held-out metrics side by side, with their mean and sd (the report's fold table)",
        ))
    _add_interpretation(plan, options, genome, motifs)
    if options.model == "chrombpnet":
        _add_bias_check(plan, options, motifs)
    _add_report(plan, options, motifs)
    if plan.folds:
        _fan_out(plan)
    return plan


def _folds_about(options: InitOptions) -> str:
    folds = options.fold_names if options.per_fold else ["fold_0"]
    trained = f"{', '.join(folds)} {'are' if len(folds) > 1 else 'is'} trained"
    if not options.custom_folds:
        return (f"chromosome-held-out folds: the official hg38 folds ({trained}); other genomes need --valid-chroms and "
                "--test-chroms")
    groups = [f"validation {', '.join(v)}, test {', '.join(t)}" for v, t in zip(options.valid_chroms or [], options.test_chroms or [])]
    return f"chromosome-held-out folds ({trained}): " + "; ".join(groups) + ", training every other chromosome"


def _fan_out(plan: Plan) -> None:
    """Mark the per-fold stages; single references to them from other stages take the first fold (lists take every fold)."""
    first = plan.folds[0]
    for stage in plan.stages:
        stage.per_fold = stage.id in PER_FOLD
    fanned = {s.id for s in plan.stages if s.per_fold}

    def pin(value: Any) -> Any:
        if isinstance(value, str) and value.startswith("@") and value[1:].split(".", 1)[0] in fanned:
            target, rest = value[1:].split(".", 1)
            return f"@{target}[{first}].{rest}"
        if isinstance(value, dict):
            return {k: pin(v) for k, v in value.items()}
        if isinstance(value, list):
            return [v if isinstance(v, str) else pin(v) for v in value]  # a list item refers to every fold
        return value

    for stage in plan.stages:
        if not stage.per_fold:
            stage.params = pin(stage.params)


def _signal_stage(stage_id: str, reads: list[str], genome: str, options: InitOptions, what: str) -> PlannedStage:
    plus, minus = options.shifts
    params = {"reads": reads, "genome": genome, "preset": None, "stranded": options.stranded, "ends": options.ends,
              "paired_end": options.paired_end, "shift_plus": plus, "shift_minus": minus, "fragment_format": options.rows}
    track = "plus.bw and minus.bw of read 5' ends" if options.stranded else (
        "unstranded.bw of " + ("both fragment ends (cut sites)" if options.ends == "both" else "read 5' ends"))
    shifts = f", shifted {plus:+d}/{minus:+d}" if plus or minus else ""
    rows = {"10x": " (10x rows: Tn5-adjusted cut sites)", "sequenced": " (rows: fragments as sequenced)"}[options.rows]
    return PlannedStage(stage_id, "reads-to-bigwig", params, f"{what}{rows if options.fragments else ''} -> {track}{shifts}")


def _add_model(plan: Plan, options: InitOptions) -> None:
    loci = f"@{LOCI}.loci"
    if options.model == "bpnet":
        plan.stages.append(PlannedStage(
            TRAIN, "train-bpnet", {"loci": loci},
            "train a BPNet (official size: 64 filters, 8 layers, up to 50 epochs; shrink hyperparameters and max_epochs for a quick try)",
        ))
    else:
        factors, enzyme = BIAS_FACTORS[options.enzyme_assay], options.enzyme_assay
        plan.stages.append(PlannedStage(
            BIAS, "train-chrombpnet-bias", {"loci": loci, "bias_threshold_factor": factors},
            f"ChromBPNet bias models (128 x 4) on low-count background, one per count-threshold factor ({enzyme}: "
            f"{', '.join(f'{f:g}' for f in factors)}), each checked the official way; train-chrombpnet picks one "
            "(shrink bias_hyperparameters and max_epochs for a quick try)",
        ))
        plan.stages.append(PlannedStage(
            TRAIN, "train-chrombpnet", {"loci": loci, "bias_model": f"@{BIAS}.bias_models", "bias_choice": "auto"},
            f"ChromBPNet the official way: the bias candidate of the {BIAS} stage that bias_choice picks (auto: no failed "
            "check, then no advice, then the most specific; or a factor), frozen and scaled, then a 512 x 8 accessibility "
            f"model. Another bias_choice re-trains only this stage; the bias-training parameters here are unused (the {BIAS} "
            "stage's settings apply)",
        ))
    evaluate = {"model": f"@{TRAIN}.model", "loci": loci}
    if options.model == "chrombpnet":
        evaluate["bias_motifs"] = BIAS_MOTIFS[options.enzyme_assay]
    plan.stages.append(PlannedStage(
        EVALUATE, "evaluate", evaluate,
        "profile and count metrics of the model on the held-out test chromosomes"
        + (f"; ChromBPNet: the official QC and the footprint test with the built-in {evaluate['bias_motifs']} bias motifs"
           if options.model == "chrombpnet" else ""),
    ))


def _interpreted_model(options: InitOptions) -> str:
    """The model the interpretation stages read: BPNet itself, or ChromBPNet's de-biased accessibility model."""
    return f"@{TRAIN}.model" if options.model == "bpnet" else f"@{TRAIN}.accessibility_model"


def _add_interpretation(plan: Plan, options: InitOptions, genome: str, motifs: str | None) -> None:
    add = plan.stages.append
    models = [_interpreted_model(options)]
    heads = MOTIF_HEADS[options.model]
    which = "the BPNet" if options.model == "bpnet" else "the accessibility (de-biased) model"
    files = " and ".join(f"scores/{head}.h5" for head in heads)
    add(PlannedStage(
        ATTRIBUTE, "attribute",
        {"models": models, "loci": f"@{LOCI}.loci", **({"heads": list(heads)} if len(heads) > 1 else {})},
        f"DeepLIFT/SHAP contribution scores of every base to the predictions of {which} at the peaks ({files}, bigWigs)",
    ))
    for head in heads:
        _add_motif_stages(plan, head, genome, motifs, several=len(heads) > 1)
    if motifs:
        add(PlannedStage(
            MARGINALIZE, "marginalize", {"models": models, "loci": f"@{LOCI}.loci", "motifs": motifs},
            "each known motif inserted into background sequences: the predicted change of profile and counts (the motif's effect)",
        ))


def _add_motif_stages(plan: Plan, head: str, genome: str, motifs: str | None, several: bool) -> None:
    """Seqlets, TF-MoDISco and (with ``-m``) annotation of one head's attributions; ``several``: other heads get theirs too."""
    add = plan.stages.append
    scores, seqlets, modisco, annotate = HEAD_STAGES[head]
    output = {"counts": "the predicted counts", "profile": "the predicted profile"}[head]
    title = f"{plan.name}: TF-MoDISco patterns" + (f" of the {_HEAD_NAMES[head]}" if several else "")
    add(PlannedStage(
        seqlets, "seqlets", {"attributions": scores},
        f"short stretches of high contribution to {output}, called in every peak (seqlets.bed)",
    ))
    add(PlannedStage(
        modisco, "modisco", {"attributions": scores, "motifs": motifs, "title": title},
        f"TF-MoDISco clusters high-contribution stretches of the {_HEAD_NAMES[head]}'s scores into the motifs the model learned "
        "(patterns.meme, report.html)"
        + ("; your motifs (-m) name the patterns" if motifs else "; give -m motifs.meme to name them with known motifs")
        + (f". For ChIP-seq the motifs are usually clearest in the profile head (the BPNet paper's choice): see {PROFILE_MODISCO}"
           if head == "counts" and several else "")
        + (f". It reads the count-head scores; for the profile head, copy this stage with attributions \"{PROFILE_SCORES}\""
           if not several else ""),
    ))
    if motifs:
        add(PlannedStage(
            annotate, "annotate",
            {"motifs": motifs, "patterns": f"@{modisco}.results", "seqlets": f"@{seqlets}.seqlets", "genome": genome},
            f"match each TF-MoDISco pattern and each seqlet of the {_HEAD_NAMES[head]} to the known motifs (-m)",
        ))


def _add_bias_check(plan: Plan, options: InitOptions, motifs: str | None) -> None:
    """ChromBPNet: did the chosen bias model learn the enzyme's bias or TF motifs? Its attributions on the strongest
    peaks, a short TF-MoDISco run, and its patterns named against the bias motifs and the ``-m`` motifs."""
    add = plan.stages.append
    bias_motifs = BIAS_MOTIFS[options.enzyme_assay]
    add(PlannedStage(
        BIAS_ATTRIBUTE, "attribute",
        {"models": [f"@{TRAIN}.bias_model_out"], "loci": f"@{LOCI}.loci", "max_loci": BIAS_CHECK_LOCI, "heads": ["profile"]},
        f"DeepLIFT/SHAP scores of the chosen (scaled) bias model's profile head, where the enzyme's cut preference lives, "
        f"at the {BIAS_CHECK_LOCI} peaks with the most reads: the input of the bias model's TF-MoDISco check",
    ))
    add(PlannedStage(
        BIAS_MODISCO, "modisco",
        {"attributions": f"@{BIAS_ATTRIBUTE}.scores/profile.h5", "max_seqlets": BIAS_CHECK_SEQLETS,
         "title": f"{plan.name}: TF-MoDISco patterns of the bias model"},
        "a short TF-MoDISco run on the bias model's scores: its top patterns should be the enzyme's bias motifs",
    ))
    database = [bias_motifs, motifs] if motifs else bias_motifs
    add(PlannedStage(
        BIAS_ANNOTATE, "annotate", {"motifs": database, "patterns": f"@{BIAS_MODISCO}.results"},
        f"the bias model's patterns matched to the built-in {bias_motifs} bias motifs"
        + (" and your motifs (-m): the report says whether its top patterns are the enzyme's or TF motifs" if motifs else
           "; give -m motifs.meme to recognise TF motifs among them too (the report checks its top patterns)"),
    ))


def _add_report(plan: Plan, options: InitOptions, motifs: str | None) -> None:
    label = "BPNet" if options.model == "bpnet" else "ChromBPNet"
    section = {
        "name": f"{plan.name} {label}", "training": f"@{TRAIN}.training", "metrics": f"@{EVALUATE}.metrics",
        "predictions": f"@{EVALUATE}.predictions", "attributions": COUNT_SCORES, "modisco": f"@{MODISCO}.results",
    }
    if "profile" in MOTIF_HEADS[options.model]:
        section["profile_modisco"] = f"@{PROFILE_MODISCO}.results"
    if motifs:
        section.update(annotations=f"@{ANNOTATE}.patterns_table", marginalization=f"@{MARGINALIZE}.table",
                       marginalization_effects=f"@{MARGINALIZE}.effects")
        if "profile" in MOTIF_HEADS[options.model]:
            section["profile_annotations"] = f"@{PROFILE_ANNOTATE}.patterns_table"
    if options.model == "chrombpnet":
        section.update(bias_modisco=f"@{BIAS_MODISCO}.results", bias_annotations=f"@{BIAS_ANNOTATE}.patterns_table",
                       bias_motifs=BIAS_MOTIFS[options.enzyme_assay])
    if plan.folds:
        section["folds"] = f"@{FOLD_SUMMARY}.summary"
    plan.stages.append(PlannedStage(
        REPORT, "report", {"title": f"{plan.name}: {label}", "models": [section]},
        "one self-contained HTML page: loss curves, metrics with guidance, predicted vs observed counts, example profiles,"
        " attributions, TF-MoDISco patterns" + (" of the count and the profile head" if options.model == "bpnet" else "")
        + (" with their database matches, and motif effects" if motifs else "")
        + ("; ChromBPNet: the bias candidates, the official QC, the footprint test and the bias model's motifs"
           if options.model == "chrombpnet" else ""),
    ))


def fit_plan(plan: Plan, reg: Registry) -> dict[str, type[StageParams]]:
    """Each planned stage's ``Params``, checking the stages are installed and take the parameters init sets."""
    models: dict[str, type[StageParams]] = {}
    known = ", ".join(reg.names("stage")) or "none"
    for stage in plan.stages:
        if stage.stage not in reg.names("stage"):
            raise InitPlanError(
                f"bpnet init writes the stage '{stage.stage}' (as '{stage.id}'), but no installed plugin provides it "
                f"(installed stages: {known}); install or update the package that does (bpnet-data, bpnet-train, bpnet-interpret)"
            )
        cls = reg.stage(stage.stage)  # a plugin that fails to import: RegistryError, exit code 2
        fields = cls.Params.model_fields
        unknown = sorted(set(stage.params) - set(fields))
        if unknown:
            raise InitPlanError(
                f"the installed '{stage.stage}' stage has no parameter {', '.join(unknown)}, which bpnet init sets for '{stage.id}': "
                "bpnet init and the stage come from mismatched package versions; update both"
            )
        required = sorted(n for n, f in fields.items() if f.is_required() and n not in stage.params)
        if required:
            raise InitPlanError(
                f"the installed '{stage.stage}' stage requires {', '.join(required)}, which bpnet init does not set for '{stage.id}': "
                "bpnet init and the stage come from mismatched package versions; update both"
            )
        models[stage.id] = cls.Params
    return models
