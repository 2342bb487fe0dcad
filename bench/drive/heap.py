"""Keep the garbage collector off the objects that live through a measured phase.

The dataset, its live view and the backends are hundreds of thousands of
long-lived objects; every full collection would walk them again, and the pause
would land in whichever call happened to allocate last (measured: the
instrumented arm of ``cinderbench bench instrument`` paid 2 points of its 5%
overhead in collections). ``gc.freeze`` moves them out of the collector's
generations until the phase ends; every backend gains alike.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


def freeze() -> None:
    """Collect once, then exempt every object alive now from later collections."""
    gc.collect()
    gc.freeze()


def thaw() -> None:
    """Make the frozen objects collectable again (the phase is over)."""
    gc.unfreeze()


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """``freeze`` for as long as the block runs."""
    freeze()
    try:
        yield
    finally:
        thaw()
