"""A run killed with SIGTERM (a cluster's wall-time limit) leaves no partial output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

SLOW_STAGE = '''
import time
from pathlib import Path
from bpnet.core.stages import Output, Stage, StageParams

class Slow(Stage):
    """Write half an output, then wait to be killed."""
    name = "slow"

    class Params(StageParams):
        out: Output = Path("slow")

    def run(self, params, context):
        params.out.mkdir()
        (params.out / "half.txt").write_text("half")
        (context.stage_dir / "started").write_text("yes")
        time.sleep(60)
'''


def test_sigterm_unwinds_and_removes_temporary_outputs(tmp_path):
    (tmp_path / "slow_stage.py").write_text(SLOW_STAGE)
    spec = tmp_path / "spec.yaml"
    spec.write_text("stages:\n  s:\n    stage: 'slow_stage:Slow'\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "BPNET_NO_PROGRESS": "1"}
    bpnet = Path(sys.executable).parent / "bpnet"
    process = subprocess.Popen([bpnet, "run", spec], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    started = tmp_path / "bpnet-out/s/started"
    deadline = time.time() + 60
    while not started.exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.1)
    assert started.exists(), process.communicate()[0] if process.poll() is not None else "stage never started"
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, output
    stage_dir = tmp_path / "bpnet-out/s"
    assert not (stage_dir / "slow").exists()
    assert not [p for p in stage_dir.iterdir() if ".tmp-" in p.name]
    assert not (stage_dir / ".bpnet-stage.json").exists()
    assert "Traceback" not in output
