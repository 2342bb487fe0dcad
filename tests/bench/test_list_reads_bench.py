"""``cinderbench bench list-reads``: the designs answer the same, and ``glance_map`` reads
fewer items for a user's image properties than the seed's scan of the glance table."""

from __future__ import annotations

import pytest

from cinderbench.bench import list_reads


def test_glance_map_reads_the_project_not_the_table(capsys: pytest.CaptureFixture) -> None:
    assert list_reads.main(["--volumes", "300", "--projects", "4"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "volume_glance_metadata_get_all" in line)
    seed, mapped, improved = (int(cell.split("/")[1]) for cell in row.split("  ") if "/" in cell)
    assert mapped == improved
    assert mapped < seed
