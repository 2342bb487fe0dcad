"""A step ramp for any workload: add users in steps, hold each step, stop at the run time.

Load it next to a workload (locust takes several files):

    locust -f workloads/attach_heavy.py,workloads/step_ramp.py --headless \\
        -u 40 -r 10 -t 2m --step-users 10 --step-time 30

Every ``--step-time`` seconds another ``--step-users`` users join (at ``-r``
per second) until ``-u``; the test stops at ``-t`` (or after the last step has
been held for ``--step-time`` when no run time is given). The per-second rows
of ``timeseries.csv`` then show where latency bends as the load grows.
"""

from __future__ import annotations

from typing import Any

from locust import LoadTestShape, events


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument("--step-users", type=int, default=5, env_var="LOCUST_STEP_USERS",
                        help="step ramp: users added per step")  # fmt: skip
    parser.add_argument("--step-time", type=float, default=10.0, env_var="LOCUST_STEP_TIME",
                        help="step ramp: seconds each step is held")  # fmt: skip


class StepRamp(LoadTestShape):
    """``-u`` users reached in steps of ``--step-users`` every ``--step-time`` seconds."""

    use_common_options = True

    def tick(self) -> tuple[int, float] | None:
        options = self.runner.environment.parsed_options
        target = max(int(options.num_users or options.step_users), 1)
        size, hold = max(options.step_users, 1), max(options.step_time, 0.1)
        steps = -(-target // size)  # ceiling
        limit = options.run_time or (steps + 1) * hold
        elapsed = self.get_run_time()
        if elapsed >= limit:
            return None
        users = min(target, (int(elapsed // hold) + 1) * size)
        return users, float(options.spawn_rate or size)
