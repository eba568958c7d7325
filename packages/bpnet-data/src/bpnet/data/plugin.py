"""bpnet-data's entry point in the ``bpnet`` group: its sources, stages and commands.

bpnet-data registers through the same hooks as any third-party plugin; every class
is named lazily (``PluginRef``), so listing plugins imports none of them.
"""

from __future__ import annotations

from bpnet.core.plugin import PluginRef, hookimpl

_SRC = "bpnet.data.sources"
_STG = "bpnet.data.stages"


@hookimpl
def bpnet_register_sources() -> list[PluginRef]:
    return [
        PluginRef("fasta", f"{_SRC}.fasta:FastaSource", "reference genome FASTA (plain or bgzip), via pyfaidx"),
        PluginRef("chrom-sizes", f"{_SRC}.fasta:ChromSizesSource", "chromosome sizes (two columns, or a .fai index)"),
        PluginRef("bigwig", f"{_SRC}.bigwig:BigWigSource", "signal tracks in bigWig, via pyBigWig"),
        PluginRef("bed", f"{_SRC}.bed:BedSource", "BED / narrowPeak intervals (gzip too)"),
        PluginRef("bam", f"{_SRC}.reads:BamSource", "aligned reads in BAM, via pysam"),
        PluginRef("sam", f"{_SRC}.reads:SamSource", "aligned reads in SAM, via pysam"),
        PluginRef("tsv", f"{_SRC}.reads:TsvSource", "reads or fragments as tsv/tsv.gz (chrom, start, end[, ...])"),
    ]


@hookimpl
def bpnet_register_stages() -> list[PluginRef]:
    return [
        PluginRef("simulate", f"{_STG}.simulate:Simulate", "simulate a genome, planted motifs, reads and peaks (ChIP or ATAC)"),
        PluginRef("reads-to-bigwig", f"{_STG}.bigwig:ReadsToBigwig", "count read ends (BAM/SAM/tsv) into bigWig tracks"),
        PluginRef("call-peaks", f"{_STG}.peaks:CallPeaks", "call peaks with MACS3 (narrowPeak)"),
        PluginRef("negatives", f"{_STG}.negatives:GcMatchedNegatives", "background loci matched to the GC content of the peaks"),
        PluginRef("splits", f"{_STG}.splits:ChromosomeSplits", "chromosome-held-out folds (train/valid/test)"),
        PluginRef("loci", f"{_STG}.loci:ExtractLoci", "extract sequence and signal windows of peaks and negatives"),
    ]


@hookimpl
def bpnet_add_commands(app) -> None:
    from .simulate.cli import simulate

    app.command(simulate, name="simulate")
