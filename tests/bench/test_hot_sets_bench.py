"""``cinderbench bench hot-sets`` runs on a small dataset and prints both designs' figures."""

from __future__ import annotations

import pytest

from cinderbench.bench import hot_sets


def test_it_prints_the_largest_item_and_the_flip_ratio(capsys: pytest.CaptureFixture) -> None:
    assert hot_sets.main(["--volumes", "60", "--flips", "3"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith(hot_sets.DESIGNS)]
    assert [row.split()[0] for row in rows] == list(hot_sets.DESIGNS)
    seed_bytes, split_bytes = (int(row.split()[2]) for row in rows)
    assert split_bytes < seed_bytes  # a shard holds a part of the seed's item
    assert "split / seed, median flip:" in out
