"""``python -m magnetodb.server.serve``: N worker processes over one store.

The parent reserves the port (a bound, non-listening SO_REUSEPORT socket, so
``--port 0`` works), forks the workers (each opens the store itself and listens
on its own SO_REUSEPORT socket, so the kernel spreads connections), waits until
every worker listens, logs one line and supervises: a worker that dies is
restarted; SIGTERM/SIGINT stop the workers gracefully (no new connections,
in-flight requests answered) and then the parent.

Before any of that it refuses, in one line and exit code 2, what cannot work or
should not: a data directory it cannot use, an unreadable token file, and an
address other machines reach with authentication off (``--tokens FILE``, or
``--insecure-no-auth`` to say so explicitly).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from magnetodb.server.app import App, load_tokens
from magnetodb.server.http import DEFAULT_MAX_BODY, HttpServer, make_listener, serve_socket
from magnetodb.storage import ENGINES, EngineError, open_storage
from magnetodb.storage.tables import DEFAULT_MAX_ITEM_BYTES

log = logging.getLogger("magnetodb.serve")


@dataclass
class Config:
    host: str = "127.0.0.1"
    port: int = 8480
    data_dir: str | None = None
    workers: int = 1
    engine: str = "lmdb"
    tokens: str | None = None
    insecure_no_auth: bool = False
    sync: bool = False
    max_item_bytes: int = DEFAULT_MAX_ITEM_BYTES
    max_body: int = DEFAULT_MAX_BODY
    ready_file: str | None = None
    show_trace: bool = False


def _int_in(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer in ``[low, high]``, else a one-line error.

    The wording is cinderbench.options.bounded's; magnetodb, the bottom floor, cannot import it.
    """

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an int: {text!r}") from None
        if value < low or (high is not None and value > high):
            span = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"must be {span}, not {text}")
        return value

    parse.__name__ = "int"
    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m magnetodb.server.serve`` and ``cinderbench magnetodb serve``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=_int_in(0, 65535), default=8480, help="port (default 8480; 0 = any)"
    )
    parser.add_argument("--data-dir", help="LMDB directory (required for --engine lmdb)")
    parser.add_argument(
        "--workers", type=_int_in(1), default=1, help="worker processes (default 1)"
    )
    parser.add_argument("--engine", choices=ENGINES, default="lmdb", help="storage engine")
    auth = parser.add_mutually_exclusive_group()
    auth.add_argument("--tokens", help="JSON file {token: project_id}; enables X-Auth-Token checks")
    auth.add_argument(
        "--insecure-no-auth",
        action="store_true",
        help="serve a --host other machines reach without tokens: anyone who reaches the "
        "port reads and deletes every project's tables",
    )
    parser.add_argument(
        "--sync",
        action="store_true",
        help="fsync every LMDB commit (survives power loss; default: survives kill -9 only)",
    )
    parser.add_argument(
        "--max-item-bytes",
        type=_int_in(1),
        default=DEFAULT_MAX_ITEM_BYTES,
        help="largest item (bytes)",
    )
    parser.add_argument(
        "--max-body", type=_int_in(1), default=DEFAULT_MAX_BODY, help="largest request body (bytes)"
    )
    parser.add_argument("--ready-file", help="write {url, pid} here once every worker listens")
    parser.add_argument("--show-trace", action="store_true", help="put tracebacks in 500 bodies")


def config_from_args(args: argparse.Namespace) -> Config:
    return Config(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        workers=args.workers,
        engine=args.engine,
        tokens=args.tokens,
        insecure_no_auth=args.insecure_no_auth,
        sync=args.sync,
        max_item_bytes=args.max_item_bytes,
        max_body=args.max_body,
        ready_file=args.ready_file,
        show_trace=args.show_trace,
    )


def _open_storage(cfg: Config):  # type: ignore[no-untyped-def]
    options: dict[str, object] = {"max_item_bytes": cfg.max_item_bytes}
    if cfg.engine == "lmdb":
        options["sync"] = cfg.sync
    return open_storage(cfg.engine, cfg.data_dir, **options)


def run_worker(cfg: Config, port: int, ready_fd: int | None) -> int:
    """One worker process: its own store handle, listener and event loop."""
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    storage = _open_storage(cfg)
    app = App(storage, load_tokens(cfg.tokens), show_trace=cfg.show_trace)
    server = HttpServer(app, cfg.max_body)
    sock = make_listener(cfg.host, port)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if ready_fd is not None:
        os.write(ready_fd, b"1")
        os.close(ready_fd)
    try:
        loop.run_until_complete(serve_socket(server, sock, stop))
    finally:
        sock.close()
        storage.close()
        loop.close()
    return 0


class Supervisor:
    """The parent process: forks, watches and stops the workers."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.children: dict[int, int] = {}  # pid -> worker number
        self.stopping = False
        self.port = cfg.port
        self.reserve: socket.socket | None = None

    def _reserve_port(self) -> None:
        family = socket.AF_INET6 if ":" in self.cfg.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((self.cfg.host, self.cfg.port))
        self.port = sock.getsockname()[1]
        self.reserve = sock

    def _fork(self, number: int, ready_fd: int | None) -> int:
        pid = os.fork()
        if pid == 0:  # child
            code = 1
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                if self.reserve is not None:
                    self.reserve.close()
                code = run_worker(self.cfg, self.port, ready_fd)
            except BaseException:
                log.exception("worker %d failed", number)
            finally:
                os._exit(code)
        self.children[pid] = number
        return pid

    def _on_signal(self, signum: int, _frame: object) -> None:
        if not self.stopping:
            log.info("magnetodb: %s received, stopping workers", signal.Signals(signum).name)
        self.stopping = True
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def run(self) -> int:
        cfg = self.cfg
        if cfg.engine == "lmdb":
            try:  # create the store before forking; fail early
                _open_storage(cfg).close()
            except (OSError, EngineError) as exc:
                log.error("magnetodb: --data-dir %s: cannot open the store: %s", cfg.data_dir, exc)
                return 2
        try:
            self._reserve_port()
        except OSError as exc:
            log.error("magnetodb: cannot bind %s:%d: %s", cfg.host, cfg.port, exc.strerror or exc)
            return 2
        r, w = os.pipe()
        for n in range(cfg.workers):
            self._fork(n, w)
        os.close(w)
        got = b""
        deadline = time.monotonic() + 60
        while len(got) < cfg.workers and time.monotonic() < deadline:
            chunk = os.read(r, cfg.workers)
            if not chunk:
                break
            got += chunk
        os.close(r)
        if len(got) < cfg.workers:
            log.error("magnetodb: workers failed to start")
            self._on_signal(signal.SIGTERM, None)
            self._reap_all()
            return 1
        url = f"http://{cfg.host}:{self.port}"
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        log.warning(
            "magnetodb serving %s engine=%s data_dir=%s workers=%d sync=%s auth=%s pid=%d",
            url,
            cfg.engine,
            cfg.data_dir or "-",
            cfg.workers,
            cfg.sync,
            "tokens" if cfg.tokens else ("off-insecure" if cfg.insecure_no_auth else "off"),
            os.getpid(),
        )
        if cfg.ready_file:
            tmp = cfg.ready_file + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump({"url": url, "pid": os.getpid(), "port": self.port}, f)
            os.replace(tmp, cfg.ready_file)
        return self._supervise()

    def _supervise(self) -> int:
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            number = self.children.pop(pid, None)
            if number is None or self.stopping:
                continue
            log.error(
                "magnetodb: worker %d (pid %d) exited with status %d; restarting",
                number,
                pid,
                status,
            )
            time.sleep(0.1)
            if not self.stopping:  # a stop may have arrived during the pause
                self._fork(number, None)
        if self.reserve is not None:
            self.reserve.close()
        log.warning("magnetodb stopped pid=%d", os.getpid())
        return 0

    def _reap_all(self) -> None:
        while self.children:
            try:
                pid, _ = os.wait()
            except ChildProcessError:
                break
            self.children.pop(pid, None)


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` stands for is a loopback one (only this machine)."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return False
    try:
        return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)
    except ValueError:
        return False


def data_dir_problem(path: str) -> str | None:
    """Why an LMDB store cannot live in ``path``, as the end of a sentence; None if it can."""
    full = os.path.abspath(path)
    if os.path.exists(full):
        if not os.path.isdir(full):
            return "is not a directory"
        if not os.access(full, os.W_OK | os.X_OK):
            return "is not writable"
        return None
    parent = os.path.dirname(full)
    if not os.path.isdir(parent):
        return f"cannot be created: its parent {parent} does not exist"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"cannot be created: its parent {parent} is not writable"
    return None


def config_problem(cfg: Config) -> str | None:
    """What in ``cfg`` the server must refuse before it starts, in one line; None if nothing."""
    if cfg.engine == "lmdb" and not cfg.data_dir:
        return "--data-dir is required with --engine lmdb"
    if cfg.engine == "memory" and cfg.workers != 1:
        return "the memory engine cannot be shared; use --workers 1"
    if cfg.workers < 1:
        return "--workers must be at least 1"
    if cfg.engine == "lmdb" and cfg.data_dir:
        problem = data_dir_problem(cfg.data_dir)
        if problem:
            return f"--data-dir {cfg.data_dir} {problem}"
    if cfg.tokens:
        try:
            load_tokens(cfg.tokens)
        except OSError as exc:
            return f"--tokens {cfg.tokens}: {exc.strerror or exc}"
        except ValueError as exc:
            return f"--tokens {cfg.tokens}: {exc}"
    elif not cfg.insecure_no_auth and not is_loopback(cfg.host):
        return (
            f"refusing to serve {cfg.host} without authentication: other machines reach it; "
            "give --tokens FILE, or --insecure-no-auth to let anyone who reaches the port "
            "read and delete every project's tables"
        )
    return None


def serve(cfg: Config) -> int:
    problem = config_problem(cfg)
    if problem is not None:
        log.error("magnetodb: %s", problem)
        return 2
    return Supervisor(cfg).run()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="magnetodb-serve", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    return serve(config_from_args(args))


if __name__ == "__main__":
    sys.exit(main())
