"""``bpnet init``: write a complete, commented pipeline spec from data pointers.

Nothing heavy is imported at module level, so ``bpnet --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from cyclopts import Parameter

#: a switch without a --no-... twin
_FLAG = Parameter(negative=())


def init(
    *,
    genome: Annotated[str, Parameter(name=["--genome", "-s"])],
    inputs: Annotated[list[str], Parameter(name=["--input", "-i"], negative=())],
    controls: Annotated[list[str] | None, Parameter(name=["--control", "-c"], negative=())] = None,
    peaks: Annotated[str | None, Parameter(name=["--peaks", "-p"])] = None,
    motifs: Annotated[str | None, Parameter(name=["--motifs", "-m"])] = None,
    name: Annotated[str | None, Parameter(name=["--name", "-n"])] = None,
    output: Annotated[Path, Parameter(name=["--output", "-o"])] = Path("spec.yaml"),
    output_dir: str | None = None,
    model: Literal["bpnet", "chrombpnet"] = "bpnet",
    assay: Literal["atac", "dnase"] | None = None,
    shift_plus: int | None = None,
    shift_minus: int | None = None,
    unstranded: Annotated[bool, _FLAG] = False,
    fragments: Annotated[bool, _FLAG] = False,
    fragment_format: Literal["10x", "sequenced"] | None = None,
    paired_end: Annotated[bool, _FLAG] = False,
    blacklist: str | None = None,
    valid_chroms: str | None = None,
    test_chroms: str | None = None,
    folds: str | None = None,
    force: Annotated[bool, _FLAG] = False,
) -> int:
    """Write a complete pipeline spec (YAML, every parameter commented) for your data; then `bpnet run` it.

    The spec runs preprocessing (bigWigs, MACS3 peaks unless -p, GC-matched negatives, chromosome folds, loci) -> training -> evaluation -> attribution (DeepLIFT/SHAP) -> seqlets -> TF-MoDISco -> motif annotation and marginalization (with -m) -> report, with the official settings. ChromBPNet adds bias models at three count thresholds (one chosen) and a TF-MoDISco check of the chosen bias model's motifs.

    ChIP-seq with a control: bpnet init -s hg38.fa -i rep1.bam -i rep2.bam -c input.bam -m motifs.meme -n ctcf -o ctcf.yaml

    ATAC-seq: add --model chrombpnet --unstranded --paired-end --shift-plus 4 --shift-minus -4 (no -c); from a Cell Ranger fragments.tsv.gz: --model chrombpnet --fragments.

    DNase-seq: add --model chrombpnet --assay dnase --unstranded (no -c, no shifts).

    Paths are written relative to the spec's folder (absolute when far from it); http(s) URLs as given.

    Parameters
    ----------
    genome
        Reference genome FASTA (plain or bgzip; path or URL).
    inputs
        Read file of the experiment, repeat for replicates (summed): BAM, SAM, or reads/fragments as .tsv/.tsv.gz/.bed.gz.
    controls
        Control read file (ChIP input), repeatable; it is used for peak calling and fed to the BPNet. Not for ChromBPNet.
    peaks
        Peaks (narrowPeak or BED, gzip too). Without it, peaks are called with MACS3 from the inputs (and controls).
    motifs
        Known motifs (MEME): TF-MoDISco patterns and seqlets are annotated with them and each is marginalized.
        Without it, the pipeline stops at TF-MoDISco (patterns unnamed) and the report.
    name
        Experiment name: the output folder and the report title (default: the first input's file name).
    output
        The spec file to write (refused if it exists, unless --force).
    output_dir
        Where the pipeline writes its results (default: a folder named after --name next to the spec).
    model
        bpnet: ChIP-seq, ChIP-nexus, ChIP-exo (stranded 5' ends, controls); chrombpnet: ATAC-seq, DNase-seq
        (unstranded cut sites, bias model + accessibility model). Unstranded data with the default bpnet prints a hint.
    assay
        ChromBPNet only: atac (Tn5, the default) or dnase (DNase-I). Picks the bias models' factors (atac 0.3, 0.5, 0.7; dnase 0.6, 0.8, 1.0), the bias motifs of the checks (tn5 or dnase) and no shift for DNase.
    shift_plus
        bp added to the left (+ strand 5') end of each read or fragment: 4 for ATAC-seq, 0 for DNase-seq and ChIP (default: 4 with --fragments, else 0).
    shift_minus
        bp added to the right (- strand 5') end of each read or fragment: -4 for ATAC-seq (default: -4 with --fragments, else 0).
    unstranded
        One unstranded track instead of plus and minus strands (implied by --model chrombpnet and --fragments).
    fragments
        The inputs are fragment files (chrom start end): both ends are counted (Tn5 cut sites, shifted +4/-4 unless --shift-plus/--shift-minus say otherwise).
    fragment_format
        What the fragment files' rows are (implies --fragments): 10x (default) = Tn5-adjusted cut sites as Cell Ranger writes them (start + 4, end - 5); sequenced = fragments as sequenced (bpnet simulate, bedtools bamtobed -bedpe).
    paired_end
        Paired-end BAM/SAM: count one fragment per proper pair (both ends when unstranded: ATAC cut sites).
    blacklist
        BED of regions no negative may come near (e.g. the ENCODE blacklist).
    valid_chroms
        Validation chromosomes, comma-separated (with --test-chroms); several folds: one group per fold, separated by ';' (chr2;chr3). Default: the official hg38 folds (fold_0: valid chr8,chr20; test chr1,chr3,chr6); other genomes need both options.
    test_chroms
        Held-out test chromosomes, comma-separated (with --valid-chroms); several folds: one group per fold, separated by ';' (chr1;chr2). A chromosome may be held out by one fold only.
    folds
        Train several folds and average them: a number (5: fold_0..fold_4) or fold names (fold_0,fold_3). The hg38 folds by default; with custom folds, as many as the ';' groups. Loci, bias models, training and evaluation run per fold (ids like train[fold_1]); attribution, TF-MoDISco and marginalization use every fold's model, averaged; the report has a row per fold.
    force
        Overwrite an existing spec file.
    """  # noqa: E501  (cyclopts prints these lines as written: a wrapped line would wrap the --help text)
    from pydantic import ValidationError

    from bpnet.core.console import console

    from .options import InitOptions
    from .writer import write_spec

    try:
        options = InitOptions(
            genome=genome, inputs=inputs, controls=controls or [], peaks=peaks, motifs=motifs, name=name, output=output,
            output_dir=output_dir, model=model, assay=assay, shift_plus=shift_plus, shift_minus=shift_minus, unstranded=unstranded,
            fragments=fragments, fragment_format=fragment_format, paired_end=paired_end, blacklist=blacklist,
            valid_chroms=valid_chroms, test_chroms=test_chroms, folds=folds, force=force,
        )
    except ValidationError as exc:
        raise _option_error(exc) from None
    written = write_spec(options)
    for hint in written.hints:
        console.print(f"[yellow]hint:[/] {hint}", highlight=False, soft_wrap=True)
    plan = written.plan
    console.print(f"[green]wrote[/] {output}: {len(plan.stages)} stages: {' -> '.join(plan.ids())}", highlight=False, soft_wrap=True)
    console.print(
        f"next: bpnet run {output}   (results in {plan.output_dir}/, relative to the spec's folder)",
        highlight=False,
        soft_wrap=True,
    )
    return 0


def _option_error(exc) -> Exception:
    """The first pydantic problem as one line naming the option."""
    from bpnet.core.errors import InputError

    from .options import FLAGS

    err = exc.errors()[0]
    field = str(err["loc"][0]) if err["loc"] else ""
    message = err["msg"].removeprefix("Value error, ")
    return InputError(f"{FLAGS[field]}: {message}" if field in FLAGS else message)
