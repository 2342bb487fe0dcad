"""``python -m magnetodb.server.serve``: N worker processes over one store.

The parent reserves the port (a bound, non-listening SO_REUSEPORT socket, so
``--port 0`` works), forks the workers (each opens the store itself and listens
on its own SO_REUSEPORT socket, so the kernel spreads connections), waits until
every worker listens, logs one line and supervises: a worker that dies is
restarted; SIGTERM/SIGINT stop the workers gracefully (no new connections,
in-flight requests answered) and then the parent.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields

from magnetodb.server.app import App, load_tokens
from magnetodb.server.http import DEFAULT_MAX_BODY, HttpServer, make_listener, serve_socket
from magnetodb.storage import ENGINES, open_storage
from magnetodb.storage.etcd_settings import ETCD_MAX_REQUEST_BYTES
from magnetodb.storage.tables import DEFAULT_MAX_ITEM_BYTES

log = logging.getLogger("magnetodb.serve")


@dataclass
class Config:
    """Every setting of a server; the command-line options and ``ServerProcess`` derive from it."""

    host: str = "127.0.0.1"
    port: int = 8480
    data_dir: str | None = None
    workers: int = 1
    engine: str = "lmdb"
    #: the etcd engine's cluster: its members' client addresses, HOST:PORT,HOST:PORT,...
    etcd_endpoints: str | None = None
    #: the etcd cluster's ``--max-request-bytes``: a larger write is a 413
    etcd_max_request_bytes: int = ETCD_MAX_REQUEST_BYTES
    tokens: str | None = None
    sync: bool = False
    max_item_bytes: int = DEFAULT_MAX_ITEM_BYTES
    max_body: int = DEFAULT_MAX_BODY
    ready_file: str | None = None
    show_trace: bool = False


#: option help, by Config field (the defaults come from Config)
_HELP = {
    "host": "address to bind (default %(default)s)",
    "port": "port (default %(default)s; 0 = any)",
    "data_dir": "LMDB directory (required for --engine lmdb)",
    "workers": "worker processes (default %(default)s)",
    "engine": "storage engine (default %(default)s)",
    "etcd_endpoints": "the etcd cluster's members, HOST:PORT,HOST:PORT,... (--engine etcd)",
    "etcd_max_request_bytes": "the etcd cluster's --max-request-bytes (default %(default)s):"
    " a larger write is answered 413",
    "tokens": "JSON file {token: project_id}; enables X-Auth-Token checks",
    "sync": "fsync every LMDB commit (survives power loss; default: survives kill -9 only;"
    " etcd always fsyncs)",
    "max_item_bytes": "largest item (bytes, default %(default)s)",
    "max_body": "largest request body (bytes, default %(default)s)",
    "ready_file": "write {url, pid} here once every worker listens",
    "show_trace": "put tracebacks in 500 bodies",
}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m magnetodb.server.serve`` and ``cinderbench magnetodb serve``."""
    defaults = Config()
    for field in fields(Config):
        default = getattr(defaults, field.name)
        if isinstance(default, bool):
            parser.add_argument(_flag(field.name), action="store_true", help=_HELP[field.name])
        elif field.name == "engine":
            parser.add_argument(
                _flag(field.name), choices=ENGINES, default=default, help=_HELP[field.name]
            )
        else:
            kind = int if isinstance(default, int) else str
            parser.add_argument(
                _flag(field.name), type=kind, default=default, help=_HELP[field.name]
            )


def config_from_args(args: argparse.Namespace) -> Config:
    return Config(**{field.name: getattr(args, field.name) for field in fields(Config)})


def config_argv(cfg: Config) -> list[str]:
    """The command-line options that give ``cfg`` (settings at their default are left out)."""
    defaults = Config()
    argv: list[str] = []
    for field in fields(Config):
        value = getattr(cfg, field.name)
        if value == getattr(defaults, field.name):
            continue
        if isinstance(value, bool):
            argv.append(_flag(field.name))
        else:
            argv += [_flag(field.name), str(value)]
    return argv


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
            _open_storage(cfg).close()  # create the store before forking; fail early
        self._reserve_port()
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
            "tokens" if cfg.tokens else "off",
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


def serve(cfg: Config) -> int:
    if cfg.engine == "lmdb" and not cfg.data_dir:
        log.error("magnetodb: --data-dir is required with --engine lmdb")
        return 2
    if cfg.engine == "etcd" and not cfg.etcd_endpoints:
        log.error("magnetodb: --etcd-endpoints HOST:PORT,... is required with --engine etcd")
        return 2
    if cfg.etcd_endpoints and cfg.engine != "etcd":
        log.error("magnetodb: --etcd-endpoints is an option of --engine etcd")
        return 2
    if cfg.engine == "memory" and cfg.workers != 1:
        log.error("magnetodb: the memory engine cannot be shared; use --workers 1")
        return 2
    if cfg.workers < 1:
        log.error("magnetodb: --workers must be at least 1")
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
