"""The DAG executor: stage graph, fingerprints and the runner."""

from .executor import LocalExecutor, Runner, StageResult, run_log
from .graph import StageGraph

__all__ = ["LocalExecutor", "Runner", "StageGraph", "StageResult", "run_log"]
