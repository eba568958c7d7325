"""Counting read ends per base: alignments or fragments in, per-chromosome counts out.

The semantics are those of bam2bw (the tool bpnet-lite calls), computed on numpy
arrays instead of one Python dict increment per read:

* a read on the + strand covers ``[start, end)``; its 5' end is ``start + shift_plus``
  and its 3' end ``end - 1 + shift_minus``. On the - strand the 5' end is
  ``end - 1 + shift_minus`` and the 3' end ``start + shift_plus``. Shifts thus apply
  to the left and right ends of the alignment, as in bam2bw (``-ps``/``-ns``);
* ``ends="both"`` records both ends (fragments: ATAC cut sites);
* a paired-end fragment (``paired_end``) is ``[start, start + TLEN)`` of the mate with
  positive TLEN of a proper pair, on that mate's strand;
* tsv fragments ``chrom start end`` are on the + strand. By default a row is a fragment
  as sequenced (``fragment_format="sequenced"``); a 10x Genomics / Cell Ranger row holds
  the Tn5-adjusted cuts instead (``"10x"``: ``start + 4`` and ``end - 5`` of the
  fragment as sequenced), which is undone first, so shifts mean the same for every
  input: with ``+4/-4`` the cuts of a 10x row are its ``start`` and its ``end``;
* ends that fall off a chromosome are dropped (and counted).

Counts are kept sparse (sorted positions and their counts), so memory grows with the
number of distinct positions, not with the genome size, and the bigWigs are written
from them directly.

Entry points: :func:`count_reads` (sources -> :class:`EndCounts`),
:func:`write_track_set` (counts -> bigWigs + ``tracks.json``) and
:func:`reads_to_track_set` (both, overlapping counting and writing where it can; the
``reads-to-bigwig`` stage). Each source plans its work (:class:`CountPlan`): an
indexed BAM becomes one task per chromosome, run in worker processes.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import multiprocessing
import operator
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from bpnet.core.atomic import atomic_path

from .bigwig_io import bigwig_writer, write_bigwig_entries
from .errors import DataError
from .tracks import Track, TrackSet

log = logging.getLogger(__name__)

Ends = Literal["five-prime", "three-prime", "both"]
FragmentFormat = Literal["sequenced", "10x"]

#: Cell Ranger's Tn5 adjustment of a fragment ``[start, end)`` as sequenced: its rows hold
#: ``start + 4`` and ``end - 5``, the two insertion centres (``end - 5`` = ``end - 1 - 4``).
TENX_START, TENX_END = 4, -5

# SAM flag bits
PAIRED, PROPER_PAIR, UNMAPPED, MATE_UNMAPPED, REVERSE = 0x1, 0x2, 0x4, 0x8, 0x10
SECONDARY, QC_FAIL, DUPLICATE, SUPPLEMENTARY = 0x100, 0x200, 0x400, 0x800

#: File names of a track set written by :func:`write_track_set`.
PLUS, MINUS, UNSTRANDED = "plus.bw", "minus.bw", "unstranded.bw"
#: Counted positions from which the two strands' bigWigs are written in parallel.
PARALLEL_WRITE_MIN = 500_000


@dataclass(frozen=True)
class CountOptions:
    """What to count. Defaults match ``bam2bw`` without flags (stranded 5' ends, all mapped reads).

    ``stranded``: separate + and - strand tracks (else one track).
    ``ends``: ``five-prime``, ``three-prime`` or ``both`` ends of each read/fragment.
    ``paired_end``: count one fragment per proper pair (BAM/SAM) instead of each read.
    ``shift_plus`` / ``shift_minus``: bp added to the left / right end of each alignment.
    ``min_mapq``: skip alignments with a lower mapping quality.
    ``drop_duplicates``: skip reads flagged as PCR/optical duplicates (flag 1024).
    ``drop_secondary``: skip secondary and supplementary alignments (flags 256, 2048);
    always done in paired-end mode, so that a pair is one fragment.
    ``fragment_format``: what the rows of text fragment files are (see the module docstring).
    """

    stranded: bool = True
    ends: Ends = "five-prime"
    paired_end: bool = False
    shift_plus: int = 0
    shift_minus: int = 0
    min_mapq: int = 0
    drop_duplicates: bool = False
    drop_secondary: bool = False
    fragment_format: FragmentFormat = "sequenced"

    @property
    def excluded_flags(self) -> int:
        flags = UNMAPPED
        if self.drop_duplicates:
            flags |= DUPLICATE
        if self.drop_secondary or self.paired_end:
            flags |= SECONDARY | SUPPLEMENTARY
        if self.paired_end:
            flags |= MATE_UNMAPPED
        return flags


@dataclass
class Alignments:
    """Columns of aligned records (BAM/SAM) of one reference sequence or more.

    ``ref``: index into the file's reference names. ``pos``: 0-based leftmost base.
    ``ref_length``: reference bases covered by the CIGAR (-1: no CIGAR). ``flag``,
    ``mapq``, ``tlen``: the SAM fields.
    """

    ref: np.ndarray
    pos: np.ndarray
    ref_length: np.ndarray
    flag: np.ndarray
    mapq: np.ndarray
    tlen: np.ndarray


def selected(flag: np.ndarray, mapq: np.ndarray, tlen: np.ndarray, options: CountOptions) -> np.ndarray:
    """Which records count: mapped, passing the filters, and (paired-end) leftmost mates of proper pairs."""
    keep = (flag & options.excluded_flags) == 0
    if options.min_mapq > 0:
        keep &= mapq >= options.min_mapq
    if options.paired_end:
        keep &= ((flag & (PAIRED | PROPER_PAIR)) == (PAIRED | PROPER_PAIR)) & (tlen > 0)
    return keep


def alignment_ends(alignments: Alignments, options: CountOptions) -> tuple[np.ndarray, np.ndarray]:
    """(positions, on the - strand) of the recorded ends of already selected alignments."""
    start = alignments.pos.astype(np.int64)
    span = alignments.tlen.astype(np.int64) if options.paired_end else alignments.ref_length.astype(np.int64)
    left = start + options.shift_plus
    right = start + span - 1 + options.shift_minus
    minus = (alignments.flag & REVERSE) != 0
    if options.ends == "both":
        return np.concatenate([left, right]), np.concatenate([minus, minus])
    five_prime = options.ends == "five-prime"
    return np.where(minus == five_prime, right, left), minus


def fragment_ends(start: np.ndarray, end: np.ndarray, options: CountOptions) -> np.ndarray:
    """Recorded ends of tsv fragments ``[start, end)`` (all on the + strand, as in bam2bw).

    Rows of a 10x file (``fragment_format="10x"``) are first turned back into the
    fragments as sequenced, so that the shifts apply as they do to a BAM.
    """
    start, end = start.astype(np.int64), end.astype(np.int64)
    if options.fragment_format == "10x":
        start, end = start - TENX_START, end - TENX_END
    left = start + options.shift_plus
    right = end - 1 + options.shift_minus
    if options.ends == "both":
        return np.concatenate([left, right])
    return left if options.ends == "five-prime" else right


@dataclass
class Sparse:
    """Counts at sorted, distinct positions of one chromosome strand."""

    positions: np.ndarray  # int64, sorted, distinct
    counts: np.ndarray  # int64, > 0

    @classmethod
    def empty(cls) -> Sparse:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64))

    @classmethod
    def count(cls, positions: np.ndarray, size: int) -> tuple[Sparse, int]:
        """Counts of ``positions`` inside ``[0, size)``, and how many fell outside."""
        inside = (positions >= 0) & (positions < size)
        dropped = int(len(positions) - np.count_nonzero(inside))
        # positions come nearly sorted from a sorted BAM: the stable sort (timsort) is fast on them
        ordered = np.sort(positions[inside] if dropped else positions, kind="stable")
        return cls.runs(ordered), dropped

    @classmethod
    def runs(cls, ordered: np.ndarray, weights: np.ndarray | None = None) -> Sparse:
        if len(ordered) == 0:
            return cls.empty()
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        if weights is None:
            counts = np.diff(np.r_[starts, len(ordered)])
        else:
            counts = np.add.reduceat(weights, starts)
        return cls(ordered[starts].astype(np.int64), counts.astype(np.int64))

    def __add__(self, other: Sparse) -> Sparse:
        if len(other.positions) == 0:
            return self
        if len(self.positions) == 0:
            return other
        positions = np.concatenate([self.positions, other.positions])
        order = np.argsort(positions, kind="stable")
        return Sparse.runs(positions[order], np.concatenate([self.counts, other.counts])[order])

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def dense(self, size: int) -> np.ndarray:
        """The counts as a dense array of ``size`` (the smallest unsigned type that holds them)."""
        peak = int(self.counts.max()) if len(self.counts) else 0
        dtype = np.uint8 if peak < 1 << 8 else np.uint16 if peak < 1 << 16 else np.uint32 if peak < 1 << 32 else np.uint64
        values = np.zeros(size, dtype=dtype)
        values[self.positions] = self.counts
        return values


@dataclass
class EndCounts:
    """Counted ends of one input or several merged, with what was left out.

    ``plus``/``minus``: per chromosome (``minus`` is empty when unstranded).
    ``reads``: reads or fragments counted; ``ends``: ends recorded. ``skipped``: records left out by the
    filters (unmapped, flags, MAPQ, not a fragment). ``missing``: records on
    chromosomes that are not in the genome. ``off_chromosome``: ends that fell off a
    chromosome's ends (after shifting).
    """

    plus: dict[str, Sparse] = field(default_factory=dict)
    minus: dict[str, Sparse] = field(default_factory=dict)
    reads: int = 0
    ends: int = 0
    skipped: int = 0
    missing: dict[str, int] = field(default_factory=dict)
    off_chromosome: dict[str, int] = field(default_factory=dict)

    def add_chromosome(self, chrom: str, size: int, positions: np.ndarray, minus: np.ndarray | None, options: CountOptions) -> None:
        """Count ``positions`` (on the - strand where ``minus``) into chromosome ``chrom``."""
        if options.stranded and minus is not None:
            parts = [(self.plus, positions[~minus]), (self.minus, positions[minus])]
        else:
            parts = [(self.plus, positions)]
        for table, where in parts:
            counted, dropped = Sparse.count(where, size)
            table[chrom] = table[chrom] + counted if chrom in table else counted
            self.ends += counted.total
            if dropped:
                self.off_chromosome[chrom] = self.off_chromosome.get(chrom, 0) + dropped

    def merge(self, other: EndCounts) -> EndCounts:
        """The sum of two counts (several input files)."""
        merged = EndCounts(
            dict(self.plus),
            dict(self.minus),
            self.reads + other.reads,
            self.ends + other.ends,
            self.skipped + other.skipped,
        )
        for mine, theirs in ((merged.plus, other.plus), (merged.minus, other.minus)):
            for chrom, sparse in theirs.items():
                mine[chrom] = mine[chrom] + sparse if chrom in mine else sparse
        for table in (self.missing, other.missing):
            for chrom, n in table.items():
                merged.missing[chrom] = merged.missing.get(chrom, 0) + n
        for table in (self.off_chromosome, other.off_chromosome):
            for chrom, n in table.items():
                merged.off_chromosome[chrom] = merged.off_chromosome.get(chrom, 0) + n
        return merged

    def summary(self) -> dict:
        """What was counted and dropped, for logs and the track manifest."""
        return {
            "reads": self.reads,
            "ends": self.ends,
            "skipped_by_filters": self.skipped,
            "reads_on_chromosomes_not_in_genome": dict(sorted(self.missing.items())),
            "ends_off_chromosome_ends": dict(sorted(self.off_chromosome.items())),
        }


def describe_drops(label: str, counts: EndCounts, logger: logging.Logger) -> None:
    """Log what was counted from one input and what was left out."""
    logger.info("%s: %d reads counted (%d ends), %d records skipped by filters", label, counts.reads, counts.ends, counts.skipped)
    if counts.missing:
        shown = ", ".join(f"{c}: {n}" for c, n in sorted(counts.missing.items(), key=lambda kv: -kv[1])[:8])
        logger.info("%s: dropped %d reads on chromosomes not in the genome (%s)", label, sum(counts.missing.values()), shown)
    if counts.off_chromosome:
        shown = ", ".join(f"{c}: {n}" for c, n in sorted(counts.off_chromosome.items()))
        logger.info("%s: dropped %d ends that fell off chromosome ends (%s)", label, sum(counts.off_chromosome.values()), shown)


#: A counting task: (chromosome, expected reads, function returning EndCounts, its arguments).
Task = tuple[str, int, Callable[..., EndCounts], tuple]
#: From this many expected reads on, tasks run in worker processes.
PARALLEL_MIN_READS = 1_000_000
#: From this many expected reads on, counting shows a progress bar.
PROGRESS_MIN_READS = 2_000_000


@dataclass
class CountPlan:
    """What one input contributes: what is counted already, and per-chromosome tasks to run.

    Text inputs are counted when planned (``tasks`` empty); an indexed BAM is checked
    when planned (``counted`` holds only what it drops) and counted by its tasks,
    one per chromosome, which may run in worker processes.
    """

    source: Any
    counted: EndCounts
    tasks: list[Task] = field(default_factory=list)


def count_reads(
    sources: list,
    sizes: Mapping[str, int],
    options: CountOptions,
    *,
    genome_label: str = "the genome",
    processes: int = 1,
    logger: logging.Logger | None = None,
) -> EndCounts:
    """Count the ends of every read source (BAM/SAM/tsv sources) and sum them.

    ``processes``: worker processes for BAM chromosomes (0: one per CPU core).
    Raises :class:`DataError` for an input without reads, one with no read left
    after the filters, or one whose chromosomes do not match the genome.
    """
    logger = logger or log
    plans = [source.plan(sizes, options, genome_label=genome_label, logger=logger) for source in sources]
    totals = [plan.counted for plan in plans]
    owners, tasks = _flatten(plans, sizes)
    with contextlib.closing(run_tasks(tasks, processes)) as results:
        for i, counts in results:
            totals[owners[i]] = totals[owners[i]].merge(counts)
    _check_and_log(plans, totals, options, logger)
    return merged(totals)


def merged(counts: list[EndCounts]) -> EndCounts:
    """The sum of several inputs' counts."""
    return functools.reduce(EndCounts.merge, counts, EndCounts())


def finish_plan(plan: CountPlan, processes: int = 1) -> EndCounts:
    """Run the tasks of one plan and add their counts to what it counted already."""
    total = plan.counted
    with contextlib.closing(run_tasks(plan.tasks, processes)) as results:
        for _, counts in results:
            total = total.merge(counts)
    return total


def _flatten(plans: list[CountPlan], sizes: Mapping[str, int]) -> tuple[list[int], list[Task]]:
    """All tasks in genome order (so that chromosomes finish in the order they are written)."""
    order = {chrom: i for i, chrom in enumerate(sizes)}
    tagged = sorted(((order[task[0]], p, task) for p, plan in enumerate(plans) for task in plan.tasks), key=lambda t: t[:2])
    return [p for _, p, _ in tagged], [task for _, _, task in tagged]


def _check_and_log(plans: list[CountPlan], totals: list[EndCounts], options: CountOptions, logger: logging.Logger) -> None:
    for plan, counts in zip(plans, totals):
        if counts.reads == 0:
            source = plan.source
            raise DataError(
                f"{source.label}: no reads left to count after the filters ({_filter_text(options)}){_why_empty(options, source)}"
            )
        describe_drops(plan.source.label, counts, logger)


def run_tasks(tasks: list[Task], processes: int = 1) -> Iterator[tuple[int, EndCounts]]:
    """Run counting tasks; yields (task index, counts) as they finish.

    In this process, in order, when there are few reads or ``processes`` is 1; else in
    worker processes (``processes`` of them, 0: one per CPU core), in any order.
    """
    weights = [task[1] for task in tasks]
    workers = min(processes or cpu_count(), len(tasks))
    with _progress(sum(weights), "counting reads") as advance:
        if workers <= 1 or sum(weights) < PARALLEL_MIN_READS:
            for i, (_, weight, function, arguments) in enumerate(tasks):
                yield i, function(*arguments)
                advance(weight)
            return
        sys.stdout.flush()  # forked workers must not repeat buffered output
        sys.stderr.flush()
        context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        try:
            futures = {pool.submit(function, *arguments): i for i, (_, _, function, arguments) in enumerate(tasks)}
            for future in as_completed(futures):
                i = futures[future]
                yield i, future.result()
                advance(weights[i])
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _progress(total: int, description: str) -> Iterator[Callable[[int], None]]:
    """A progress bar (reads done, ETA) for long inputs; yields ``advance(n)``."""
    if total < PROGRESS_MIN_READS:
        yield lambda n: None
        return
    from bpnet.core.console import progress_bar

    with progress_bar(transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


def _filter_text(options: CountOptions) -> str:
    parts = ["unmapped reads"]
    if options.min_mapq:
        parts.append(f"MAPQ < {options.min_mapq}")
    if options.drop_duplicates:
        parts.append("duplicates")
    if options.drop_secondary or options.paired_end:
        parts.append("secondary/supplementary")
    if options.paired_end:
        parts.append("reads that are not the leftmost mate of a proper pair")
    return "skipping " + ", ".join(parts)


def _why_empty(options: CountOptions, source) -> str:
    if options.paired_end and getattr(source, "name", "") in ("bam", "sam"):
        return ": is it single-end data? set paired_end: false"
    return ": loosen the filters or check the file"


def cpu_count() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def write_count_bigwig(path: Path, sizes: Mapping[str, int], counts: Mapping[str, Sparse]) -> None:
    """Write sparse counts to a bigWig atomically: one single-base entry per counted position."""
    write_bigwig_entries(path, sizes, {chrom: (s.positions, s.counts) for chrom, s in counts.items()})


def _write_strands(jobs: list[tuple[Path, dict[str, Sparse]]], sizes: Mapping[str, int]) -> None:
    """Write several count bigWigs; with a free core, the second one in a forked process."""
    positions = sum(len(s.positions) for _, table in jobs for s in table.values())
    forked = None
    if len(jobs) > 1 and positions >= PARALLEL_WRITE_MIN and cpu_count() > 1 and "fork" in multiprocessing.get_all_start_methods():
        sys.stdout.flush()
        sys.stderr.flush()
        forked = multiprocessing.get_context("fork").Process(target=write_count_bigwig, args=(jobs[1][0], sizes, jobs[1][1]), daemon=True)
        forked.start()
    for i, (path, table) in enumerate(jobs):
        if forked is not None and i == 1:
            forked.join()
            if forked.exitcode == 0:
                continue
        write_count_bigwig(path, sizes, table)  # also surfaces the error of a failed forked write


def write_track_set(
    counts: EndCounts, sizes: Mapping[str, int], folder: Path, options: CountOptions, description: dict | None = None
) -> TrackSet:
    """Write ``plus.bw``/``minus.bw`` (stranded) or ``unstranded.bw``, and ``tracks.json``.

    The bigWigs hold integer counts per base over every chromosome of ``sizes``.
    Memory: the counts only (16 bytes per counted position); with a free CPU core the
    two strands are written at the same time.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if options.stranded:
        _write_strands([(folder / PLUS, counts.plus), (folder / MINUS, counts.minus)], sizes)
        tracks = [Track(file=PLUS, strand="+"), Track(file=MINUS, strand="-")]
    else:
        _write_strands([(folder / UNSTRANDED, counts.plus)], sizes)
        tracks = [Track(file=UNSTRANDED, strand=".")]
    return _write_manifest(folder, tracks, counts, options, description)


def reads_to_track_set(
    sources: list,
    sizes: Mapping[str, int],
    options: CountOptions,
    folder: Path,
    *,
    genome_label: str = "the genome",
    processes: int = 0,
    logger: logging.Logger | None = None,
    description: dict | None = None,
) -> TrackSet:
    """Count read ends of ``sources`` and write the track set to ``folder`` (the stage's work).

    Stranded: count, then write both strands at once. Unstranded: the single bigWig
    is written chromosome by chromosome while worker processes count the next ones.
    """
    logger = logger or log
    if options.stranded:
        counts = count_reads(sources, sizes, options, genome_label=genome_label, processes=processes, logger=logger)
        return write_track_set(counts, sizes, folder, options, description)
    plans = [source.plan(sizes, options, genome_label=genome_label, logger=logger) for source in sources]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / UNSTRANDED) as tmp:
        totals = _stream_unstranded(tmp, plans, sizes, processes)
        _check_and_log(plans, totals, options, logger)
    return _write_manifest(folder, [Track(file=UNSTRANDED, strand=".")], merged(totals), options, description)


def _write_manifest(folder: Path, tracks: list[Track], counts: EndCounts, options: CountOptions, description: dict | None) -> TrackSet:
    """Write ``tracks.json``: the tracks, the reads counted, the options and what was dropped."""
    manifest = TrackSet(
        tracks=tracks,
        reads=counts.reads,
        description={**(description or {}), "options": asdict(options), **counts.summary()},
    )
    manifest.write(folder)
    return manifest


def _stream_unstranded(path: Path, plans: list[CountPlan], sizes: Mapping[str, int], processes: int) -> list[EndCounts]:
    """Write one bigWig as chromosomes finish counting; returns each plan's counts (without positions)."""
    owners, tasks = _flatten(plans, sizes)
    totals = [plan.counted for plan in plans]
    remaining: dict[str, int] = {}
    for chrom, *_ in tasks:
        remaining[chrom] = remaining.get(chrom, 0) + 1
    arrived: dict[str, list[Sparse]] = {}
    with bigwig_writer(path, sizes) as bw, contextlib.closing(run_tasks(tasks, processes)) as results:
        for chrom in sizes:
            while remaining.get(chrom, 0):
                i, counts = next(results)
                done = tasks[i][0]
                arrived.setdefault(done, []).extend(counts.plus.values())
                counts.plus = {}
                totals[owners[i]] = totals[owners[i]].merge(counts)
                remaining[done] -= 1
            parts = arrived.pop(chrom, []) + [t.plus.pop(chrom) for t in totals if chrom in t.plus]
            if parts:
                sparse = functools.reduce(operator.add, parts)
                if len(sparse.positions):
                    bw.addEntries(chrom, sparse.positions, values=sparse.counts.astype(np.float64), span=1)
    return totals
