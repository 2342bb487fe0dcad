"""What a store promises beyond one backend object, on the backends whose ``Features`` say
so: a write outlives the backend that made it, and another process sees it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cinderdb import get_admin_context, open_backend

READ_IN_ANOTHER_PROCESS = """
import sys
from cinderdb import get_admin_context, open_backend
with open_backend(sys.argv[1]) as backend:
    print(backend.volume_get(get_admin_context(), sys.argv[2])["display_name"])
"""


@pytest.mark.requires("persistent")
def test_a_write_outlives_the_backend_that_made_it(api, ctx):
    volume = api.volume_create(ctx, {"display_name": "kept", "size": 1})
    with open_backend(api.url) as reopened:
        assert reopened.volume_get(get_admin_context(), volume["id"])["display_name"] == "kept"


@pytest.mark.requires("multi_process")
def test_another_process_sees_the_same_store(api, ctx):
    volume = api.volume_create(ctx, {"display_name": "shared", "size": 1})
    done = subprocess.run(
        [sys.executable, "-c", READ_IN_ANOTHER_PROCESS, api.url, volume["id"]],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "shared"), done.stderr
