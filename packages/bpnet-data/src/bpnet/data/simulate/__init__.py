"""Simulated ChIP-seq and ATAC-seq experiments with known ground truth.

``simulate(out, kind="chip" | "atac", seed=0, ...)`` (or ``bpnet simulate``) writes a
small genome, planted motif instances, true peaks and reads drawn from the generative
model below. Everything is drawn from ``numpy.random.default_rng`` streams spawned from
``seed``, so one seed gives byte-identical files; the genome, sites and peaks depend
only on the seed and the genome/peak parameters, not on ``kind`` or ``reads``. Lengths
are in bp, coordinates 0-based half-open. MACS3 finds the peaks (recall and precision
near 1 in our checks); its ChIP shift model needs 100 paired peaks, i.e. a genome of
about 8 Mb or more at the default density; smaller runs need ``--nomodel --extsize 200``.

Generative model
----------------
**Genome.** ``genome_size`` bp in ``n_chroms`` chromosomes chr1..chrN whose lengths fall
linearly from chr1 to chrN (chrN = 0.6 x chr1). Each chromosome is a series of
isochores of exponential length (mean ``isochore_size`` = 50 kb, minimum a fifth of
it); an isochore has a GC fraction uniform in ``gc_range`` (0.35-0.60) and its bases
are independent: P(G) = P(C) = gc/2, P(A) = P(T) = (1 - gc)/2. A fraction
``amplified_fraction`` (5%) of isochores has relative copy number ``amplification``
(1.5), which only scales ChIP background and control reads.

**GC domains (opt-in, ``gc_domains``).** Off by default (``null``; outputs are then
exactly those of earlier versions). With ``gc_domains: {}`` (or ``true``, or
``--gc-domains``) each chromosome is first cut into domains that alternate between
GC-poor and GC-rich (the first one's kind drawn; rich with probability
``rich_fraction``). Domain lengths are uniform between 0.5 and 1.5 times
``2 * size * rich_fraction`` (rich) or ``2 * size * (1 - rich_fraction)`` (poor), so
domains average ``size`` (300 kb) and rich ones cover about ``rich_fraction`` (0.3) of
the genome. Each domain is then cut into isochores as above, whose GC is uniform in the
lower half of ``gc_range`` (poor) or the upper half (rich). A share ``peak_share`` (0.9)
of the peaks is placed in rich domains, the rest in poor ones, so peaks in rich domains
number ``peak_share * n_peaks`` over ``rich_fraction * genome_size`` bp (n_peaks sets
the density). This is the structure of real genomes that makes GC matching hard: peaks
and their padding take up much of the GC-rich background. ``simulation.json`` then
records ``gc_domains`` and the counts ``gc_rich_bp`` and ``peaks_in_gc_rich``.

**Depleted background.** Before any site is planted, every window of the random genome
that matches one of the motifs at ``deplete_above`` (0.8) of its score range or more,
on either strand, has its most contributing base swapped with a different base 30-200
bp away (so the base composition is unchanged); rounds repeat until no match is left
(about 2% of the bases swap for the default motifs). A random 6 Mb genome otherwise
holds some 24,000 windows that score like a planted GATA1 site (7 bp), fifty times the
planted ones: the simulator binds only planted sites, so a short motif would barely
predict the signal and no model could learn it. With the depletion every strong match
is bound, as the ground truth of a benchmark should be, and planted sites (at least
``min_site_score``, 0.9) stand a tenth of the score range above anything left in the
background (4 bits for GATA1; with sites from 0.85 the gap was 2 bits and a small
model learned GATA1 only weakly). ``deplete_above: null`` keeps the background as drawn.

**Peaks.** ``n_peaks`` (default one per 20 kb, denser than strong peaks in a real
genome but sparse enough for GC matching) centres at least ``min_distance`` (1 kb)
apart and 2.5 kb from chromosome ends. An isochore receives centres in proportion to
its length times ``exp(gc_preference * z)``, z its GC scaled to [-1, 1] over
``gc_range``: peaks are GC-richer than the genome, as in real data, so GC-matched
negatives differ from random ones. With GC domains these weights are rescaled so that
rich domains get ``peak_share`` of the centres, and ``round(peak_share * n_peaks)``
peaks are chosen among those kept there.

**Motif instances.** Each peak holds 1..``max_sites`` (3) instances, uniformly. The
motifs (default: five JASPAR 2024 CORE vertebrate matrices, CTCF MA0139.2, GATA1
MA0035.5, Spi1 MA0080.7, FOS::JUN MA0099.4, CEBPB MA0466.4; any MEME file may be
given) are dealt evenly over all instances; strands are random. Instances occupy
distinct slots around the centre spaced by the widest motif + 4 bp (central slots
preferred). Bases are drawn from the motif's probabilities and redrawn while the
site's log-odds score is below ``min_site_score`` (0.9) of the motif's score range
(0 its lowest log-odds, 1 its consensus), then written over the
genome. A site's *strength* is ``activity * exp(affinity_strength * (r - 1))``, r its
relative score in [0.9, 1], ``affinity_strength`` 4 and ``activity`` a per-peak
log-normal factor (sd ``activity_sd`` = 0.25); ``affinity_strength: 0`` makes strength
independent of the match, a larger one with a lower ``min_site_score`` spreads sites
from weak to strong. ``motif_names`` (opt-in) plants only the named motifs of the file.
A peak's region spans its sites +-100 bp (at least 200 bp wide); its summit is the
centre of its strongest site; its narrowPeak signalValue is its total strength.

**ChIP (single-end, stranded).** ``depth`` reads (default ``genome_size / 10``). A
fraction ``frip`` (default 0.65) is expected from bound sites: site i yields
Poisson(frip * depth * strength_i / sum strength) fragments whose centre is the site
centre + Normal(0, ``centre_sd`` = 30) and whose length is Normal(``fragment_length`` =
200, ``fragment_sd`` = 60), clipped to [read length, 3 x mean]. Each fragment is read
from one end at random: a + read starts at the fragment start (5' end ~100 bp upstream
of the site), a - read ends at the fragment end (5' end ~100 bp downstream): a stranded
footprint whose lobes MACS3's model finds. The remaining reads are background:
fragments uniform within isochores weighted by length x copy number x
(1 + ``gc_bias`` * z), ``gc_bias`` = 0.2. The control (``control_depth`` reads, default
``depth``) is background only, drawn the same way. Reads are ``read_length`` (50) bp,
MAPQ 60, carry the reference bases, no qualities. (Peaks hold many reads over a
sparse background, so MACS3 calls them: with the defaults each peak averages ~880
reads, against ~17 background reads over its ~300 bp.)

**Asymmetric footprints (opt-in, ChIP, ``strand_shift``).** ``{motif name or alt name:
bp}``: the fragments of that motif's sites are centred ``bp`` downstream of the site
centre along the site's strand (+ site: to the right; - site: to the left; negative:
upstream). For a + site and a positive shift the + strand lobe of 5' ends comes ``bp``
closer to the site and the - strand lobe goes ``bp`` farther; a - site mirrors it. The
profile's shape then depends on the motif and its orientation (as in ChIP-exo or
ChIP-nexus, where footprints are not centred on the motif). Default ``{}``: none.

**Hotspots (opt-in, ChIP, ``hotspots``).** ``hotspots`` regions (default 0: none) of
log-uniform width in ``hotspot_width`` (300-3000 bp), placed uniformly over the genome
but at least 2 kb from every peak region, from each other, and 1 kb from chromosome
ends. In the ChIP reads and in the control alike a hotspot of width w adds
Poisson(``hotspot_strength`` * w * density) reads, density the library's mean
background reads per bp (ChIP: its non-peak budget), ``hotspot_strength`` 20: inside a
hotspot both libraries run ~21 times their background, like blacklisted regions or
collapsed repeats in real data (peak-like in the ChIP, but the control shows them too).
Their reads are taken from the background budget, so ``depth`` and ``control_depth``
stay the totals. ``hotspots.bed`` holds them (name ``hotspot_N``, score the strength).
The genome, sites and peaks do not change with them.

**Presets.** ``preset: independent`` (``--preset independent``) fills the fields of
``config.PRESETS["independent"]`` not given explicitly: a ChIP dataset built unlike the
default one (CTCF and GATA1 only, no depletion, GC domains, 20 hotspots, shifted
footprints, sites from 0.75 of the score range with ``affinity_strength`` 8,
``activity_sd`` 0.6). ``simulation.json`` records the opt-in options only when they are
on, so runs without them write exactly the files of earlier versions.

**ATAC (paired-end, Tn5).** ``depth`` fragments (default ``genome_size / 8``) before
removing duplicates; ``frip`` defaults to 0.5. The cut weight at base x is
``W(x) = bias(x) * (background(x) + s * accessibility(x)) * protection(x)`` where
``bias(x) = 2 ** (tn5_strength * score(x))``, score the log-odds (bits) of the designed
11 bp Tn5 motif (``bias.meme``, roughly palindromic and GC-rich) centred on x;
``background = 1 + gc_bias * z`` of x's isochore; ``accessibility`` a sum over sites of
strength x Gaussian(sd ``accessibility_sd`` = 60) at the site centre; ``protection`` is
1 - ``footprint`` (0.5) on a site's own bases (a TF footprint), 1 elsewhere; ``s`` makes
a fraction ``frip`` of the total weight come from accessibility. One cut x of a fragment
is drawn from W over the genome; the other is x +- d (side at random), picked among 8
candidate distances d with probability proportional to W: d is 30 + Gamma(2, 25) (55%,
nucleosome-free), Normal(185, 20) (35%) or Normal(360, 30) (10%), clipped to [30, 800].
Identical fragments are kept once. A fragment with cuts ``left < right`` is written as
a + read starting at ``left - 4`` and a - read ending at ``right + 5`` (its 5' base is
``right + 4``); reads are min(``read_length``, fragment length) long.

**Shift convention (ATAC).** Cuts = BAM + strand 5' end + 4 and - strand 5' end - 4
(0-based; the ChromBPNet / bpnet-lite ``-ps 4 -ns -4`` convention);
``fragments.tsv.gz`` holds unshifted fragments ``[left - 4, right + 5)``, so cuts are
``start + 4`` and ``end - 5``. ``signal/unstranded.bw`` counts exactly these cuts.
ChIP tracks count unshifted 5' ends (``plus.bw``: reference start of + reads;
``minus.bw``: reference end - 1 of - reads).

Output folder
-------------
``genome.fa`` (+ ``.fai``), ``genome.sizes``, ``motifs.meme``, ``sites.bed`` (chrom,
start, end, motif name, log-odds score in bits, strand), ``peaks.narrowPeak`` (summit
offset in column 10), ``simulation.json`` (parameters, seed, counts, version, files),
with ``hotspots`` ``hotspots.bed``;
with reads, ChIP adds ``reads.bam``/``control.bam`` (+ ``.bai``), ``signal/`` and
``control/`` (``plus.bw``, ``minus.bw``, ``tracks.json``); ATAC adds ``reads.bam``
(+ ``.bai``), ``fragments.tsv.gz`` (+ ``.tbi``; chrom, start, end, barcode, count),
``signal/`` (``unstranded.bw``, ``tracks.json``) and ``bias.meme``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bpnet.core.lazy import lazy_exports

if TYPE_CHECKING:
    from .simulator import Simulation, SimulationConfig, bundled_motifs, simulate

__all__ = ["Simulation", "SimulationConfig", "bundled_motifs", "simulate"]

# the simulator loads on first use, so ``bpnet --help`` stays fast
__getattr__ = lazy_exports(__name__, dict.fromkeys(__all__, ".simulator"))
