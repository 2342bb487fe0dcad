"""What the command-line tests share: how a user error looks."""

from __future__ import annotations


def assert_user_error(done, *words: str) -> None:
    """Exit code 2, one line on stderr naming ``words``, no traceback."""
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, (done.returncode, done.stdout[-2000:], done.stderr[-2000:])
    assert "Traceback" not in done.stderr + done.stdout
    assert len(lines) == 1, done.stderr
    for word in words:
        assert word in lines[0], lines[0]
