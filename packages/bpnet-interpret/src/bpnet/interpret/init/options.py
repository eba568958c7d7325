"""What ``bpnet init`` is told: data pointers and a few experiment switches, checked.

:class:`InitOptions` is the command's options as a pydantic model, so the command line
and Python callers (``bpnet.interpret.init.write_spec(InitOptions(...))``) share one
set of checks. Locations are kept as the user gave them (a path or an http(s) URL);
:meth:`InitOptions.check_files` makes sure local ones exist before anything is written.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bpnet.core.remote import is_url
from bpnet.data.splits import HUMAN_FOLDS, shared_test

#: experiment names become folder names and report titles
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
#: suffixes dropped from an input file's name to guess the experiment name
_READ_SUFFIXES = (".bam", ".sam", ".tsv.gz", ".tsv", ".bed.gz", ".bed", ".gz")

#: option -> how the command line spells it (for error messages)
FLAGS: dict[str, str] = {
    "genome": "-s/--genome",
    "inputs": "-i/--input",
    "controls": "-c/--control",
    "peaks": "-p/--peaks",
    "motifs": "-m/--motifs",
    "blacklist": "--blacklist",
    "name": "-n/--name",
    "output": "-o/--output",
    "output_dir": "--output-dir",
    "model": "--model",
    "shift_plus": "--shift-plus",
    "shift_minus": "--shift-minus",
    "fragment_format": "--fragment-format",
    "assay": "--assay",
    "valid_chroms": "--valid-chroms",
    "test_chroms": "--test-chroms",
    "folds": "--folds",
}


class InitOptions(BaseModel):
    """The options of ``bpnet init`` (see :func:`bpnet.interpret.init.cli.init` for the command)."""

    model_config = ConfigDict(extra="forbid")

    genome: str = Field(..., description="reference genome FASTA (path or URL)")
    inputs: list[str] = Field(..., min_length=1, description="read files of the experiment: BAM, SAM, or reads/fragments as tsv/tsv.gz")
    controls: list[str] = Field(default_factory=list, description="control read files (ChIP input); BPNet only")
    peaks: str | None = Field(None, description="peaks (narrowPeak or BED, gzip too); none: call them with MACS3")
    motifs: str | None = Field(None, description="known motifs (MEME) to annotate TF-MoDISco patterns and to marginalize")
    blacklist: str | None = Field(None, description="BED of regions no negative may come near (e.g. the ENCODE blacklist)")
    name: str | None = Field(None, description="experiment name (output folder, report title); default: the first input's name")
    output: Path = Field(Path("spec.yaml"), description="the spec file to write")
    output_dir: str | None = Field(None, description="where the pipeline writes its results; default: <name> next to the spec")
    model: Literal["bpnet", "chrombpnet"] = Field("bpnet", description="bpnet (ChIP-seq/-nexus/-exo) or chrombpnet (ATAC/DNase)")
    assay: Literal["atac", "dnase"] | None = Field(
        None,
        description="ChromBPNet's assay: atac (Tn5; the default) or dnase (DNase-I): the bias models' count-threshold "
        "factors, the enzyme's bias motifs and the shifts (none for DNase)",
    )
    shift_plus: int | None = Field(
        None, description="bp added to the left (+ strand 5') end of each read or fragment; ATAC: 4 (default: 4 with fragments, else 0)"
    )
    shift_minus: int | None = Field(
        None, description="bp added to the right (- strand 5') end of each read or fragment; ATAC: -4 (default: -4 with fragments, else 0)"
    )
    unstranded: bool = Field(False, description="one unstranded track instead of plus and minus strand tracks")
    fragments: bool = Field(
        False, description="the inputs are fragment files (chrom start end): both ends are counted, unstranded, shifted +4/-4 by default"
    )
    fragment_format: Literal["10x", "sequenced"] | None = Field(
        None,
        description=(
            "rows of the fragment files: 10x (Tn5-adjusted cut sites, as Cell Ranger writes them; the default) or sequenced "
            "(fragments as sequenced: bpnet simulate, bedtools bamtobed -bedpe); implies fragments"
        ),
    )
    paired_end: bool = Field(False, description="paired-end BAM/SAM: count one fragment per proper pair")
    valid_chroms: list[list[str]] | None = Field(
        None,
        description="validation chromosomes per fold (with test_chroms: custom folds instead of the human ones); "
        "one list per fold",
    )
    test_chroms: list[list[str]] | None = Field(None, description="held-out test chromosomes per fold")
    folds: list[str] | None = Field(
        None, description="train every one of these folds (fold_0 ...) and average them; None: one fold, fold_0",
    )
    force: bool = Field(False, description="overwrite an existing spec file")

    @field_validator("valid_chroms", "test_chroms", mode="before")
    @classmethod
    def _fold_groups(cls, value: object) -> object:
        """``"chr2,chr3;chr4"`` (``;`` between folds, ``,`` within one) or a list of names (one fold) -> lists per fold."""
        if isinstance(value, str):
            value = [[part.strip() for part in group.split(",")] for group in value.split(";")]
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = [value]
        if isinstance(value, list):
            value = [[v for v in group if v] for group in value]
            if not value or any(not group for group in value):
                raise ValueError(
                    "give at least one chromosome name per fold (comma-separated, e.g. chr8,chr20; folds separated by ';')"
                )
        return value

    @field_validator("folds", mode="before")
    @classmethod
    def _fold_names(cls, value: object) -> object:
        """``"5"`` -> fold_0 .. fold_4; ``"fold_0,fold_3"`` -> those names."""
        if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
            n = int(value)
            if n < 1:
                raise ValueError("give a number of folds of at least 1, or fold names (e.g. fold_0,fold_3)")
            return [f"fold_{i}" for i in range(n)]
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
            if not value:
                raise ValueError("give a number of folds or fold names (e.g. 5 or fold_0,fold_3)")
        if isinstance(value, list):
            repeated = sorted({v for v in value if value.count(v) > 1})
            if repeated:
                raise ValueError(f"fold {repeated[0]} is listed twice; give each fold once")
        return value

    @field_validator("name")
    @classmethod
    def _plain_name(cls, name: str | None) -> str | None:
        if name is not None and not NAME_PATTERN.match(name):
            raise ValueError(f"{name!r}: use letters, digits, '.', '-' and '_' (it names the output folder)")
        return name

    @model_validator(mode="after")
    def _consistent(self) -> InitOptions:
        if self.fragment_format is not None:
            self.fragments = True
        if (self.valid_chroms is None) != (self.test_chroms is None):
            raise ValueError("give --valid-chroms and --test-chroms together (or neither, for the built-in human fold_0)")
        if self.valid_chroms and self.test_chroms:
            self._check_custom_folds(self.valid_chroms, self.test_chroms)
        elif self.folds:
            unknown = [f for f in self.folds if f not in HUMAN_FOLDS]
            if unknown:
                raise ValueError(
                    f"{unknown[0]} is not one of the official hg38 folds ({', '.join(HUMAN_FOLDS)}); for other folds give "
                    "--valid-chroms and --test-chroms with one ';'-separated group per fold"
                )
        if self.model == "bpnet" and self.assay is not None:
            raise ValueError("--assay picks ChromBPNet's bias-model recipe (atac or dnase): give --model chrombpnet, or leave it out")
        if self.model == "chrombpnet" and self.controls:
            raise ValueError("ChromBPNet takes no control reads (ATAC/DNase): leave out -c/--control, or use --model bpnet")
        if self.fragments and self.paired_end:
            raise ValueError("--paired-end is for paired BAM/SAM files and --fragments for fragment files (tsv): give one of them")
        return self

    def _check_custom_folds(self, valid: list[list[str]], test: list[list[str]]) -> None:
        if len(valid) != len(test):
            raise ValueError(
                f"--valid-chroms gives {len(valid)} fold(s) and --test-chroms {len(test)}: give one ';'-separated group per fold in each"
            )
        if self.folds is not None and len(self.folds) != len(test) and len(test) > 1:
            raise ValueError(f"--folds names {len(self.folds)} folds but --test-chroms gives {len(test)}: make them agree")
        if self.folds is not None and len(test) == 1 and len(self.folds) > 1:
            raise ValueError(
                f"--folds {len(self.folds)} with custom folds needs {len(self.folds)} ';'-separated groups in --valid-chroms "
                "and --test-chroms (e.g. --test-chroms 'chr1;chr2' --valid-chroms 'chr2;chr3')"
            )
        for i, (v, t) in enumerate(zip(valid, test)):
            both = sorted(set(v) & set(t))
            if both:
                where = f" in fold {i + 1}" if len(test) > 1 else ""
                raise ValueError(f"{', '.join(both)} cannot be both a validation and a test chromosome{where}")
        shared = shared_test({f"fold {i + 1}": chroms for i, chroms in enumerate(test)})
        if shared:
            chrom, first, second = shared
            raise ValueError(
                f"test chromosome {chrom} is in the test sets of {first} and {second}: each chromosome "
                "is held out by one fold only, so the folds' test sets together cover the genome once"
            )

    # ------------------------------------------------------------------ derived choices

    @property
    def experiment(self) -> str:
        """The experiment name: ``name``, else the first input's file name without its suffix."""
        if self.name:
            return self.name
        stem = self.inputs[0].split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        for suffix in _READ_SUFFIXES:
            if stem.lower().endswith(suffix) and len(stem) > len(suffix):
                stem = stem[: -len(suffix)]
                break
        stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.") or "experiment"
        return stem if NAME_PATTERN.match(stem) else f"x{stem}"

    @property
    def stranded(self) -> bool:
        """Plus and minus strand tracks: BPNet on reads, unless told otherwise."""
        return not (self.unstranded or self.fragments or self.model == "chrombpnet")

    @property
    def ends(self) -> str:
        """Which ends to count: both ends of fragments (cut sites) for unstranded fragment data, else 5' ends."""
        return "both" if (self.fragments or self.paired_end) and not self.stranded else "five-prime"

    @property
    def enzyme_assay(self) -> Literal["atac", "dnase"]:
        """The assay whose enzyme cut the DNA: as given, else atac (Tn5)."""
        return self.assay or "atac"

    @property
    def shifts(self) -> tuple[int, int]:
        """(shift_plus, shift_minus): as given, else the Tn5 +4/-4 for ATAC fragment files (cut sites) and 0/0 for
        reads and DNase-seq."""
        plus, minus = (4, -4) if self.fragments and self.enzyme_assay == "atac" else (0, 0)
        return (plus if self.shift_plus is None else self.shift_plus, minus if self.shift_minus is None else self.shift_minus)

    @property
    def rows(self) -> Literal["10x", "sequenced"]:
        """What the rows of the fragment files are: as given, else 10x (Cell Ranger's files are the usual kind)."""
        return self.fragment_format or ("10x" if self.fragments else "sequenced")

    @property
    def peak_preset(self) -> Literal["chip", "atac"]:
        """Peak-calling preset: ATAC/DNase settings for ChromBPNet, ChIP settings for BPNet."""
        return "atac" if self.model == "chrombpnet" else "chip"

    @property
    def custom_folds(self) -> dict[str, Any] | None:
        """Custom folds from --valid-chroms/--test-chroms (one fold, or fold_0 ... by name), or None for the human folds."""
        if self.valid_chroms is None or self.test_chroms is None:
            return None
        if len(self.test_chroms) == 1:
            return {"valid": list(self.valid_chroms[0]), "test": list(self.test_chroms[0])}
        return {name: {"valid": list(v), "test": list(t)} for name, v, t in zip(self.fold_names, self.valid_chroms, self.test_chroms)}

    @property
    def fold_names(self) -> list[str]:
        """The folds the pipeline trains: --folds, else one per custom group, else fold_0."""
        if self.folds is not None:
            return list(self.folds)
        if self.test_chroms is not None and len(self.test_chroms) > 1:
            return [f"fold_{i}" for i in range(len(self.test_chroms))]
        return ["fold_0"]

    @property
    def per_fold(self) -> bool:
        """Whether the spec fans training out over several folds (or the user asked for --folds)."""
        return self.folds is not None or len(self.fold_names) > 1

    def hints(self) -> list[str]:
        """Advice about the options (printed, not errors)."""
        hints = []
        if self.model == "bpnet" and (self.unstranded or self.fragments):
            hints.append(
                "unstranded data: ATAC-seq and DNase-seq are usually modelled with --model chrombpnet (bias model + accessibility model)"
            )
        if self.model == "chrombpnet" and self.assay == "dnase":
            if self.shifts != (0, 0):
                hints.append("DNase-seq has no Tn5 shift: leave --shift-plus and --shift-minus out (or give 0)")
        elif self.model == "chrombpnet" and self.shifts == (0, 0):
            if self.fragments:
                hints.append("no Tn5 shift: the counts are the fragment ends, not the Tn5 cut sites; for ATAC-seq leave "
                             "--shift-plus and --shift-minus out (+4/-4)")
            else:
                hints.append("no Tn5 shift: for ATAC-seq give --shift-plus 4 --shift-minus -4; for DNase-seq give --assay dnase")
        return hints

    # ------------------------------------------------------------------ files

    def locations(self) -> list[tuple[str, str]]:
        """(option, location) of every data pointer, in command-line order."""
        found = [("genome", self.genome)]
        found += [("inputs", p) for p in self.inputs]
        found += [("controls", p) for p in self.controls]
        found += [(name, getattr(self, name)) for name in ("peaks", "motifs", "blacklist") if getattr(self, name)]
        return found

    def missing_files(self, cwd: Path) -> list[tuple[str, str]]:
        """(option, location) of local data pointers that do not exist under ``cwd`` (URLs are not checked)."""
        return [(option, loc) for option, loc in self.locations() if not is_url(loc) and not (cwd / Path(loc).expanduser()).exists()]
