"""A call refused for its arguments sends no write (issue 13 item 6, the boundary half):
rejected creates with a lone surrogate used to leave index and inverted-metadata entries."""

from __future__ import annotations

import pytest

from cinderdb import exception
from cinderdb.magneto.tables import TABLES
from tests.magneto.support_types_quotas import scan

LONE = "\ud800"


def _items(api) -> dict[str, int]:
    counts = {table.name: len(scan(api, table.name)) for table in TABLES}
    return {name: count for name, count in counts.items() if count}


@pytest.mark.parametrize(
    "values",
    [
        {"display_name": LONE},
        {"host": "h" + LONE},
        {"metadata": {"k": LONE}},
        {"admin_metadata": {LONE: "v"}},
    ],
)
def test_a_refused_volume_create_leaves_no_item(api, ctx, values):
    before = _items(api)
    with pytest.raises(exception.InvalidInput):
        api.volume_create(ctx, {"project_id": "p", "host": "h", "metadata": {"a": "b"}, **values})
    assert _items(api) == before
