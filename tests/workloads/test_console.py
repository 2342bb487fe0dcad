"""While the validators run, locust's console table is held, then printed as usual."""

from __future__ import annotations

import logging

from locust.stats import RequestStats, print_stats

import workloads.common  # noqa: F401 - attaches cinderbench to locust
from workloads.distributed import _console_stats_held


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_console_table_is_held_during_validation_only():
    stats = RequestStats()
    stats.log_request("magnetodb", "attach", 12.0, 0)
    console = logging.getLogger("locust.stats_logger")
    lines = Lines()
    console.addHandler(lines)
    level, console.level = console.level, logging.INFO
    try:
        with _console_stats_held():
            print_stats(stats)
        assert lines.lines == []
        print_stats(stats)
        assert any("attach" in line for line in lines.lines)
        assert not console.disabled
    finally:
        console.removeHandler(lines)
        console.level = level
