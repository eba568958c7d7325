"""bpnet-interpret: attributions, seqlets, TF-MoDISco, annotation and marginalization."""
