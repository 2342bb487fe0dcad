"""``python -m workloads.after_run DIR ANSWER LABEL=URL...``: the validators on a finished
locust run (``validators.pipeline.after_run``), their outcome written to ANSWER as JSON.

The master runs this in a process of its own (``workloads.distributed``): the replay
takes seconds to minutes, and the master's event loop must keep serving meanwhile.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from validators.pipeline import after_run


def main(argv: list[str]) -> int:
    directory, answer, *pairs = argv
    backends = [tuple(pair.split("=", 1)) for pair in pairs]
    outcome = after_run(directory, backends, quiet=True)
    Path(answer).write_text(json.dumps(outcome, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
