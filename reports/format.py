"""Text for numbers: one place decides how a latency, a ratio or a counter reads.

The report shows figures to a person deciding, so every number is rounded to
what the measurement supports (3 significant digits for latency, 2 decimals
for ratios) and an absent figure reads as a dash, never as 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

DASH = "\u2013"


def number(value: float | None, digits: int = 3) -> str:
    """``value`` to ``digits`` significant digits, without an exponent for everyday sizes."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(digits - 1 - magnitude, 0)
    return f"{value:,.{decimals}f}"


def mean(value: float | None) -> str:
    """A mean count: ``3`` when whole, else 3 significant digits."""
    if value is None:
        return DASH
    return str(int(value)) if float(value).is_integer() else number(value)


def ms(us: float | None) -> str:
    """Microseconds as milliseconds with 3 significant digits."""
    return DASH if us is None else number(us / 1000.0)


def us(value: float | None) -> str:
    """Microseconds as they are (the round-trip floor is tens to hundreds of µs)."""
    return DASH if value is None else f"{number(value)} µs"


def ratio(value: float | None) -> str:
    return DASH if value is None else f"{value:.2f}\u00d7"


def interval(ci: Sequence[float] | None) -> str:
    """A confidence interval ``[low-high]`` (with an en dash)."""
    return DASH if not ci else f"[{ci[0]:.2f}\u2013{ci[1]:.2f}]"


def percent(part: float | None) -> str:
    return DASH if part is None else f"{100 * part:.0f}%"


def count(value: int | float | None) -> str:
    if value is None:
        return DASH
    return f"{value:,}" if isinstance(value, int) else number(value)


def counter(stats: Mapping[str, Any] | None) -> str:
    """A counter's mean per event: exact when every event counted the same, else ``~mean``."""
    if not stats:
        return DASH
    text = mean(float(stats["mean"]))
    return text if stats["min"] == stats["max"] else f"~{text}"


def speed(median: float | None, candidate: str, baseline: str) -> str:
    """A ratio candidate/baseline in words: ``magnetodb 2.1x faster``."""
    if median is None or median <= 0:
        return DASH
    if median < 1:
        return f"{candidate} {1 / median:.1f}\u00d7 faster"
    if median > 1:
        return f"{candidate} {median:.1f}\u00d7 slower"
    return "even"


def compact(value: Any, limit: int = 240) -> str:
    """A JSON-ish value on one line, cut at ``limit`` characters (findings carry records)."""
    import json

    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
