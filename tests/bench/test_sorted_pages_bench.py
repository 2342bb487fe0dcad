"""``cinderbench bench sorted-pages`` prints both designs' counts, the same answers."""

from __future__ import annotations

import pytest

from cinderbench.bench import sorted_pages


def test_a_page_of_20_reads_fewer_items_with_the_option(capsys: pytest.CaptureFixture) -> None:
    assert sorted_pages.main(["--volumes", "300", "--projects", "2"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("page of 20, created_at"))
    seed_items, sorted_items = (int(cell.split("/")[1]) for cell in row.split("  ") if "/" in cell)
    assert sorted_items < seed_items
