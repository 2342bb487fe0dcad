"""The contract suite's fixtures: one ``api`` per backend, and the contexts tests call with.

Every test in ``tests/contract/`` takes ``api`` and runs once per backend in
``tests.provision.selected_backends()``. A test that needs a capability says
so with ``@pytest.mark.requires("flag")`` (a ``Features`` field), and is skipped,
with the reason shown, on a backend without it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cinderdb import RequestContext, get_admin_context
from cinderdb.base import Backend
from tests.provision import PROVISIONERS, selected_backends


@pytest.fixture(params=selected_backends())
def api(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """A fresh backend with an empty schema."""
    with PROVISIONERS[request.param](request) as backend:
        _apply_requirements(request, backend)
        yield backend


def _apply_requirements(request: pytest.FixtureRequest, backend: Backend) -> None:
    for marker in request.node.iter_markers("requires"):
        missing = [flag for flag in marker.args if not getattr(backend.features, flag)]
        if missing:
            pytest.skip(f"{backend.side} backend lacks {', '.join(missing)}")


@pytest.fixture
def ctx() -> RequestContext:
    """An admin context, as Cinder's own DB tests use."""
    return get_admin_context()


@pytest.fixture
def user_ctx() -> RequestContext:
    """A plain user of project ``fake_project``."""
    return RequestContext(user_id="fake_user", project_id="fake_project")


@pytest.fixture
def other_user_ctx() -> RequestContext:
    """A plain user of another project."""
    return RequestContext(user_id="other_user", project_id="other_project")
