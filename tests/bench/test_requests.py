"""`cinderbench bench requests`: all 110 functions measured on both backends, with exact counts
for a few calls whose cost the design fixes."""

from __future__ import annotations

import pytest

from cinderbench.bench import BENCHMARKS, requests
from cinderdb.api import FUNCTIONS


def _rows(text: str) -> dict[tuple[str, str], list[str]]:
    rows = {}
    for line in text.splitlines():
        if line.startswith("| `"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            rows[(cells[0].strip("`"), cells[1])] = cells[2:]
    return rows


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> str:
    output = tmp_path_factory.mktemp("requests") / "requests.md"
    assert requests.main(["--output", str(output)]) == 0
    return output.read_text()


def test_registered():
    assert BENCHMARKS["requests"] == "cinderbench.bench.requests"


def test_every_function_is_measured(report):
    assert {function for function, _ in _rows(report)} == set(FUNCTIONS)
    assert f"{len(FUNCTIONS)} of the {len(FUNCTIONS)} functions are measured." in report


# (function, case) -> [SQL statements, JOINs, tables, MagnetoDB requests, items r / w, dual writes]
EXACT = {
    ("volume_type_get", "admin"): ["1 SELECT", "1", "2", "1 get_item", "1 / 0", "0"],
    ("volume_type_get_by_name", "user"): ["1 SELECT", "1", "2", "2 get_item", "2 / 0", "0"],
    ("qos_specs_get", "admin"): ["1 SELECT", "1", "1", "1 get_item", "1 / 0", "0"],
    ("qos_specs_create", "admin, consumer + 2 keys"): [
        "1 SELECT + 4 INSERT",  # the root row and three child rows (executemany)
        "1",
        "1",
        "2 put_item",
        "0 / 2",
        "1",
    ],
    ("volume_type_access_add", "admin"): [
        "2 SELECT + 1 INSERT",
        "0",
        "2",
        "1 update_item",
        "0 / 1",
        "0",
    ],
    ("consistencygroup_get_all_by_project", "user"): [
        "1 SELECT",
        "0",
        "1",
        "1 batch_get_item + 1 query",
        "2 / 0",
        "0",
    ],
    ("quota_get", "user"): ["1 SELECT", "0", "1", "1 get_item", "1 / 0", "0"],
    ("quota_reserve", "user, 4 deltas, usages exist"): [
        "1 SELECT + 4 INSERT + 4 UPDATE",  # §10: SELECT ... FOR UPDATE; 4x (INSERT + UPDATE)
        "0",
        "2",
        "1 query + 4 update_item + 1 batch_write_item",
        "4 / 8",
        "0",
    ],
    ("reservation_commit", "user, 4 reservations"): [
        "2 SELECT + 8 UPDATE",  # §10: 2 SELECT ... FOR UPDATE; 4x (UPDATE usage + reservation)
        "0",
        "2",
        "2 batch_get_item + 4 update_item + 1 batch_write_item",
        "8 / 8",
        "0",
    ],
}


@pytest.mark.parametrize(("key", "expected"), EXACT.items(), ids=[f"{f}: {c}" for f, c in EXACT])
def test_exact_counts(report, key, expected):
    assert _rows(report)[key] == expected


def test_scans_are_shown_as_scans(report):
    """The design answers these with a scan of a whole table: the table says so."""
    rows = _rows(report)
    for key in [
        ("volume_type_destroy", "admin"),
        ("reservation_expire", "admin, 4 expired"),
        ("volume_type_get_all", "admin"),
        ("volume_type_update", "admin, rename, 2 volumes"),
    ]:
        assert "scan" in rows[key][3], key


def test_doc_section_is_replaced(tmp_path):
    doc = tmp_path / "design.md"
    doc.write_text(
        f"# Design\n\nintro\n\n{requests.DOC_SECTION}\n\nold table\n\n## Later\n\nkept\n"
    )
    text = requests.replace_section(doc.read_text(), "new table\n")
    assert text == f"# Design\n\nintro\n\n{requests.DOC_SECTION}\n\nnew table\n\n## Later\n\nkept\n"
    last = requests.replace_section(f"{requests.DOC_SECTION}\n\nold\n", "new\n")
    assert last == f"{requests.DOC_SECTION}\n\nnew\n"


def test_an_option_gets_a_column_of_its_own(tmp_path):
    """``--option``: the design seed+OPTION measured too; its cell shows where it differs."""
    output = tmp_path / "options.md"
    assert (
        requests.main(["--option", "glance_map", "--option", "type_index", "--output", str(output)])
        == 0
    )
    text = output.read_text()
    assert "| seed+glance_map | seed+type_index |" in text
    rows = _rows(text)
    glance, typed = rows[("volume_glance_metadata_get", "admin")][6:8]
    assert glance == "1 get_item; 1 / 0; 0"  # the volume's map, no scan
    assert typed == "="
    assert "scan" not in rows[("volume_type_destroy", "admin")][7]
    assert rows[("volume_type_destroy", "admin")][3] == "1 scan + 1 update_item + 1 delete_item"


def test_the_design_document_shows_every_option():
    """docs/magnetodb-design.md's table is generated with ``--option all``."""
    from cinderdb.magneto.designs import OPTIONS
    from tests.validators.atomicity_support import DESIGN_DOC

    header = next(
        line
        for line in DESIGN_DOC.read_text().splitlines()
        if line.startswith("| function | case | SQL")
    )
    assert header.endswith("".join(f" seed+{option} |" for option in OPTIONS))
