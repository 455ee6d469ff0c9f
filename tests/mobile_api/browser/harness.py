"""The browser tests' pieces: where Chromium is, the live server, the tablet sizes."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from pyramid.router import Router
from waitress.server import create_server

CHROMIUM = os.environ.get("SUIJIAN_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Screenshots and other artefacts of the browser tests (gitignored with var/).
ARTIFACTS = Path(__file__).resolve().parents[3] / "var" / "test-artifacts" / "tablet"
#: The tablet sizes the app must work at: landscape and portrait.
TABLET_SIZES = {"landscape": (1280, 800), "portrait": (800, 1280)}


class LiveServer:
    """The WSGI app served by waitress in a thread, on 127.0.0.1 (a secure context for the
    browser: service workers, crypto.subtle and crypto.randomUUID need one)."""

    def __init__(self, app: Router) -> None:
        self.server = create_server(app, host="127.0.0.1", port=0, threads=8)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self.server.run, name="waitress", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.task_dispatcher.shutdown()
        self.server.close()  # the listening socket and its trigger: the loop ends when empty
        for channel in list(self.server._map.values()):
            channel.handle_close()
        self.thread.join(timeout=10)
