"""Key distributions with YCSB's semantics: which project, which volume an operation touches.

Each generator is a small class with ``next()`` over its configured range,
seeded through the ``random.Random`` it is given (YCSB's ``NumberGenerator``).
Populations that change size while a run goes on (a project's volumes) use
``next_of(n)``: a value in ``[0, n)`` drawn with the same distribution, as
YCSB's ``ZipfianGenerator.nextLong(itemcount)`` does.

- ``UniformGenerator``: every item equally likely.
- ``ZipfianGenerator``: item 0 most popular (Gray et al., "Quickly generating
  billion-record synthetic databases", the algorithm YCSB uses), theta 0.99.
- ``ScrambledZipfianGenerator``: zipfian popularity spread over the key space
  by an FNV hash, so the popular items are not clustered (YCSB's default
  ``requestdistribution=zipfian``).
- ``SkewedLatestGenerator``: the most recently inserted items most popular.
- ``HotspotGenerator``: a hot fraction of the items takes a hot fraction of
  the operations, uniform inside each part.
- ``DiscreteGenerator``: a weighted choice among values (the operation mix).
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Callable, Sequence
from typing import Generic, Protocol, TypeVar

from bench.locks import os_lock

T = TypeVar("T")

ZIPFIAN_CONSTANT = 0.99

#: YCSB's ScrambledZipfianGenerator: a zipfian over 10^10 items with its
#: precomputed zeta, hashed down to the real item count.
SCRAMBLED_ITEM_COUNT = 10_000_000_000
SCRAMBLED_ZETAN = 26.46902820178302

FNV_OFFSET_BASIS_64 = 0xCBF29CE484222325
FNV_PRIME_64 = 1099511628211
_MASK_64 = (1 << 64) - 1


def fnvhash64(value: int) -> int:
    """YCSB's ``Utils.fnvhash64``: FNV-1a over the 8 low bytes, Java long overflow, abs."""
    hashval = FNV_OFFSET_BASIS_64
    for _ in range(8):
        octet = value & 0xFF
        value >>= 8
        hashval ^= octet
        hashval = (hashval * FNV_PRIME_64) & _MASK_64
    if hashval >= 1 << 63:  # as a signed Java long
        hashval -= 1 << 64
    return abs(hashval)


class KeyGenerator(Protocol):
    """What the catalog needs from a key distribution."""

    def next(self) -> int: ...

    def next_of(self, n: int) -> int: ...


class _ZetaTable:
    """Prefix sums of ``1 / i**theta``: ``zeta(n)`` in O(1) for any n seen so far.

    YCSB recomputes zeta incrementally when the item count grows; a table
    shared by every generator of one theta serves growing and shrinking
    populations alike, computed once.
    """

    _tables: dict[float, _ZetaTable] = {}
    _lock = os_lock()

    def __init__(self, theta: float) -> None:
        self.theta = theta
        self.prefix = [0.0]

    @classmethod
    def for_theta(cls, theta: float) -> _ZetaTable:
        with cls._lock:
            table = cls._tables.get(theta)
            if table is None:
                table = cls._tables[theta] = cls(theta)
            return table

    def zeta(self, n: int) -> float:
        prefix = self.prefix
        if n >= len(prefix):
            with self._lock:
                prefix = self.prefix
                if n >= len(prefix):
                    extended = list(prefix)
                    total = extended[-1]
                    theta = self.theta
                    for i in range(len(extended), n + 1):
                        total += 1.0 / i**theta
                        extended.append(total)
                    self.prefix = prefix = extended
        return prefix[n]


class UniformGenerator:
    """Every integer in ``[lower, upper]`` equally likely."""

    def __init__(self, lower: int, upper: int, rng: random.Random) -> None:
        if upper < lower:
            raise ValueError(f"empty range [{lower}, {upper}]")
        self.lower, self.upper, self.rng = lower, upper, rng

    def next(self) -> int:
        return self.rng.randint(self.lower, self.upper)

    def next_of(self, n: int) -> int:
        return self.rng.randrange(n)


class ZipfianGenerator:
    """Integers in ``[lower, upper]``, ``lower`` most popular (YCSB ``ZipfianGenerator``)."""

    def __init__(
        self,
        lower: int,
        upper: int,
        rng: random.Random,
        theta: float = ZIPFIAN_CONSTANT,
        zetan: float | None = None,
    ) -> None:
        if upper < lower:
            raise ValueError(f"empty range [{lower}, {upper}]")
        if not 0 < theta < 1:
            raise ValueError("theta must be in (0, 1)")
        self.lower, self.items, self.rng, self.theta = lower, upper - lower + 1, rng, theta
        self.alpha = 1.0 / (1.0 - theta)
        self._table = _ZetaTable.for_theta(theta)
        self.zeta2theta = self._table.zeta(2)
        self._fixed_zetan = zetan
        self._params: tuple[int, float, float] | None = None

    def _parameters(self, n: int) -> tuple[float, float]:
        params = self._params
        if params is None or params[0] != n:
            if self._fixed_zetan is not None and n == self.items:
                zetan = self._fixed_zetan
            else:
                zetan = self._table.zeta(n)
            # with two items the draw never reaches eta (zetan == zeta(2))
            eta = (
                (1 - (2.0 / n) ** (1 - self.theta)) / (1 - self.zeta2theta / zetan)
                if n > 2
                else 0.0
            )
            params = self._params = (n, zetan, eta)
        return params[1], params[2]

    def _draw(self, n: int) -> int:
        if n <= 1:
            return 0
        zetan, eta = self._parameters(n)
        u = self.rng.random()
        uz = u * zetan
        if uz < 1.0:
            return 0
        if uz < 1.0 + 0.5**self.theta:
            return 1
        return min(n - 1, int(n * (eta * u - eta + 1) ** self.alpha))

    def next(self) -> int:
        return self.lower + self._draw(self.items)

    def next_of(self, n: int) -> int:
        return self._draw(n)


class ScrambledZipfianGenerator:
    """Zipfian popularity, hashed over the range so hot items are scattered (YCSB)."""

    def __init__(self, lower: int, upper: int, rng: random.Random) -> None:
        if upper < lower:
            raise ValueError(f"empty range [{lower}, {upper}]")
        self.lower, self.items = lower, upper - lower + 1
        self._base = ZipfianGenerator(
            0, SCRAMBLED_ITEM_COUNT, rng, ZIPFIAN_CONSTANT, zetan=SCRAMBLED_ZETAN
        )

    def next(self) -> int:
        return self.lower + self.next_of(self.items)

    def next_of(self, n: int) -> int:
        return fnvhash64(self._base.next()) % n


class SkewedLatestGenerator:
    """The newest items most popular: ``last - zipfian(count)`` (YCSB ``SkewedLatestGenerator``).

    ``counter()`` gives the current number of items, so the distribution
    follows inserts as they happen.
    """

    def __init__(self, counter: Callable[[], int], rng: random.Random) -> None:
        self.counter = counter
        self._zipfian = ZipfianGenerator(0, 1, rng)

    def next(self) -> int:
        return self.next_of(self.counter())

    def next_of(self, n: int) -> int:
        if n <= 0:
            raise ValueError("no items to choose from")
        return n - 1 - self._zipfian.next_of(n)


class HotspotGenerator:
    """``hot_op_fraction`` of draws go to the first ``hot_set_fraction`` of the items."""

    def __init__(
        self,
        lower: int,
        upper: int,
        rng: random.Random,
        hot_set_fraction: float = 0.2,
        hot_op_fraction: float = 0.8,
    ) -> None:
        if upper < lower:
            raise ValueError(f"empty range [{lower}, {upper}]")
        if not (0 <= hot_set_fraction <= 1 and 0 <= hot_op_fraction <= 1):
            raise ValueError("hotspot fractions must be in [0, 1]")
        self.lower, self.items, self.rng = lower, upper - lower + 1, rng
        self.hot_set_fraction, self.hot_op_fraction = hot_set_fraction, hot_op_fraction

    def next(self) -> int:
        return self.lower + self.next_of(self.items)

    def next_of(self, n: int) -> int:
        hot = int(n * self.hot_set_fraction)
        cold = n - hot
        if hot and (not cold or self.rng.random() < self.hot_op_fraction):
            return self.rng.randrange(hot)
        return hot + self.rng.randrange(cold)


class DiscreteGenerator(Generic[T]):
    """A weighted choice among values (YCSB ``DiscreteGenerator``: the operation mix)."""

    def __init__(self, weighted: Sequence[tuple[float, T]], rng: random.Random) -> None:
        entries = [(float(weight), value) for weight, value in weighted if weight > 0]
        if not entries:
            raise ValueError("a discrete generator needs at least one positive weight")
        self.values = [value for _, value in entries]
        self.cumulative = list(itertools.accumulate(weight for weight, _ in entries))
        self.rng = rng

    def next(self) -> T:
        point = self.rng.random() * self.cumulative[-1]
        return self.values[bisect.bisect_right(self.cumulative, point)]


#: Distribution name -> factory(items, rng); names as YCSB's ``requestdistribution``.
DISTRIBUTIONS: dict[str, Callable[[int, random.Random], KeyGenerator]] = {
    "uniform": lambda n, rng: UniformGenerator(0, n - 1, rng),
    "zipfian": lambda n, rng: ScrambledZipfianGenerator(0, n - 1, rng),
    "zipfian-unscrambled": lambda n, rng: ZipfianGenerator(0, n - 1, rng),
    "latest": lambda n, rng: SkewedLatestGenerator(lambda: n, rng),
    "hotspot": lambda n, rng: HotspotGenerator(0, n - 1, rng),
}


def make_generator(name: str, items: int, rng: random.Random) -> KeyGenerator:
    """A generator of the named distribution over ``[0, items)``."""
    try:
        factory = DISTRIBUTIONS[name]
    except KeyError:
        known = ", ".join(sorted(DISTRIBUTIONS))
        raise ValueError(f"unknown key distribution {name!r}; known: {known}") from None
    return factory(max(items, 1), rng)
