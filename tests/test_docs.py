"""Docs that state a fact of the code say what the code does (issue 13 item 13)."""

from __future__ import annotations

import re

from magnetodb.storage.tables import DEFAULT_MAX_ITEM_BYTES
from tests.shortrun import REPO

UNITS = {"KiB": 1024, "MiB": 1024 * 1024}


def _sizes(text: str, pattern: str) -> list[int]:
    return [int(n) * UNITS[unit] for n, unit in re.findall(pattern, text)]


def test_the_item_size_limit_is_the_servers():
    design = (REPO / "docs" / "magnetodb-design.md").read_text()
    service = (REPO / "magnetodb" / "README.md").read_text()
    stated = _sizes(design, r"server enforces (\d+) (KiB|MiB) by default") + _sizes(
        service, r"Items are capped at (\d+) (KiB|MiB)"
    )
    assert stated == [DEFAULT_MAX_ITEM_BYTES, DEFAULT_MAX_ITEM_BYTES]


def test_a_write_ratio_says_the_durability_differs_next_to_it():
    # MagnetoDB's writes without fsync against InnoDB's flush per commit: the line that
    # gives the ratio says so, or a note right under the table marks the rows.
    readme = (REPO / "README.md").read_text().splitlines()
    rows = [line for line in readme if re.search(r"\bput\b.*\d\.\d+x", line)]
    assert rows
    assert all("fsync" in row and "not like for like" in row for row in rows)
    service = (REPO / "magnetodb" / "README.md").read_text().splitlines()
    row = re.compile(r"(put_item|cond\. update_item)( \*)? +\d+ +\d+ +\d+ ")
    writes = [i for i, line in enumerate(service) if row.match(line)]
    assert writes
    assert all(row.match(service[i])[2] == " *" for i in writes)
    # each table's write rows (two of them, together) are followed by the note
    for last in writes[1::2]:
        note = service[last + 1 : last + 4]
        assert any(line.startswith("* writes:") and "fsync" in line for line in note)
