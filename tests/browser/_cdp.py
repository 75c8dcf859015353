"""A headless Chromium driven over the Chrome DevTools protocol (a websocket), no browser download.

``Browser`` starts the system ``chromium`` with a fresh ``--user-data-dir`` and
``--remote-debugging-port=0``, reads the port Chromium picked from ``DevToolsActivePort``, and
opens pages; ``Page`` sends protocol commands and keeps the console errors, exceptions and
network requests it sees. Only ``websockets`` (its sync client) is needed.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from websockets.sync.client import ClientConnection

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--hide-scrollbars",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)


def chromium_path() -> str | None:
    """The system Chromium: ``$CHROMIUM``, else ``chromium`` / ``chromium-browser`` on PATH."""
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Page:
    """One tab: send commands, wait for events, collect what went wrong."""

    def __init__(self, socket: ClientConnection) -> None:
        self._socket = socket
        self._ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []
        self.console_errors: list[str] = []
        self.requests: list[str] = []

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Run one protocol command and return its result (events seen meanwhile are kept)."""
        ident = next(self._ids)
        self._socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv(timeout=60))
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self._event(message)

    def wait_for(self, method: str, timeout: float = 60) -> dict[str, Any]:
        """The next event named ``method`` (or one already seen since the last wait)."""
        for index, event in enumerate(self.events):
            if event["method"] == method:
                del self.events[: index + 1]
                return event
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self._socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            self._event(message)
            if message.get("method") == method:
                self.events.clear()
                return message

    def _event(self, message: dict[str, Any]) -> None:
        method = message.get("method")
        params = message.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in {"error", "assert"}:
            args = params.get("args", [])
            self.console_errors.append(" ".join(str(a.get("value", a)) for a in args))
        elif method == "Runtime.exceptionThrown":
            self.console_errors.append(str(params.get("exceptionDetails", {}).get("text")))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            self.console_errors.append(str(params["entry"].get("text")))
        elif method == "Network.requestWillBeSent":
            self.requests.append(str(params.get("request", {}).get("url")))
        if method:
            self.events.append(message)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression (returned by value)."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url: str, *, width: int, height: int = 900, dark: bool = False) -> None:
        """Size the viewport (a phone below 500 px), pick the colour scheme, load ``url``."""
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=width < 500,
        )
        self.send(
            "Emulation.setEmulatedMedia",
            features=[{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}],
        )
        self.send("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def screenshot(
        self, path: Path, *, top: float = 0, height: float | None = None, scale: float = 1
    ) -> Path:
        """A PNG of the page from ``top`` down (all of it by default, not only the viewport)."""
        size = self.send("Page.getLayoutMetrics")["cssContentSize"]
        height = min(height or size["height"], size["height"] - top)
        clip = {"x": 0, "y": top, "width": size["width"], "height": height, "scale": scale}
        shot = self.send(
            "Page.captureScreenshot", format="png", captureBeyondViewport=True, clip=clip
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


class Browser:
    """A running headless Chromium; ``page()`` opens a fresh tab."""

    def __init__(self, executable: str) -> None:
        self._profile = tempfile.mkdtemp(prefix="langchain-otel-chromium-")
        self._process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={self._profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.port = self._wait_for_port()

    def _wait_for_port(self) -> int:
        marker = Path(self._profile, "DevToolsActivePort")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"chromium exited with {self._process.returncode}")
            if marker.exists() and marker.read_text().strip():
                return int(marker.read_text().splitlines()[0])
            time.sleep(0.1)
        raise RuntimeError("chromium did not open its DevTools port within 60 s")

    @contextmanager
    def page(self) -> Iterator[Page]:
        """A new tab with Page, Runtime, Log and Network events on; closed afterwards."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/json/new?about:blank", method="PUT"
        )
        from websockets.sync.client import connect  # the tests venv has it (langsmith needs it)

        with urllib.request.urlopen(request, timeout=30) as response:
            target = json.load(response)
        try:
            with connect(target["webSocketDebuggerUrl"], max_size=None, open_timeout=30) as socket:
                page = Page(socket)
                for domain in ("Page", "Runtime", "Log", "Network"):
                    page.send(f"{domain}.enable")
                yield page
        finally:
            close = f"http://127.0.0.1:{self.port}/json/close/{target['id']}"
            with urllib.request.urlopen(close, timeout=30):
                pass

    def close(self) -> None:
        """Stop Chromium and remove its profile."""
        self._process.terminate()
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=20)
        shutil.rmtree(self._profile, ignore_errors=True)
