"""Fixtures of the gate tests: the CI's short compare (shared with the report tests)."""

from __future__ import annotations

import pytest

from tests.shortrun import ShortRun, short_compare


@pytest.fixture(scope="session")
def short_run(tmp_path_factory: pytest.TempPathFactory) -> ShortRun:
    return short_compare(tmp_path_factory)
