"""Design variants as data: names, the URL's ``?design=``, and the design a store records."""

from __future__ import annotations

import pytest

from cinderdb import exception, features_of, open_backend
from cinderdb.magneto.core import parse_url
from cinderdb.magneto.designs import (
    BUNDLES,
    OPTIONS,
    SEED_DESIGN,
    UnknownDesign,
    design_of,
    parse_design,
)
from cinderdb.magneto.tables import DUAL_WRITES, TABLES


def test_names_are_canonical() -> None:
    assert parse_design(None) is SEED_DESIGN
    assert parse_design("seed").name == "seed"
    assert parse_design("improved").options == BUNDLES["improved"]
    assert parse_design("improved").name == "improved"
    # options in OPTIONS order whatever the order given; a URL's "+" arrives as a space
    assert parse_design("seed+type_index+glance_map").name == "seed+glance_map+type_index"
    assert parse_design("type_index glance_map") is parse_design("seed+glance_map+type_index")


def test_unknown_option_lists_the_known_ones() -> None:
    with pytest.raises(UnknownDesign) as raised:
        parse_design("seed+nope")
    assert isinstance(raised.value, ValueError)
    for name in (*OPTIONS, *BUNDLES):
        assert name in str(raised.value)
    with pytest.raises(ValueError, match="nope"):
        features_of("magnetodb://127.0.0.1:1/p?design=seed+nope")


def test_design_adds_the_options_tables_and_pairs() -> None:
    seed = SEED_DESIGN
    assert [t.name for t in seed.tables[: len(TABLES)]] == [t.name for t in TABLES]
    assert seed.pairs == DUAL_WRITES
    typed = design_of(("type_index",))
    assert typed.has("type_index")
    assert not typed.has("glance_map")
    assert typed.table("volumes_by_type").range_key == "volume_id"
    assert "volumes_by_type" in typed.derived_tables
    assert [p.name for p in typed.pairs][-1] == "volumes_by_type"
    glance = design_of(("glance_map",))
    assert "volume_glance_metadata" in glance.table("volumes").extra
    assert "volume_glance_metadata" not in seed.table("volumes").extra


def test_urls_carry_the_design() -> None:
    assert parse_url("magnetodb://h:1,h:2/p?design=improved").design.name == "improved"
    assert parse_url("magnetodb+inproc:///p?design=seed+type_index").design.name == (
        "seed+type_index"
    )
    assert parse_url("magnetodb+inproc:///p").design is SEED_DESIGN


def test_a_store_holds_one_design(tmp_path) -> None:
    url = f"magnetodb+inproc:///p?data_dir={tmp_path}"
    with open_backend(f"{url}&design=seed+type_index") as api:
        api.create_schema()
        info = api.engine_info()
        assert (info["design"], info["design_options"]) == ("seed+type_index", ["type_index"])
        assert api.stored_design() == "seed+type_index"
    with pytest.raises(exception.DBError, match="holds design 'seed\\+type_index'"):
        open_backend(url)
    with open_backend(f"{url}&design=type_index") as api:
        assert api.client.describe_table("volumes_by_type")


def test_every_pair_of_a_loaded_design_validates_and_repairs() -> None:
    """A bulk-loaded ``improved`` store is clean; one broken copy of each option's pair is
    found (the validators read the store's design) and the repair restores it."""
    import dataclasses
    import datetime as dt

    from bench.workload.datasets import build_dataset
    from tests.validators.dualwrite_support import TINY
    from validators.dualwrite import validate
    from validators.reader import Reader
    from validators.repair import apply_plan, plan_repair

    with open_backend("magnetodb+inproc:///p?design=improved") as api:
        api.create_schema()
        usage = {"project_id": "px", "resource": "volumes", "in_use": 0, "reserved": 1}
        reservation = {"uuid": "u1", "project_id": "px", "resource": "volumes", "delta": 1}
        data = dataclasses.replace(
            build_dataset(TINY).data,
            quota_usages=[{**usage, "deleted": False}],
            reservations=[{**reservation, "expire": dt.datetime(2001, 1, 1), "deleted": False}],
        )
        api.bulk_load(data)
        assert len(api.client.scan("reservations_by_expire")["items"]) == 1
        reader = Reader(api.client)
        assert validate(reader).ok
        volume = next(v for v in data.volumes if v.get("volume_type_id"))
        api.client.delete_item(
            "volumes_by_type",
            {"volume_type_id": {"S": volume["volume_type_id"]}, "volume_id": {"S": volume["id"]}},
        )
        glance = next(g for g in data.glance_metadata if g.get("volume_id"))
        api.client.update_item(
            "volumes",
            {"id": {"S": glance["volume_id"]}},
            {"volume_glance_metadata": {"action": "DELETE"}},
        )
        api.client.put_item(
            "reservations_by_expire",
            {"bucket": {"S": "live"}, "expire_uuid": {"S": "2000-01-01T00:00:00\x1fnone"}},
        )
        found = validate(reader)
        assert {f.check for f in found.findings} == {
            "volumes_by_type",
            "volume_glance_map",
            "reservations_by_expire",
        }
        apply_plan(api.client, plan_repair(found.checks, found.findings))
        assert validate(reader).ok


def test_expire_index_finds_the_expired_reservations() -> None:
    """reservation_expire on ``expire_index`` releases what the seed's scan releases."""
    import datetime as dt

    from cinderdb import get_admin_context
    from cinderdb.quota import default_resources

    ctx = get_admin_context()
    usages = {}
    for design in ("seed", "seed+expire_index"):
        with open_backend(f"magnetodb+inproc:///p?design={design}") as api:
            api.create_schema()
            resources = default_resources()
            past = dt.datetime(2000, 1, 1)
            future = dt.datetime(2999, 1, 1)
            quotas = {"volumes": 10, "gigabytes": 100}
            for expire in (past, future):
                api.quota_reserve(
                    ctx, resources, quotas, {"volumes": 1}, expire, None, None, project_id="p1"
                )
            api.reservation_expire(ctx)
            usage = api.quota_usage_get(ctx, "p1", "volumes")
            usages[design] = (usage["in_use"], usage["reserved"])
            if design != "seed":
                assert len(api.client.scan("reservations_by_expire")["items"]) == 1
    assert usages["seed"] == usages["seed+expire_index"] == (0, 1)
