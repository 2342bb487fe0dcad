"""Headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``).

The report must render with no console error, no exception and no request
beyond ``file:`` and ``data:`` URLs; ``--dump-dom`` cannot tell that, the
DevTools protocol can. The pipe transport (messages separated by NUL on file
descriptors 3 and 4) needs no websocket library and no port.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--remote-debugging-pipe",
)
WIDTH = 1440
#: Chromium's largest capture; taller pages are cut (the report is well below it).
MAX_HEIGHT = 16000


def chromium_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Page:
    """What loading one page produced."""

    url: str
    console: list[dict[str, str]] = field(default_factory=list)  # {"level", "text"}
    exceptions: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    height: int = 0

    @property
    def errors(self) -> list[str]:
        """Console errors and uncaught exceptions: what "no console errors" forbids."""
        return [
            c["text"] for c in self.console if c["level"] in ("error", "assert")
        ] + self.exceptions


class Chromium:
    def __init__(self, binary: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="cinderbench-chromium-")
        to_child, self._write = os.pipe()
        self._read, from_child = os.pipe()

        def wire() -> None:  # in the child: fd 3 reads commands, fd 4 writes answers
            reading, writing = os.dup(to_child), os.dup(from_child)  # either may be 3 or 4
            os.dup2(reading, 3)
            os.dup2(writing, 4)
            os.set_inheritable(3, True)  # dup2 onto itself would keep close-on-exec
            os.set_inheritable(4, True)

        # close_fds=False: subprocess would close 3 and 4 after ``wire``; the other
        # descriptors Python opened are close-on-exec anyway.
        self.process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={self.profile}"],
            preexec_fn=wire,  # noqa: PLW1509 - only dup/dup2 in the child, no locks
            close_fds=False,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_child)
        os.close(from_child)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []

    # ---------------------------------------------------------------- protocol

    def _receive(self, deadline: float) -> dict[str, Any] | None:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._read], [], [], left)[0]:
                return None
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        timeout: float = 30,
    ) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            answer = self._receive(deadline)
            if answer is None:
                raise TimeoutError(f"{method}: no answer in {timeout} s")
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self._events.append(answer)

    def _drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (event := self._receive(deadline)) is not None:
            self._events.append(event)

    # ---------------------------------------------------------------- pages

    def load(
        self,
        url: str,
        evaluate: dict[str, str] | None = None,
        screenshot: Path | None = None,
        timeout: float = 30,
    ) -> Page:
        """Open ``url`` in a new tab, wait for its load event and settle, record what
        happened, evaluate ``{name: expression}``, optionally save a full-page PNG."""
        self._events.clear()
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Runtime", "Log", "Page", "Network"):
            self.call(f"{domain}.enable", session=session)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": WIDTH, "height": 900, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        self._events.clear()
        self.call("Page.navigate", {"url": url}, session=session)
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == "Page.loadEventFired" for e in self._events):
            event = self._receive(deadline)
            if event is None:
                raise TimeoutError(f"{url} did not load in {timeout} s")
            self._events.append(event)
            if event.get("method") == "Page.javascriptDialogOpening":  # an executed alert()
                self.call("Page.handleJavaScriptDialog", {"accept": False}, session=session)
        self._drain(0.5)
        page = Page(url)
        for name, expression in (evaluate or {}).items():
            result = self.call(
                "Runtime.evaluate",
                {"expression": expression, "returnByValue": True},
                session=session,
            )
            page.values[name] = result.get("result", {}).get("value")
        metrics = self.call("Page.getLayoutMetrics", session=session)
        page.height = int(metrics["cssContentSize"]["height"])
        if screenshot is not None:
            height = min(page.height, MAX_HEIGHT)
            self.call(
                "Emulation.setDeviceMetricsOverride",
                {"width": WIDTH, "height": height, "deviceScaleFactor": 1, "mobile": False},
                session=session,
            )
            shot = self.call(
                "Page.captureScreenshot",
                {"format": "png", "captureBeyondViewport": True},
                session=session,
                timeout=60,
            )
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
        self._drain(0.2)
        self._collect(page, session)
        self.call("Target.closeTarget", {"targetId": target})
        return page

    def _collect(self, page: Page, session: str) -> None:
        for event in self._events:
            if event.get("sessionId") != session:
                continue
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled":
                text = " ".join(
                    str(a.get("value", a.get("description", ""))) for a in params.get("args", [])
                )
                page.console.append({"level": params.get("type", ""), "text": text})
            elif method == "Log.entryAdded":
                entry = params.get("entry", {})
                page.console.append(
                    {"level": entry.get("level", ""), "text": entry.get("text", "")}
                )
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                page.exceptions.append(
                    str(details.get("exception", {}).get("description") or details.get("text"))
                )
            elif method == "Network.requestWillBeSent":
                page.requests.append(params.get("request", {}).get("url", ""))
            elif method == "Page.javascriptDialogOpening":
                page.dialogs.append(params.get("message", ""))

    def close(self) -> None:
        self.process.kill()
        self.process.wait(10)
        os.close(self._write)
        os.close(self._read)
        shutil.rmtree(self.profile, ignore_errors=True)
