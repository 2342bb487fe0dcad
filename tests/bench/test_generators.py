"""Key distributions: YCSB's shapes, checked statistically on seeded streams (so never flaky)."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from scipy import stats

from bench.workload.generators import (
    DiscreteGenerator,
    HotspotGenerator,
    ScrambledZipfianGenerator,
    SkewedLatestGenerator,
    UniformGenerator,
    ZipfianGenerator,
    fnvhash64,
    make_generator,
)

DRAWS = 60_000


def draws(generator, n: int = DRAWS) -> Counter:
    return Counter(generator.next() for _ in range(n))


def zeta(n: int, theta: float = 0.99) -> float:
    return sum(1 / i**theta for i in range(1, n + 1))


def test_uniform_is_flat_and_in_range():
    counts = draws(UniformGenerator(10, 29, random.Random(1)))
    assert set(counts) == set(range(10, 30))
    assert stats.chisquare([counts[i] for i in range(10, 30)]).pvalue > 0.001


def test_zipfian_follows_its_law():
    n = 100
    counts = draws(ZipfianGenerator(0, n - 1, random.Random(2)))
    assert min(counts) == 0
    assert max(counts) <= n - 1
    expected_first = DRAWS / zeta(n)
    assert counts[0] == pytest.approx(expected_first, rel=0.05)
    # rank 1 is 2**theta times rarer than rank 0
    assert counts[0] / counts[1] == pytest.approx(2**0.99, rel=0.1)
    # popularity falls with rank
    assert counts[0] > counts[5] > counts[50]


def test_zipfian_next_of_serves_any_population():
    generator = ZipfianGenerator(0, 9, random.Random(3))
    for n in (1, 2, 7, 1000, 3):
        values = [generator.next_of(n) for _ in range(2000)]
        assert all(0 <= v < n for v in values)
        assert Counter(values).most_common(1)[0][0] == 0


def test_scrambled_zipfian_spreads_the_hot_items():
    n = 1000
    counts = draws(ScrambledZipfianGenerator(0, n - 1, random.Random(4)))
    assert all(0 <= v < n for v in counts)
    hottest, hottest_count = counts.most_common(1)[0]
    # as skewed as zipfian over its item count, but the hottest item is not item 0
    assert hottest_count > 10 * DRAWS / n
    assert hottest != 0
    top10 = [value for value, _ in counts.most_common(10)]
    assert top10 != sorted(top10)


def test_latest_prefers_the_newest_items():
    size = [50]
    generator = SkewedLatestGenerator(lambda: size[0], random.Random(5))
    counts = draws(generator, 20_000)
    assert counts.most_common(1)[0][0] == 49
    assert counts[49] > counts[40] > counts[0]
    size[0] = 80  # inserts move the hot spot
    assert Counter(generator.next() for _ in range(5000)).most_common(1)[0][0] == 79


def test_hotspot_sends_the_hot_fraction_to_the_hot_set():
    generator = HotspotGenerator(0, 99, random.Random(6), hot_set_fraction=0.2, hot_op_fraction=0.8)
    counts = draws(generator)
    hot = sum(counts[i] for i in range(20))
    assert hot / DRAWS == pytest.approx(0.8, abs=0.01)
    # uniform inside each part
    assert stats.chisquare([counts[i] for i in range(20)]).pvalue > 0.001
    assert stats.chisquare([counts[i] for i in range(20, 100)]).pvalue > 0.001


def test_discrete_generator_honours_weights():
    generator = DiscreteGenerator(
        [(6, "show"), (3, "list"), (1, "create"), (0, "never")], random.Random(7)
    )
    counts = draws(generator, 30_000)
    assert "never" not in counts
    observed = [counts["show"], counts["list"], counts["create"]]
    assert stats.chisquare(observed, [18_000, 9_000, 3_000]).pvalue > 0.001


def test_generators_are_seeded():
    for name in ("uniform", "zipfian", "latest", "hotspot", "zipfian-unscrambled"):
        first = make_generator(name, 500, random.Random(8))
        second = make_generator(name, 500, random.Random(8))
        assert [first.next() for _ in range(200)] == [second.next() for _ in range(200)]


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="unknown key distribution"):
        make_generator("gaussian", 10, random.Random())
    with pytest.raises(ValueError, match="empty range"):
        UniformGenerator(5, 4, random.Random())
    with pytest.raises(ValueError, match="theta"):
        ZipfianGenerator(0, 10, random.Random(), theta=1.5)
    with pytest.raises(ValueError, match="positive weight"):
        DiscreteGenerator([(0, "a")], random.Random())


def test_fnvhash64_is_a_non_negative_spreading_hash():
    values = [fnvhash64(i) for i in range(10_000)]
    assert all(0 <= v < 2**63 for v in values)
    assert len(set(values)) == len(values)
    # consecutive keys land all over the range
    buckets = Counter(v % 16 for v in values)
    assert stats.chisquare([buckets[i] for i in range(16)]).pvalue > 0.001
