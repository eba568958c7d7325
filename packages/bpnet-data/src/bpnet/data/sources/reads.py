"""Read sources: aligned reads (BAM, SAM) and reads or fragments as text (tsv, tsv.gz).

Each source counts read ends into per-chromosome arrays (:meth:`ReadSource.count_ends`)
with the semantics of :mod:`bpnet.data.readcount`. A BAM must be sorted by coordinate
and indexed; a missing index is built (next to the file, or in the download cache
when that folder is read-only), and chromosomes are then read in parallel. SAM files
are read record by record through pysam (any order), tsv files in large chunks.
"""

from __future__ import annotations

import hashlib
import logging
import os
import zlib
from abc import abstractmethod
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import ClassVar

import numpy as np

from bpnet.core.atomic import atomic_path

from ..chroms import check_read_chromosomes
from ..errors import DataError
from ..readcount import (
    UNMAPPED,
    Alignments,
    CountOptions,
    CountPlan,
    EndCounts,
    alignment_ends,
    finish_plan,
    fragment_ends,
    selected,
)
from ..remote import cache_dir
from ..textfiles import is_gzip, open_text
from .bam_records import has_eof_marker, index_ranges, read_batches
from .base import Source

log = logging.getLogger(__name__)

#: Lines of a tsv file parsed at a time.
TSV_CHUNK = 2_000_000
#: Pending ends per chromosome before they are folded into counts (bounds memory).
FOLD_AT = 16_000_000

SORT_HINT = "`samtools sort -o sorted.bam {name}` or `python -c \"import pysam; pysam.sort('-o', 'sorted.bam', '{name}')\"`"


class ReadSource(Source):
    """The role of read sources: they count read ends into per-chromosome arrays.

    A source plugin for another read format derives from this class and implements
    :meth:`count_ends` (and, to parallelise, :meth:`plan`); ``reads-to-bigwig`` then
    uses it for every file of its suffixes.
    """

    role: ClassVar[str] = "reads"

    @abstractmethod
    def count_ends(
        self,
        sizes: Mapping[str, int],
        options: CountOptions,
        *,
        genome_label: str = "the genome",
        processes: int = 1,
        logger: logging.Logger | None = None,
    ) -> EndCounts:
        """Count read ends on the chromosomes of ``sizes`` (see :mod:`bpnet.data.readcount`)."""

    def plan(
        self, sizes: Mapping[str, int], options: CountOptions, *, genome_label: str = "the genome", logger: logging.Logger | None = None
    ) -> CountPlan:
        """Check the input and plan its counting; by default, count it all now."""
        return CountPlan(self, self.count_ends(sizes, options, genome_label=genome_label, logger=logger))


def _count_selected(counts: EndCounts, chrom: str, size: int, alignments: Alignments, options: CountOptions) -> None:
    positions, minus = alignment_ends(alignments, options)
    counts.add_chromosome(chrom, size, positions, minus, options)


# -- BAM --------------------------------------------------------------------------------


class BamSource(ReadSource):
    """Aligned reads in a coordinate-sorted, indexed BAM file.

    Records are decoded in bulk (:mod:`bpnet.data.sources.bam_records`), each
    chromosome separately, so several chromosomes are counted in parallel.
    """

    name = "bam"
    suffixes = (".bam",)

    @cached_property
    def header(self) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """(reference names, lengths) from the BAM header."""
        import pysam

        path = self.path
        if not has_eof_marker(path):
            raise DataError(f"{self.label}: no BGZF end-of-file marker: the BAM is truncated or not a BAM; re-create or re-download it")
        previous = pysam.set_verbosity(0)
        try:
            with pysam.AlignmentFile(str(path), "rb", check_sq=False) as bam:
                return tuple(bam.references), tuple(bam.lengths)
        except (OSError, ValueError) as exc:
            raise DataError(
                f"{self.label}: cannot read it as BAM ({exc}): check that it is a BAM file (SAM text must end in .sam)"
            ) from None
        finally:
            pysam.set_verbosity(previous)

    @cached_property
    def index(self) -> Path:
        """The ``.bai``/``.csi`` index, built if there is none (or only a stale one)."""
        path = self.path
        candidates = [Path(f"{path}.bai"), path.with_suffix(".bai"), Path(f"{path}.csi"), self._cached_index_path()]
        stale = []
        for candidate in candidates:
            if candidate.exists():
                if _in_download_cache(path) or candidate.stat().st_mtime >= path.stat().st_mtime:
                    return candidate
                stale.append(candidate)
        writable = os.access(path.parent, os.W_OK)
        target = candidates[0] if writable and not candidates[0].exists() else candidates[-1]
        self._build_index(target)
        reason = f"its index {stale[0]} is older than the BAM" if stale else "it had no index"
        log.info("%s: %s; indexed it into %s", self.label, reason, target)
        return target

    def _cached_index_path(self) -> Path:
        stat = self.path.stat()
        key = hashlib.sha256(f"{self.path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
        return cache_dir() / "bam-index" / key / f"{self.path.name}.bai"

    def _build_index(self, target: Path) -> None:
        import pysam

        _ = self.header  # a clear error for a file that is not a BAM at all
        previous = pysam.set_verbosity(0)
        try:
            with atomic_path(target) as tmp:
                pysam.index(str(self.path), str(tmp))
        except (pysam.SamtoolsError, OSError) as exc:
            unsorted = self.first_unsorted_read()
            name = self.path.name
            if unsorted:
                raise DataError(
                    f"{self.label}: the BAM is not sorted by coordinate ({unsorted}): sort it, e.g. "
                    f"{SORT_HINT.format(name=name)}, then use sorted.bam"
                ) from None
            raise DataError(f"{self.label}: cannot index it ({str(exc).strip()}): index it with `samtools index {name}`") from None
        finally:
            pysam.set_verbosity(previous)

    def first_unsorted_read(self) -> str | None:
        """Where the BAM first breaks coordinate order (None if it is sorted)."""
        import pysam

        with pysam.AlignmentFile(str(self.path), "rb", check_sq=False) as bam:
            start = bam.tell()
        names = self.header[0]
        last_ref, last_pos = -1, -1
        for batch in read_batches(self.path, start, None, self.label):
            ref = batch.fields["ref"].astype(np.int64)
            pos = batch.fields["pos"].astype(np.int64)
            ref = np.where(ref < 0, len(names), ref)  # unplaced reads come last
            key = ref * (1 << 32) + pos
            previous = np.r_[last_ref * (1 << 32) + last_pos, key[:-1]]
            bad = np.flatnonzero(key < previous)
            if len(bad):
                i = int(bad[0])
                before = (int(previous[i]) >> 32, int(previous[i]) & 0xFFFFFFFF)
                where = lambda r, p: f"{names[r]}:{p + 1}" if r < len(names) else "unplaced"  # noqa: E731
                return f"read {batch.read_name(i)} at {where(int(ref[i]), int(pos[i]))} comes after {where(*before)}"
            last_ref, last_pos = int(ref[-1]), int(pos[-1])
        return None

    def mapped_per_chromosome(self) -> dict[str, int]:
        """Mapped reads per reference sequence, from the index."""
        import pysam

        with pysam.AlignmentFile(str(self.path), "rb", index_filename=str(self.index), check_sq=False) as bam:
            return {s.contig: s.mapped for s in bam.get_index_statistics()}

    def plan(self, sizes, options, *, genome_label="the genome", logger=None) -> CountPlan:
        """Check the BAM against the genome and plan one counting task per chromosome."""
        logger = logger or log
        names, lengths = self.header
        mapped = self.mapped_per_chromosome()
        ranges = index_ranges(self.index, len(names))
        if sum(mapped.values()) == 0 and any(ranges):  # an index without read counts (no htslib metadata)
            mapped = {chrom: 1 for chrom, span in zip(names, ranges) if span is not None}
        if sum(mapped.values()) == 0:
            raise DataError(f"{self.label}: the BAM has no mapped reads: check that it is the aligned file you meant")
        missing = check_read_chromosomes(self.label, mapped, sizes, genome_label)
        _warn_on_lengths(self.label, dict(zip(names, lengths)), sizes, genome_label, logger)
        tasks = [
            (
                chrom,
                mapped[chrom],
                count_bam_chromosome,
                (str(self.path), self.label, ref, chrom, int(sizes[chrom]), span[0], span[1], options),
            )
            for ref, (chrom, span) in enumerate(zip(names, ranges))
            if chrom in sizes and span is not None and mapped.get(chrom, 0) > 0
        ]
        return CountPlan(self, EndCounts(missing=dict(missing)), tasks)

    def count_ends(self, sizes, options, *, genome_label="the genome", processes=1, logger=None) -> EndCounts:
        return finish_plan(self.plan(sizes, options, genome_label=genome_label, logger=logger), processes)


def _warn_on_lengths(label: str, lengths: Mapping[str, int], sizes: Mapping[str, int], genome_label: str, logger: logging.Logger) -> None:
    differ = [c for c, n in lengths.items() if c in sizes and int(sizes[c]) != int(n)]
    if differ:
        shown = ", ".join(f"{c}: {lengths[c]} vs {sizes[c]}" for c in differ[:3])
        logger.warning(
            "%s: chromosome lengths differ from %s (%s): were the reads aligned to another assembly?",
            label,
            genome_label,
            shown,
        )


def _in_download_cache(path: Path) -> bool:
    try:
        return path.resolve().is_relative_to(cache_dir().resolve())
    except OSError:  # pragma: no cover - unresolvable cache folder
        return False


def count_bam_chromosome(path: str, label: str, ref: int, chrom: str, size: int, start: int, stop: int, options: CountOptions) -> EndCounts:
    """Count the ends of one reference sequence's records (virtual offsets ``start``..``stop``).

    Runs in worker processes: it reads the file itself and returns sparse counts.
    """
    counts = EndCounts()
    positions, strands = [], []
    seen = 0
    for batch in read_batches(Path(path), start, stop, label):
        fields = batch.fields
        on_chrom = fields["ref"] == ref
        keep = on_chrom & selected(fields["flag"], fields["mapq"], fields["tlen"], options)
        rows = np.flatnonzero(keep)
        seen += int(np.count_nonzero(on_chrom))
        counts.reads += len(rows)
        if not len(rows):
            continue
        if options.paired_end:
            ref_length = np.zeros(len(rows), np.int64)
        else:
            no_cigar = np.flatnonzero(fields["n_cigar"][rows] == 0)
            if len(no_cigar):
                name = batch.read_name(int(rows[no_cigar[0]]))
                raise DataError(
                    f"{label}: read {name} is mapped to {chrom} but has no CIGAR, so its end is unknown: fix or drop "
                    "such reads (e.g. `samtools view -e 'ncigar>0'`)"
                )
            ref_length = batch.reference_lengths(rows)
        alignments = Alignments(
            fields["ref"][rows],
            fields["pos"][rows],
            ref_length,
            fields["flag"][rows],
            fields["mapq"][rows],
            fields["tlen"][rows],
        )
        where, minus = alignment_ends(alignments, options)
        positions.append(where)
        strands.append(minus)
    if seen == 0:
        raise DataError(
            f"{label}: the index points to records that are not on {chrom}: the index belongs to another version of "
            "the file; delete it so that it is rebuilt"
        )
    counts.skipped = seen - counts.reads
    if positions:
        counts.add_chromosome(chrom, size, np.concatenate(positions), np.concatenate(strands), options)
    return counts


# -- SAM --------------------------------------------------------------------------------


class SamSource(ReadSource):
    """Aligned reads in SAM text, read record by record through pysam (in any order)."""

    name = "sam"
    suffixes = (".sam",)

    def alignments(self) -> tuple[tuple[str, ...], Alignments, list[str]]:
        """(reference names, columns of every record, read names)."""
        import pysam

        columns: list[list[int]] = [[], [], [], [], [], []]
        ref, pos, length, flag, mapq, tlen = (c.append for c in columns)
        names: list[str] = []
        previous = pysam.set_verbosity(0)
        try:
            with pysam.AlignmentFile(str(self.path), "r", check_sq=False) as sam:
                references = tuple(sam.references)
                for read in sam.fetch(until_eof=True):
                    ref(read.reference_id)
                    pos(read.reference_start)
                    span = read.reference_length
                    length(-1 if span is None else span)
                    flag(read.flag)
                    mapq(read.mapping_quality)
                    tlen(read.template_length)
                    names.append(read.query_name)
        except (OSError, ValueError) as exc:
            raise DataError(f"{self.label}: cannot read it as SAM ({exc}): check the file (a SAM needs its @SQ header lines)") from None
        finally:
            pysam.set_verbosity(previous)
        arrays = [np.array(c, dtype=np.int64) for c in columns]
        return references, Alignments(*arrays), names

    def count_ends(self, sizes, options, *, genome_label="the genome", processes=1, logger=None) -> EndCounts:
        references, records, read_names = self.alignments()
        mapped = (records.flag & UNMAPPED) == 0
        if not mapped.any():
            raise DataError(f"{self.label}: the SAM has no mapped reads: check that it is the aligned file you meant")
        per_ref = np.bincount(records.ref[mapped], minlength=len(references))
        missing = check_read_chromosomes(self.label, dict(zip(references, per_ref.tolist())), sizes, genome_label)
        counts = EndCounts(missing=dict(missing))
        on_genome = np.isin(records.ref, [i for i, c in enumerate(references) if c in sizes])
        keep = on_genome & selected(records.flag, records.mapq, records.tlen, options)
        counts.reads = int(keep.sum())
        counts.skipped = int(on_genome.sum()) - counts.reads
        if not options.paired_end:
            no_cigar = np.flatnonzero(keep & (records.ref_length < 0))
            if len(no_cigar):
                i = int(no_cigar[0])
                raise DataError(
                    f"{self.label}: read {read_names[i]} is mapped to {references[records.ref[i]]} but has no CIGAR, "
                    "so its end is unknown: fix or drop such reads"
                )
        kept = np.flatnonzero(keep)
        order = kept[np.argsort(records.ref[kept], kind="stable")]
        refs, firsts = np.unique(records.ref[order], return_index=True)
        for ref, rows in zip(refs.tolist(), np.split(order, firsts[1:])):
            subset = Alignments(*(getattr(records, f)[rows] for f in ("ref", "pos", "ref_length", "flag", "mapq", "tlen")))
            _count_selected(counts, references[ref], int(sizes[references[ref]]), subset, options)
        return counts


# -- tsv --------------------------------------------------------------------------------


class TsvSource(ReadSource):
    """Reads or fragments as text: ``chrom start end [...]`` per line, gzipped or not.

    Columns are separated by tabs or spaces; columns after the third are ignored, as
    are blank lines and ``#`` comments (10x fragment files start with some). Start
    and end are 0-based, end exclusive (BED-like). All entries are on the + strand.
    """

    name = "tsv"
    suffixes = (".tsv", ".tsv.gz", ".bed", ".bed.gz")  # bam2bw reads fragments from .bed files too

    def count_ends(self, sizes, options, *, genome_label="the genome", processes=1, logger=None) -> EndCounts:
        if options.stranded:
            (logger or log).warning(
                "%s: text fragments have no strand; all of them go to the + track (set stranded: false for one track)",
                self.label,
            )
        pending: dict[str, list[np.ndarray]] = {}
        per_chrom: dict[str, int] = {}
        counts = EndCounts()
        for chrom, start, end in self._chunks():
            per_chrom[chrom] = per_chrom.get(chrom, 0) + len(start)
            if chrom not in sizes:
                continue
            counts.reads += len(start)
            pending.setdefault(chrom, []).append(fragment_ends(start, end, options))
            if sum(len(p) for p in pending[chrom]) >= FOLD_AT:
                counts.add_chromosome(chrom, int(sizes[chrom]), np.concatenate(pending.pop(chrom)), None, options)
        if not per_chrom:
            raise DataError(f"{self.label}: no reads or fragments in it (every line is blank or a # comment)")
        counts.missing = check_read_chromosomes(self.label, per_chrom, sizes, genome_label)
        for chrom, parts in pending.items():
            counts.add_chromosome(chrom, int(sizes[chrom]), np.concatenate(parts), None, options)
        return counts

    def _chunks(self):
        """(chromosome, starts, ends) per chromosome per chunk of lines."""
        import pandas as pd

        compression = "gzip" if is_gzip(self.path) else None
        try:
            reader = pd.read_csv(
                self.path, sep=r"\s+", header=None, usecols=[0, 1, 2], comment="#", compression=compression,
                dtype={0: "category", 1: np.int64, 2: np.int64}, chunksize=TSV_CHUNK, engine="c",
            )
            with reader:
                for chunk in reader:
                    codes = chunk[0].cat.codes.to_numpy()
                    start, end = chunk[1].to_numpy(), chunk[2].to_numpy()
                    order = np.argsort(codes, kind="stable")
                    bounds = np.r_[0, np.cumsum(np.bincount(codes, minlength=len(chunk[0].cat.categories)))]
                    for k, chrom in enumerate(chunk[0].cat.categories):
                        rows = order[bounds[k] : bounds[k + 1]]
                        if len(rows):
                            yield str(chrom), start[rows], end[rows]
        except pd.errors.EmptyDataError:
            return
        except (ValueError, pd.errors.ParserError, UnicodeDecodeError, EOFError, OSError, zlib.error) as exc:
            raise self._explain(exc) from None

    def _explain(self, exc: Exception) -> DataError:
        """A DataError naming the first bad line (found by reading the file line by line)."""
        try:
            with open_text(self.path) as lines:
                for number, line in enumerate(lines, start=1):
                    fields = line.split()
                    if not fields or fields[0].startswith("#"):
                        continue
                    if len(fields) < 3:
                        return DataError(
                            f"{self.label}:{number}: expected at least 3 columns (chrom, start, end), found {len(fields)}: {line.strip()!r}"
                        )
                    for value in fields[1:3]:
                        try:
                            int(value)
                        except ValueError:
                            return DataError(
                                f"{self.label}:{number}: start and end must be integers, found {fields[1]!r} and {fields[2]!r}"
                            )
        except (OSError, UnicodeDecodeError, EOFError, zlib.error) as err:
            return DataError(
                f"{self.label}: cannot read it as text ({err}): is it a tsv/tsv.gz file of reads or fragments?"
            )
        return DataError(f"{self.label}: cannot parse it as a reads/fragments table ({exc})")


__all__ = ["BamSource", "ReadSource", "SamSource", "TsvSource", "count_bam_chromosome"]
