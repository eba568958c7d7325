"""Chromosome names across files: they must agree, and a mismatch says how."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .errors import DataError


def naming_hint(missing: Iterable[str], known: Iterable[str]) -> str:
    """A hint when names differ only by a ``chr`` prefix (UCSC ``chr1`` vs Ensembl ``1``)."""
    known = set(known)
    missing = list(missing)
    if any(("chr" + m) in known for m in missing):
        return (
            " (the reference names chromosomes with a 'chr' prefix, e.g. 'chr1'; this file does not: rename its "
            "chromosomes or use a matching reference)"
        )
    if any(m.startswith("chr") and m[3:] in known for m in missing):
        return (
            " (this file names chromosomes with a 'chr' prefix but the reference does not, e.g. '1': rename its "
            "chromosomes or use a matching reference)"
        )
    return ""


def check_chromosomes(
    used: Iterable[str], reference: Mapping[str, int] | Iterable[str], *, file: str, reference_file: str
) -> None:
    """Raise :class:`DataError` if any chromosome in ``used`` is not in ``reference``."""
    known = set(reference)
    missing = sorted(set(used) - known)
    if not missing:
        return
    shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    some_known = ", ".join(sorted(known)[:5])
    raise DataError(
        f"{file}: chromosome(s) {shown} are not in {reference_file} (which has {some_known}, ...)"
        f"{naming_hint(missing, known)}"
    )


def check_read_chromosomes(label: str, used: Mapping[str, int], sizes: Mapping[str, int], genome_label: str) -> dict[str, int]:
    """Reads per chromosome missing from the genome; raises when the naming disagrees.

    Reads on a few chromosomes the genome lacks (chrM, unplaced contigs) are dropped
    and reported; if *no* chromosome with reads is in the genome, or the missing ones
    differ from the genome's by a ``chr`` prefix, the inputs do not belong together
    and :class:`DataError` says so.
    """
    used = {c: n for c, n in used.items() if n > 0}
    missing = {c: n for c, n in used.items() if c not in sizes}
    hint = naming_hint(missing, sizes)
    if used and (len(missing) == len(used) or hint):
        shown = ", ".join(sorted(missing)[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        genome_names = ", ".join(list(sizes)[:5])
        what = "none of its chromosomes" if len(missing) == len(used) else "its chromosome names"
        raise DataError(
            f"{label}: {what} ({shown}) match the genome {genome_label} (which has {genome_names}, ...)"
            + (hint or ": the reads were aligned to another assembly; use the genome they were aligned to")
        )
    return missing
