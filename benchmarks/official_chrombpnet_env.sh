#!/usr/bin/env bash
# The official ChromBPNet (kundajelab/chrombpnet 1.0.1, TensorFlow 2.8) in its own environment,
# outside the repository, for benchmarks/chrombpnet_official.py. Needs Python 3.10 (TensorFlow 2.8
# has no wheels for newer Pythons) and a few minutes. The official package does not install
# pyBigWig, which its training code imports: it is installed beside it.
#
#   bash benchmarks/official_chrombpnet_env.sh [ENV]      # default /work/bench-envs/chrombpnet
set -euo pipefail
env_dir="${1:-/work/bench-envs/chrombpnet}"
python="${PYTHON310:-$(command -v python3.10 || echo "$HOME/.pyenv/versions/3.10.13/bin/python")}"
"$python" -m venv "$env_dir"
"$env_dir/bin/pip" install --quiet chrombpnet==1.0.1 pyBigWig
"$env_dir/bin/python" -c "import chrombpnet, tensorflow as tf, pyBigWig; print('chrombpnet ok, TensorFlow', tf.__version__)"
