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
