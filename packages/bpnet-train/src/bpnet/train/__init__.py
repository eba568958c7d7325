"""bpnet-train: fitting, scoring and applying models on ``loci.h5``.

Samplers (:mod:`bpnet.train.samplers`), the training-session helpers every training
stage shares (:mod:`bpnet.train.session`), the official ChromBPNet recipe
(:mod:`bpnet.train.chrombpnet`), evaluation (:mod:`bpnet.train.evaluation`) and
prediction (:mod:`bpnet.train.prediction`), and their stages ``train-bpnet``,
``train-chrombpnet``, ``evaluate`` and ``predict``, registered in
:mod:`bpnet.train.plugin` like any third-party plugin's.
"""
