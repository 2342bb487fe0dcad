"""Fixtures of the report tests: headless Chromium, an artifact folder (the CI's short
compare is every package's: ``tests/conftest.py``)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reports.chromium import Chromium, chromium_binary


@pytest.fixture(scope="session")
def chromium() -> Iterator[Chromium]:
    """Debian's chromium; no skip: ci/test installs it, and a skipped render test would
    hide that nobody looked at the page."""
    binary = chromium_binary()
    if binary is None:
        pytest.fail("chromium is not installed: apt-get install -y chromium (ci/test does)")
    browser = Chromium(binary)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots go: $CINDERBENCH_ARTIFACTS, else a fixed folder in the system's temp
    dir (pytest's own temp dirs are rotated after three sessions)."""
    folder = os.environ.get("CINDERBENCH_ARTIFACTS")
    path = Path(folder) if folder else Path(tempfile.gettempdir()) / "cinderbench-artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path
