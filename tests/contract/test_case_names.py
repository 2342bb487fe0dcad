"""Names that differ only by case (issue 13 item 8): each backend's answer, stated.

MySQL compares text with the schema's collation, ``utf8mb4_general_ci`` (Liberty's
``utf8_general_ci``): the type ``gold`` is found by ``GOLD``, a second type ``GOLD``
is a duplicate, and a ``display_name`` filter ``web`` matches ``Web``. SQLite and
the MagnetoDB design compare exactly. Neither is a bug of either side: it is a
semantic difference of the designs, which the differential replay names as such.
"""

from __future__ import annotations

import pytest

from cinderdb import exception, features_of
from tests.provision import MYSQL_SERVER_URL


@pytest.mark.parametrize(
    ("url", "insensitive"),
    [
        (f"{MYSQL_SERVER_URL}/cinder", True),
        ("sqlite://", False),
        ("sqlite:///cinder.sqlite", False),
        ("magnetodb://127.0.0.1:8480/cinder", False),
        ("magnetodb+inproc:///cinder", False),
    ],
)
def test_each_backend_declares_how_it_compares_names(url, insensitive):
    assert features_of(url).case_insensitive_names is insensitive


def test_a_type_name_differing_only_by_case(api, ctx):
    gold = api.volume_type_create(ctx, {"name": "gold"})
    if api.features.case_insensitive_names:
        assert api.volume_type_get_by_name(ctx, "GOLD")["id"] == gold["id"]
        with pytest.raises(exception.VolumeTypeExists):
            api.volume_type_create(ctx, {"name": "GOLD"})
        assert [t["id"] for t in api.volume_types_get_by_name_or_id(ctx, ["Gold"])] == [gold["id"]]
    else:
        with pytest.raises(exception.VolumeTypeNotFoundByName):
            api.volume_type_get_by_name(ctx, "GOLD")
        upper = api.volume_type_create(ctx, {"name": "GOLD"})
        assert upper["id"] != gold["id"]
        assert api.volume_type_get_by_name(ctx, "GOLD")["id"] == upper["id"]
        assert sorted(api.volume_type_get_all(ctx)) == ["GOLD", "gold"]


def test_a_display_name_filter_differing_only_by_case(api, ctx):
    api.volume_create(ctx, {"id": "v1", "display_name": "web"})
    api.volume_create(ctx, {"id": "v2", "display_name": "Web"})
    found = {v["id"] for v in api.volume_get_all(ctx, None, None, filters={"display_name": "web"})}
    assert found == ({"v1", "v2"} if api.features.case_insensitive_names else {"v1"})
