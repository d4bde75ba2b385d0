"""A headless Debian chromium driven through Debian's chromedriver, with the standard library.

Only what the report tests need: open a page, run a script, read the console log, take a
screenshot. ``.ci/run`` installs chromium and chromium-driver; under CI (``CI`` set) a missing
browser fails the test instead of skipping it.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

# The flags the machine notes ask for: no sandbox as root, no GPU, and no background network
# traffic (the machine's closed network refuses it, noisily).
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1400,1000"]


def find_browser() -> tuple[str, str]:
    """(chromium, chromedriver) paths; skip when absent, except under CI where it is a failure."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium and driver:
        return chromium, driver
    message = "Debian's chromium and chromium-driver are needed (apt-get install -y chromium chromium-driver)"
    if os.environ.get("CI"):
        pytest.fail(message + "; .ci/run installs them")
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Browser:
    """One WebDriver session."""

    def __init__(self, base: str, session: str) -> None:
        self.base = f"{base}/session/{session}"

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read())["value"]

    def open(self, url: str) -> None:
        self._call("POST", "/url", {"url": url})

    def run_async(self, script: str, *args: Any) -> Any:
        """Run ``script``; it calls its last argument with the result."""
        return self._call("POST", "/execute/async", {"script": script, "args": list(args)})

    def console(self) -> list[dict[str, Any]]:
        """Console entries since the last call (level, message)."""
        return list(self._call("POST", "/se/log", {"type": "browser"}))

    def screenshot(self) -> bytes:
        return base64.b64decode(self._call("GET", "/screenshot"))


@contextmanager
def browser() -> Iterator[Browser]:
    chromium, driver = find_browser()
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="nodesim-chromium-") as profile:
        proc = subprocess.Popen([driver, f"--port={port}"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        try:
            assert proc.stdout is not None
            for line in proc.stdout:  # chromedriver says when it listens; no polling, no sleeping
                if "started successfully" in line:
                    break
            else:
                raise RuntimeError(f"chromedriver exited with {proc.wait()} before listening")
            # Keep reading what it prints, so a full pipe never blocks it.
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            base = f"http://127.0.0.1:{port}"
            capabilities = {"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {"binary": chromium, "args": [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]},
                "goog:loggingPrefs": {"browser": "ALL"},
                "timeouts": {"script": 60_000, "pageLoad": 60_000},
            }}}
            request = urllib.request.Request(base + "/session", data=json.dumps(capabilities).encode(), method="POST",
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=120) as response:
                session = json.loads(response.read())["value"]["sessionId"]
            client = Browser(base, session)
            try:
                yield client
            finally:
                urllib.request.urlopen(urllib.request.Request(client.base, method="DELETE"), timeout=60).close()
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def file_url(path: Path) -> str:
    return path.resolve().as_uri()
