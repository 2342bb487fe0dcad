"""Keys of any length (``cinderdb/magneto/keys.py``): which values are stored in digest form,
that every stored key fits LMDB's 511 bytes, and that a read checks it got the value asked
for (a SHA-256 collision, injected by replacing the digest function, finds nothing)."""

from __future__ import annotations

import pytest

from cinderdb import exception
from cinderdb.magneto import keys
from cinderdb.magneto.tables import TABLE_BY_NAME
from magnetodb.storage.tables import MAX_STORAGE_KEY_BYTES

WIDE = "\U0001d11e"  # four bytes in UTF-8
#: What a storage key holds besides the encoded parts (``magnetodb.storage.tables``).
PREFIX_BYTES = 17


@pytest.mark.parametrize(
    "value",
    [
        "",
        "p" * 238,  # 240 encoded: the longest stored as is
        "\x00" * 119,  # NULs are doubled: 240 encoded
        WIDE * 59,  # 238 bytes + terminator
    ],
)
def test_values_that_fit_are_stored_as_they_are(value: str) -> None:
    assert keys.key_part(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "p" * 239,
        "\x00" * 120,
        WIDE * 60,
        WIDE * 255,
        "x" * 100_000,
        "sha256:short",  # looks like a digest form: stored as one, so none is ambiguous
    ],
)
def test_longer_values_and_lookalikes_are_stored_in_digest_form(value: str) -> None:
    stored = keys.key_part(value)
    assert stored.startswith(keys.DIGEST_MARK)
    assert stored != value
    assert keys.encoded_size(stored) <= keys.MAX_PART_BYTES


def test_two_longest_parts_make_a_key_the_store_takes() -> None:
    parts = [keys.key_part(WIDE * 255), keys.key_part("\x00" * 255)]
    assert PREFIX_BYTES + sum(keys.encoded_size(p) for p in parts) <= MAX_STORAGE_KEY_BYTES
    assert PREFIX_BYTES + 2 * keys.MAX_PART_BYTES <= MAX_STORAGE_KEY_BYTES


def test_distinct_long_values_have_distinct_stored_keys() -> None:
    values = [WIDE * 255, WIDE * 254 + "a", "a" + WIDE * 254, "sha256:" + WIDE * 200]
    assert len({keys.key_part(v) for v in values}) == len(values)


def test_an_item_keeps_the_values_of_its_digested_key_parts() -> None:
    quotas = TABLE_BY_NAME["quotas"]
    item = {"project_id": {"S": WIDE * 255}, "resource": {"S": "volumes"}, "hard_limit": {"N": "1"}}
    stored = keys.encode_item(quotas, item)
    assert stored["project_id"]["S"] == keys.key_part(WIDE * 255)
    assert stored["project_id" + keys.FULL] == {"S": WIDE * 255}
    assert "resource" + keys.FULL not in stored
    assert keys.decode_item(quotas, stored) == item
    corrupt = {**stored, "project_id" + keys.FULL: {"S": "another"}}
    with pytest.raises(exception.DBError):
        keys.decode_item(quotas, corrupt)


def test_a_page_is_decoded_item_by_item_only_when_one_holds_a_digested_value() -> None:
    quotas = TABLE_BY_NAME["quotas"]
    short = {"project_id": {"S": "p1"}, "resource": {"S": "volumes"}, "hard_limit": {"N": "1"}}
    page = [short, dict(short)]
    assert keys.decode_items(quotas, page) is page
    long = {**short, "project_id": {"S": WIDE * 255}}
    decoded = keys.decode_items(quotas, [short, keys.encode_item(quotas, long)])
    assert decoded == [short, long]
    corrupt = {**keys.encode_item(quotas, long), "project_id" + keys.FULL: {"S": "another"}}
    with pytest.raises(exception.DBError):
        keys.decode_items(quotas, [short, corrupt])


def test_a_read_checks_it_got_the_value_asked_for(api, ctx, monkeypatch) -> None:
    """Two projects whose stored keys collide: neither finds the other's limits or usages."""
    first, second = "p" + WIDE * 254, "q" + WIDE * 254
    digest_form = keys.key_part

    def colliding(value: str) -> str:
        return keys.DIGEST_MARK + "0" * 64 + ":" if value in (first, second) else digest_form(value)

    monkeypatch.setattr(keys, "key_part", colliding)
    api.quota_create(ctx, first, "volumes", 3)
    assert api.quota_get(ctx, first, "volumes")["hard_limit"] == 3
    with pytest.raises(exception.ProjectQuotaNotFound):
        api.quota_get(ctx, second, "volumes")
    assert api.quota_get_all_by_project(ctx, second) == {"project_id": second}
    assert api.volume_get_all_by_project(ctx, second, None, None) == []
