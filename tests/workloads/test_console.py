"""While the validators run, locust's console table is held, then printed as usual.

In a subprocess: importing locust monkey-patches the process for gevent, which
would break the xdist worker running this test.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

CHECK = textwrap.dedent(
    """
    import logging

    from locust.stats import RequestStats, print_stats

    from workloads.distributed import _console_stats_held

    lines = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    console = logging.getLogger("locust.stats_logger")
    console.addHandler(handler)
    console.setLevel(logging.INFO)
    stats = RequestStats()
    stats.log_request("magnetodb", "attach", 12.0, 0)
    with _console_stats_held():
        print_stats(stats)
    assert lines == [], lines
    print_stats(stats)
    assert any("attach" in line for line in lines), lines
    assert not console.disabled
    print("checked")
    """
)


def test_console_table_is_held_during_validation_only():
    done = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("checked")
