"""Window geometry: the output and control windows sit where a real model predicts and reads them,
and every stage that cuts windows (loci, predict, evaluate, attribute) cuts them there."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from bpnet.core.architectures.bpnet import BPNet
from bpnet.data.bigwig_io import write_bigwig
from bpnet.data.errors import DataError
from bpnet.data.loci import LociSet, extract_loci
from bpnet.data.motifs import Motif
from bpnet.data.sources.bed import BedSource
from bpnet.data.windows import WindowGeometry, output_offset
from bpnet.train.evaluation import motif_match_track
from bpnet.train.prediction import prediction_windows

from ..conftest import random_sequence, write_fasta

TINY = dict(n_filters=4, n_layers=2, n_outputs=1, conv1_kernel_size=7, profile_kernel_size=9)
#: every parity of input and output length, and a control window of the other parity
LENGTHS = [(120, 60, 64), (121, 60, 63), (120, 59, 64), (121, 59, 62)]


def model_output_start(input_length: int, output_length: int) -> int:
    """Where (in input coordinates) a real BPNet puts its first output base: the centre of its receptive field."""
    torch.manual_seed(0)
    full = BPNet(output_length=1, **TINY)
    valid = input_length - full.receptive_shrink() - (TINY["profile_kernel_size"] - 1)  # every 'valid' output
    full = BPNet(output_length=valid, **TINY)
    cropped = BPNet(output_length=output_length, **TINY)
    cropped.load_state_dict(full.state_dict())
    X = torch.nn.functional.one_hot(torch.randint(0, 4, (1, input_length)), 4).permute(0, 2, 1).float()
    with torch.no_grad():
        everything, window = full(X)[0][0, 0], cropped(X)[0][0, 0]
    first = [a for a in range(valid - output_length + 1) if torch.equal(everything[a : a + output_length], window)]
    assert len(first) == 1
    receptive_half = (full.receptive_shrink() + TINY["profile_kernel_size"] - 1) // 2  # odd kernels: symmetric
    return first[0] + receptive_half


@pytest.mark.parametrize("input_length, output_length, control_length", LENGTHS)
def test_the_output_window_starts_where_a_centre_cropping_model_predicts(input_length, output_length, control_length):
    geometry = WindowGeometry(input_length, output_length, control_length)
    centre = 5000
    assert geometry.output_start(centre) - geometry.input_start(centre) == model_output_start(input_length, output_length)
    # BPNet centre-crops its controls to the output window: the crop begins at the output window's first base
    assert geometry.control_start(centre) + output_offset(control_length, output_length) == geometry.output_start(centre)


@pytest.mark.parametrize("input_length, output_length, control_length", LENGTHS)
def test_loci_predict_and_evaluate_cut_their_windows_where_the_geometry_says(tmp_path, input_length, output_length, control_length):
    size = 3000
    genome = write_fasta(tmp_path / "genome.fa", {"chr1": random_sequence(size, 1)})
    position = np.arange(size, dtype=np.float32) + 1  # the value at each base tells where it is
    write_bigwig(tmp_path / "signal.bw", {"chr1": size}, {"chr1": position})
    write_bigwig(tmp_path / "control.bw", {"chr1": size}, {"chr1": 2 * position})
    (tmp_path / "peaks.bed").write_text("chr1\t1000\t1400\nchr1\t2001\t2200\n")
    loci = extract_loci(
        genome, tmp_path / "peaks.bed", None, [tmp_path / "signal.bw"], [tmp_path / "control.bw"],
        input_length=input_length, output_length=output_length, control_length=control_length, max_jitter=0,
    )
    geometry = loci.geometry
    np.testing.assert_array_equal(loci.signals[:, 0, 0], geometry.output_start(loci.centre) + 1)
    np.testing.assert_array_equal(loci.controls[:, 0, 0], 2 * (geometry.control_start(loci.centre) + 1))

    windows = prediction_windows(
        BedSource(tmp_path / "peaks.bed").read(),
        {"chr1": size}, input_length=input_length, output_length=output_length, use_summits=False,
    )
    np.testing.assert_array_equal(windows.input_start, geometry.input_start(loci.centre))
    np.testing.assert_array_equal(windows.output_start, geometry.output_start(loci.centre))

    # evaluate's motif track: position i of the output window is the match centred on output base i
    codes = np.zeros((1, input_length), np.uint8)
    offset = output_offset(input_length, output_length)
    motif = Motif("one", np.array([[0.97, 0.01, 0.01, 0.01]]))  # 'A'
    codes[0, :] = 1  # all C...
    codes[0, offset + 3] = 0  # ...but one A at output base 3
    track = motif_match_track(codes, motif, output_length)
    assert track[0].argmax() == 3


def test_a_version_1_loci_file_whose_windows_are_1_bp_off_is_refused(tmp_path):
    size = 1000
    genome = write_fasta(tmp_path / "genome.fa", {"chr1": random_sequence(size, 1)})
    write_bigwig(tmp_path / "signal.bw", {"chr1": size}, {"chr1": np.ones(size, np.float32)})
    (tmp_path / "peaks.bed").write_text("chr1\t400\t600\n")
    for output_length, refused in ((60, False), (59, True)):
        loci = extract_loci(genome, tmp_path / "peaks.bed", None, [tmp_path / "signal.bw"], input_length=120, output_length=output_length)
        path = tmp_path / f"loci{output_length}.h5"
        loci.save(path)
        with h5py.File(path, "a") as f:
            f.attrs["version"] = 1  # as an earlier bpnet-data wrote it
        if refused:
            with pytest.raises(DataError, match=r"loci59\.h5: written by an earlier bpnet-data .* re-run the loci stage"):
                LociSet.load(path)
        else:
            assert len(LociSet.load(path)) == 1
