"""Option ``glance_map``: a user's ``volume_glance_metadata_get_all`` (Cinder's list
operations) reads the project's volumes, not the whole glance table; the admin's still
scans. The records themselves are checked by the contract suite (tests/contract)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from cinderdb import RequestContext, get_admin_context, open_backend

ADMIN = get_admin_context()
USER = RequestContext(user_id="u", project_id="p1")


def _requests(api: Any, context: RequestContext) -> tuple[Counter[str], int, list[Any]]:
    """(requests by operation, items read, records) of one listing."""
    counts: Counter[str] = Counter()
    read = {"items": 0}

    def hook(stats: Any) -> None:
        counts.update([stats.operation])
        read["items"] += stats.items_read

    api.client.hooks.append(hook)
    try:
        records = api.volume_glance_metadata_get_all(context)
    finally:
        api.client.hooks.remove(hook)
    return counts, read["items"], records


def test_a_users_listing_reads_the_project_not_the_table() -> None:
    seed, mapped = (
        open_backend(f"magnetodb+inproc:///glance_{tag}?design={name}")
        for tag, name in (("seed", "seed"), ("map", "seed+glance_map"))
    )
    try:
        for api in (seed, mapped):
            api.create_schema()
            for n in range(30):
                project = "p1" if n < 3 else "p2"
                api.volume_create(ADMIN, {"id": f"v{n:02d}", "project_id": project})
                api.volume_glance_metadata_create(ADMIN, f"v{n:02d}", "image_id", f"img-{n}")
        seed_requests, seed_read, seed_records = _requests(seed, USER)
        requests, read, records = _requests(mapped, USER)
        assert records == seed_records
        assert len(records) == 3
        assert seed_requests["scan"] == 1
        assert seed_read >= 30
        assert requests == Counter({"query": 1, "batch_get_item": 1})
        assert read == 2 * 3  # the project's index entries and volumes
        assert _requests(mapped, ADMIN)[0]["scan"] == 1
    finally:
        seed.close()
        mapped.close()
