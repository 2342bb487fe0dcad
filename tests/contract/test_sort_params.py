"""``process_sort_params``: Cinder's DBAPIProcessSortParamTestCase, rewritten (10 tests).

It is a pure function shared by both backends, so it is tested once, not per backend.
"""

from __future__ import annotations

import pytest

from cinderdb import exception
from cinderdb.base import process_sort_params


def test_process_sort_params_defaults():
    keys, dirs = process_sort_params([], [])
    assert keys == ["created_at", "id"]
    assert dirs == ["asc", "asc"]
    keys, dirs = process_sort_params(None, None)
    assert keys == ["created_at", "id"]
    assert dirs == ["asc", "asc"]


def test_process_sort_params_override_default_keys():
    keys, dirs = process_sort_params([], [], default_keys=["key1", "key2", "key3"])
    assert keys == ["key1", "key2", "key3"]
    assert dirs == ["asc", "asc", "asc"]


def test_process_sort_params_override_default_dir():
    keys, dirs = process_sort_params([], [], default_dir="dir1")
    assert keys == ["created_at", "id"]
    assert dirs == ["dir1", "dir1"]


def test_process_sort_params_override_default_key_and_dir():
    keys, dirs = process_sort_params(
        [], [], default_keys=["key1", "key2", "key3"], default_dir="dir1"
    )
    assert keys == ["key1", "key2", "key3"]
    assert dirs == ["dir1", "dir1", "dir1"]
    keys, dirs = process_sort_params([], [], default_keys=[], default_dir="dir1")
    assert keys == []
    assert dirs == []


def test_process_sort_params_non_default():
    keys, dirs = process_sort_params(["key1", "key2"], ["asc", "desc"])
    assert keys == ["key1", "key2", "created_at", "id"]
    assert dirs == ["asc", "desc", "asc", "asc"]


def test_process_sort_params_default():
    keys, dirs = process_sort_params(["id", "key2"], ["asc", "desc"])
    assert keys == ["id", "key2", "created_at"]
    assert dirs == ["asc", "desc", "asc"]
    keys, dirs = process_sort_params(["key1", "created_at", "key2"], ["asc", "desc", "asc"])
    assert keys == ["key1", "created_at", "key2", "id"]
    assert dirs == ["asc", "desc", "asc", "asc"]


def test_process_sort_params_default_dir():
    keys, dirs = process_sort_params(["key1", "key2"], [], default_dir="dir1")
    assert keys == ["key1", "key2", "created_at", "id"]
    assert dirs == ["dir1", "dir1", "dir1", "dir1"]


def test_process_sort_params_unequal_length():
    keys, dirs = process_sort_params(["key1", "key2", "key3"], ["desc"])
    assert keys == ["key1", "key2", "key3", "created_at", "id"]
    assert dirs == ["desc", "desc", "desc", "desc", "desc"]
    keys, dirs = process_sort_params(["key1", "key2", "key3"], ["asc", "desc"])
    assert dirs == ["asc", "desc", "asc", "asc", "asc"]
    keys, dirs = process_sort_params(["key1", "key2", "key3"], ["desc", "asc"])
    assert dirs == ["desc", "asc", "desc", "desc", "desc"]


def test_process_sort_params_extra_dirs_lengths():
    with pytest.raises(exception.InvalidInput):
        process_sort_params(["key1", "key2"], ["asc", "desc", "desc"])


def test_process_sort_params_invalid_sort_dir():
    for dirs in (["foo"], ["asc", "foo"], ["asc", "desc", "foo"]):
        with pytest.raises(exception.InvalidInput):
            process_sort_params(["key"], dirs)
