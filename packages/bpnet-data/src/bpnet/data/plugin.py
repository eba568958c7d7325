"""bpnet-data's entry point in the ``bpnet`` group.

It registers bpnet-data's sources and stages through the same hooks as any third
party; those land with the data issue (FASTA, bigWig, BAM, tsv and BED sources;
reads-to-bigWig, peaks, negatives and splits stages).
"""

from __future__ import annotations

from bpnet.core.plugin import hookimpl


@hookimpl
def bpnet_register_sources() -> list:
    return []
