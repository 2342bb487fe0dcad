"""What ``magnetodb serve`` refuses before it starts, in one line and exit code 2: an
address other machines reach with authentication off, a token file it cannot read, a
data directory it cannot use; and the refused address served once auth is on or waived."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from magnetodb.client import connect
from magnetodb.errors import Unauthorized
from magnetodb.server.process import ServerProcess
from magnetodb.server.serve import is_loopback
from tests.magnetodb.support import make_table

SERVE = [sys.executable, "-m", "magnetodb.server.serve", "--port", "0"]


def _run(command: list[str]) -> tuple[int | None, str]:
    """(exit code, stderr) of ``command``; a server that starts instead is killed, workers too."""
    proc = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, err = proc.communicate()
        return None, err
    return proc.returncode, err


def _refused(args: list[str], *, wrap: list[str] | None = None) -> str:
    """Run serve with ``args`` (under ``wrap``), expect exit code 2; its one line of stderr."""
    code, err = _run([*(wrap or []), *SERVE, *args])
    assert code == 2, (code, err)
    lines = err.strip().splitlines()
    assert "Traceback" not in err
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_a_reachable_address_without_tokens_is_refused(tmp_path: Path, host: str) -> None:
    line = _refused(["--host", host, "--data-dir", str(tmp_path / "d")])
    assert f"refusing to serve {host} without authentication" in line
    assert "--tokens FILE" in line
    assert "--insecure-no-auth" in line
    assert not (tmp_path / "d").exists()


def test_the_cinderbench_command_refuses_alike(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "cinderbench", "magnetodb", "serve", "--port", "0"]
    code, err = _run([*command, "--host", "0.0.0.0", "--data-dir", str(tmp_path / "d")])
    assert code == 2
    assert err.count("\n") == 1
    assert "refusing to serve 0.0.0.0 without authentication" in err


def test_loopback_names() -> None:
    for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "192.0.2.1", "no-such-host.invalid"):
        assert not is_loopback(host), host


def test_a_reachable_address_is_served_with_tokens_or_the_explicit_waiver(tmp_path: Path) -> None:
    with ServerProcess(str(tmp_path / "a"), host="0.0.0.0", tokens={"t1": "p1"}) as srv:
        assert "auth=tokens" in srv.log_text()
        with pytest.raises(Unauthorized):
            connect(srv.url, "p1").list_tables()
        make_table(connect(srv.url, "p1", token="t1"), "open_tbl", range_key=None)
    with ServerProcess(str(tmp_path / "b"), host="0.0.0.0", insecure_no_auth=True) as srv:
        assert "auth=off-insecure" in srv.log_text()
        make_table(connect(srv.url, "p1"), "open_tbl", range_key=None)


def test_tokens_and_the_waiver_exclude_each_other(tmp_path: Path) -> None:
    code, err = _run(
        [*SERVE, "--data-dir", str(tmp_path / "d"), "--tokens", "t.json", "--insecure-no-auth"]
    )
    assert code == 2
    assert "--tokens and --insecure-no-auth exclude each other" in err


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (None, "No such file or directory"),
        ("not json", "Expecting value"),
        ('["a"]', "expected a JSON object of token -> project id"),
        ('{"t": 1}', "expected a JSON object of token -> project id"),
    ],
)
def test_an_unusable_token_file_is_refused(tmp_path: Path, content: str | None, said: str) -> None:
    tokens = tmp_path / "tokens.json"
    if content is not None:
        tokens.write_text(content)
    line = _refused(["--data-dir", str(tmp_path / "d"), "--tokens", str(tokens)])
    assert f"--tokens {tokens}: " in line
    assert said in line


def test_a_data_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_text("not a directory")
    assert _refused(["--data-dir", str(path)]).endswith(f"--data-dir {path} is not a directory")


def test_a_data_dir_under_a_missing_parent_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "data"
    line = _refused(["--data-dir", str(path)])
    assert line.endswith(f"cannot be created: its parent {path.parent} does not exist")
    assert not path.parent.exists()


def _read_only(mount_point: Path) -> list[str]:
    """A command prefix that runs the rest with a read-only file system on ``mount_point``."""
    unshare = shutil.which("unshare")
    assert unshare, "util-linux's unshare is needed to mount a read-only file system"
    prefix = [unshare, "--user", "--map-root-user", "--mount", "sh", "-c"]
    script = f'mount -t tmpfs -o ro none "{mount_point}" && exec "$@"'
    return [*prefix, script, "sh"]


@pytest.mark.parametrize("inside", [False, True], ids=["the-directory", "its-parent"])
def test_a_read_only_data_dir_is_refused(tmp_path: Path, inside: bool) -> None:
    mount_point = tmp_path / "ro"
    mount_point.mkdir()
    path = mount_point / "data" if inside else mount_point
    line = _refused(["--data-dir", str(path)], wrap=_read_only(mount_point))
    if inside:
        assert line.endswith(f"cannot be created: its parent {mount_point} is not writable")
    else:
        assert line.endswith(f"--data-dir {path} is not writable")


def test_a_data_dir_lmdb_cannot_open_is_refused(tmp_path: Path) -> None:
    (tmp_path / "d" / "data.mdb").mkdir(parents=True)  # where LMDB's file goes, a directory
    line = _refused(["--data-dir", str(tmp_path / "d")])
    assert f"--data-dir {tmp_path / 'd'}: cannot open the store: LMDB cannot open" in line


def test_a_project_with_dashes_opens_with_its_token(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({"t2": "p-2"}))
    with ServerProcess(str(tmp_path / "d"), tokens=str(tokens)) as srv:
        make_table(connect(srv.url, "p-2", token="t2"), "tok_tbl", range_key=None)
