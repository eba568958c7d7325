"""Exit codes of the ``bpnet`` command."""

EXIT_OK = 0
EXIT_STAGE_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
