"""``ServerProcess``: the MagnetoDB server as a subprocess, for tests and ``cinderbench compare``.

    with ServerProcess(data_dir, workers=2) as srv:
        client = connect(srv.url, project="p1")

The server runs in its own session (process group), so ``kill()`` can SIGKILL
the supervisor and every worker at once, as a crash would.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from types import TracebackType
from typing import IO


class ServerProcess:
    def __init__(
        self,
        data_dir: str | None,
        workers: int = 1,
        engine: str = "lmdb",
        host: str = "127.0.0.1",
        port: int = 0,
        tokens: dict[str, str] | str | None = None,
        *,
        insecure_no_auth: bool = False,
        sync: bool = False,
        max_item_bytes: int | None = None,
        startup_timeout: float = 30.0,
        log_path: str | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.workers = workers
        self.engine = engine
        self.host = host
        self.port = port
        self.tokens = tokens
        self.insecure_no_auth = insecure_no_auth
        self.sync = sync
        self.max_item_bytes = max_item_bytes
        self.startup_timeout = startup_timeout
        self._scratch = tempfile.mkdtemp(prefix="magnetodb-proc-")
        self.log_path = log_path or os.path.join(self._scratch, "server.log")
        self.url = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def command(self, ready_file: str) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "magnetodb.server.serve",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--engine",
            self.engine,
            "--ready-file",
            ready_file,
        ]
        if self.data_dir:
            cmd += ["--data-dir", self.data_dir]
        if self.sync:
            cmd.append("--sync")
        if self.max_item_bytes is not None:
            cmd += ["--max-item-bytes", str(self.max_item_bytes)]
        if self.tokens is not None:
            path = self.tokens
            if isinstance(self.tokens, dict):
                path = os.path.join(self._scratch, "tokens.json")
                with open(path, "w", encoding="utf-8") as f:
                    json.dump(self.tokens, f)
            cmd += ["--tokens", str(path)]
        if self.insecure_no_auth:
            cmd.append("--insecure-no-auth")
        return cmd

    def start(self) -> ServerProcess:
        """Start the server and wait until /healthcheck answers."""
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError("server already running")
        ready = os.path.join(self._scratch, f"ready-{time.monotonic_ns()}.json")
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the child's life
        self.proc = subprocess.Popen(
            self.command(ready),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + self.startup_timeout
        while not os.path.exists(ready):
            if self.proc.poll() is not None:
                raise RuntimeError(f"magnetodb server exited early:\n{self.log_text()}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"magnetodb server did not start:\n{self.log_text()}")
            time.sleep(0.02)
        with open(ready, encoding="utf-8") as f:
            info = json.load(f)
        self.url = info["url"]
        self.port = int(info["port"])
        while not self._healthy():
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"magnetodb server not healthy:\n{self.log_text()}")
            time.sleep(0.02)
        return self

    def _healthy(self) -> bool:
        try:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=2)
            conn.request("GET", "/healthcheck")
            ok = conn.getresponse().status == 200
            conn.close()
            return ok
        except OSError:
            return False

    def log_text(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def stop(self, timeout: float = 20.0) -> int | None:
        """Graceful stop (SIGTERM); SIGKILL if it does not exit within ``timeout``."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_log()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL the supervisor and all workers (a crash, for durability tests)."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        # workers are in the same group, but wait until none is left holding the port
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.02)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def cleanup(self) -> None:
        shutil.rmtree(self._scratch, ignore_errors=True)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        self.cleanup()
