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
from dataclasses import dataclass, field, fields
from typing import Any

from magnetodb.server.app import App, load_tokens
from magnetodb.server.http import DEFAULT_MAX_BODY, HttpServer, make_listener, serve_socket
from magnetodb.storage import ENGINES, EngineError, open_storage
from magnetodb.storage.etcd_settings import ETCD_MAX_REQUEST_BYTES
from magnetodb.storage.tables import DEFAULT_MAX_ITEM_BYTES

log = logging.getLogger("magnetodb.serve")


def _setting(default: Any, help: str, *, low: int | None = None, high: int | None = None,
             choices: Sequence[str] | None = None) -> Any:  # fmt: skip
    """A ``Config`` field: its default, its help text and its range, in one place."""
    metadata = {"help": help, "low": low, "high": high, "choices": choices}
    return field(default=default, metadata=metadata)


@dataclass
class Config:
    """The server's settings, each defined once: the command line (``add_arguments``),
    ``ServerProcess``'s command (``to_argv``) and the workers all read them here."""

    host: str = _setting("127.0.0.1", "address to bind")
    port: int = _setting(8480, "port (0: any free port)", low=0, high=65535)
    data_dir: str | None = _setting(None, "LMDB directory (required for --engine lmdb)")
    workers: int = _setting(1, "worker processes", low=1)
    engine: str = _setting("lmdb", "storage engine", choices=ENGINES)
    etcd_endpoints: str | None = _setting(
        None, "the etcd cluster's members, HOST:PORT,HOST:PORT,... (--engine etcd)"
    )
    etcd_max_request_bytes: int = _setting(
        ETCD_MAX_REQUEST_BYTES,
        "the etcd cluster's --max-request-bytes: a larger write is answered 413",
        low=1,
    )
    tokens: str | None = _setting(None, "JSON file {token: project_id}; enables X-Auth-Token")
    insecure_no_auth: bool = _setting(
        False,
        "serve a --host other machines reach without tokens: anyone who reaches the port "
        "reads and deletes every project's tables",
    )
    sync: bool = _setting(
        False,
        "fsync every LMDB commit (survives power loss; default: survives kill -9 only;"
        " etcd always fsyncs)",
    )
    max_item_bytes: int = _setting(DEFAULT_MAX_ITEM_BYTES, "largest item (bytes)", low=1)
    max_body: int = _setting(DEFAULT_MAX_BODY, "largest request body (bytes)", low=1)
    ready_file: str | None = _setting(None, "write {url, pid} here once every worker listens")
    show_trace: bool = _setting(False, "put tracebacks in 500 bodies")

    def to_argv(self) -> list[str]:
        """The options that give this config on the command line (those off their default)."""
        argv: list[str] = []
        for setting in fields(self):
            value = getattr(self, setting.name)
            if value == setting.default:
                continue
            flag = _flag(setting.name)
            argv += [flag] if isinstance(value, bool) else [flag, str(value)]
        return argv


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _bounded_int(low: int | None, high: int | None) -> Callable[[str], int]:
    """An argparse type: an integer in ``[low, high]``, else one line naming the range."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if (low is not None and value < low) or (high is not None and value > high):
            span = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"must be {span}, not {text}")
        return value

    parse.__name__ = "int"
    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m magnetodb.server.serve`` and ``cinderbench magnetodb serve``:
    one per ``Config`` field, with its default, help and range."""
    for setting in fields(Config):
        meta, default = setting.metadata, setting.default
        if isinstance(default, bool):
            parser.add_argument(_flag(setting.name), action="store_true", help=meta["help"])
            continue
        options: dict[str, Any] = {"default": default, "help": meta["help"]}
        if meta["choices"]:
            options["choices"] = meta["choices"]
        if isinstance(default, int):
            options["type"] = _bounded_int(meta["low"], meta["high"])
        if default is not None:
            options["help"] += f" (default {default})"
        parser.add_argument(_flag(setting.name), **options)


def config_from_args(args: argparse.Namespace) -> Config:
    return Config(**{setting.name: getattr(args, setting.name) for setting in fields(Config)})


def _open_storage(cfg: Config):  # type: ignore[no-untyped-def]
    options: dict[str, object] = {"max_item_bytes": cfg.max_item_bytes}
    if cfg.engine == "lmdb":
        options["sync"] = cfg.sync
    if cfg.engine == "etcd":
        options["endpoints"] = cfg.etcd_endpoints
        options["max_request_bytes"] = cfg.etcd_max_request_bytes
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
        # before the first worker can answer: a SIGTERM as soon as one serves stops them all
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
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
        if self.stopping:  # stopped while the workers started
            self._reap_all()
            return 0
        if len(got) < cfg.workers:
            log.error("magnetodb: workers failed to start")
            self._on_signal(signal.SIGTERM, None)
            self._reap_all()
            return 1
        url = f"http://{cfg.host}:{self.port}"
        store = (
            f"etcd_endpoints={cfg.etcd_endpoints}"
            if cfg.engine == "etcd"
            else f"data_dir={cfg.data_dir or '-'}"
        )
        log.warning(
            "magnetodb serving %s engine=%s %s workers=%d sync=%s auth=%s pid=%d",
            url,
            cfg.engine,
            store,
            cfg.workers,
            cfg.sync or cfg.engine == "etcd",  # etcd fsyncs every commit, always
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
    if cfg.engine == "etcd" and not cfg.etcd_endpoints:
        return "--etcd-endpoints HOST:PORT,... is required with --engine etcd"
    if cfg.etcd_endpoints and cfg.engine != "etcd":
        return "--etcd-endpoints is an option of --engine etcd"
    if cfg.tokens and cfg.insecure_no_auth:
        return "--tokens and --insecure-no-auth exclude each other"
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
