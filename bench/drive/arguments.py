"""argparse types for a run's options, shared by ``cinderbench``'s commands and the locust
workloads' options: numbers within the range a run accepts, a known mix, a fault plan, a node kill.

Each refuses a bad value with one line (argparse's ``ArgumentTypeError``), so a user's
mistake stops the command before anything starts.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from bench.drive.designs import design_name
from bench.drive.faults import parse_plan
from bench.drive.kills import NodeKill
from bench.workload.mixes import resolve_mix


def bounded(kind: type, low: float | None = None, high: float | None = None) -> Callable:
    """An argparse type: ``kind`` within ``[low, high]``, else a one-line error."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a {kind.__name__}: {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, not {text}")
        if (low is not None and value < low) or (high is not None and value > high):
            span = (
                f"between {low} and {high}"
                if low is not None and high is not None
                else f"at least {low}"
                if low is not None
                else f"at most {high}"
            )
            raise argparse.ArgumentTypeError(f"must be {span}, not {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


def known(check: Callable[[str], object], what: str) -> Callable[[str], str]:
    """An argparse type: the text, once ``check`` accepts it (its ValueError is the error)."""

    def parse(text: str) -> str:
        try:
            check(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
        return text

    parse.__name__ = what
    return parse


MIX = known(resolve_mix, "mix")
FAULT_PLAN = known(parse_plan, "fault plan")
DESIGN = known(design_name, "design")
POSITIVE_INT = bounded(int, 1)
COUNT = bounded(int, 0)
POSITIVE_FLOAT = bounded(float, 1e-9)
NON_NEGATIVE_FLOAT = bounded(float, 0.0)
FRACTION = bounded(float, 0.0, 1.0)


def node_kill(text: str) -> NodeKill:
    """An argparse type: ``SIDE:N@SECONDS`` (``bench.drive.kills``)."""
    try:
        return NodeKill.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


node_kill.__name__ = "node kill"
