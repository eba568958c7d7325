"""The files one stage writes and another reads, each layout defined once.

Writer and reader import the same module, so the file names, columns, keys and
required arrays cannot drift apart:

* :mod:`.training`: the ``training/`` folder of train-bpnet and train-chrombpnet
  (``epochs.csv``, ``batches.jsonl``, ``summary.json``, ``last/``; a ChromBPNet's
  ``bias/`` and ``accessibility/`` runs and ``chrombpnet.json``);
* :mod:`.metrics`: the evaluate stage's ``metrics.json``;
* :mod:`.predictions`: the evaluate stage's ``predictions.npz``;
* :mod:`.json_npz`: reading and writing JSON objects and reading ``.npz`` archives,
  with one-line errors.

Readers raise :class:`~bpnet.core.errors.InputError` naming the file (and the line or
key) and what to do. These modules import numpy but no torch.
"""
