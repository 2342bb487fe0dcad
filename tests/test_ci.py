"""CI runs the README's test command, verbatim, and that command sets up what the tests
need on a fresh machine (issue 13 item 12)."""

from __future__ import annotations

import os
import re
import stat
import subprocess

from tests.shortrun import REPO

MARKER = "<!-- test-command -->"


def readme_test_command() -> str:
    """The command in the code block right after the README's test-command marker."""
    after = (REPO / "README.md").read_text().split(MARKER, 1)[1]
    block = re.search(r"```[^\n]*\n(.*?)\n```", after, re.S)
    assert block is not None
    return block.group(1).strip()


def test_the_readme_test_command_is_ci_test():
    assert readme_test_command() == "bash ci/test"


def test_ci_runs_exactly_the_readme_command(tmp_path):
    # A stand-in `bash` first on PATH records what .ci/run evaluates, without running it.
    fake = tmp_path / "bash"
    fake.write_text(f'#!/bin/sh\necho "$@" > {tmp_path / "ran"}\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    done = subprocess.run(
        ["/bin/bash", str(REPO / ".ci" / "run")], env=env, capture_output=True, text=True,
        timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "bash " + (tmp_path / "ran").read_text().strip() == readme_test_command()


def test_ci_test_sets_up_what_the_tests_use():
    script = (REPO / "ci" / "test").read_text()
    installed = {
        package
        for line in re.findall(r"^\s*apt_install (.+)$", script, re.M)
        for package in line.split()
    }
    # the report tests render in Chromium; the compose test runs mariadbd's option check
    assert {"chromium", "mariadb-server"} <= installed
    assert 'pip install --quiet --disable-pip-version-check -e ".[test]"' in script
    assert script.rstrip().endswith('exec python -m pytest -n 2 -q "$@"')
