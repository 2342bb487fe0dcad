"""Fixtures of the MagnetoDB-design tests: the backend in-process and over HTTP, an admin."""

from __future__ import annotations

import pytest

from cinderdb import get_admin_context
from tests.magneto.support_types_quotas import MAGNETO_BACKENDS, provisioned


@pytest.fixture(params=MAGNETO_BACKENDS)
def api(request):
    with provisioned(request, request.param) as backend:
        yield backend


@pytest.fixture
def ctx():
    return get_admin_context()
