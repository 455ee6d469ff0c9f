"""Serving the reference receiver with waitress: in the foreground (``suijian datacenter
serve``) or in a thread of this process (tests, ``suijian bench feed``)."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from waitress.server import create_server

log = logging.getLogger(__name__)


class ThreadedServer:
    """A waitress server running in a daemon thread, stopped by :meth:`stop`."""

    def __init__(
        self, app: Callable[..., Any], host: str = "127.0.0.1", port: int = 0, **options: Any
    ) -> None:
        options.setdefault("threads", 4)
        # Keep a batch (500 records of ~1 KB) in memory; waitress spools bodies over 512 KB
        # to a temporary file by default.
        options.setdefault("inbuf_overflow", 16 * 1024 * 1024)
        self.server: Any = create_server(app, host=host, port=port, **options)
        self.host = host
        self.port = int(self.server.effective_port)
        self._thread = threading.Thread(target=self._run, name=f"receiver:{self.port}", daemon=True)
        self._stopping = False

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        try:
            self.server.run()
        except OSError:  # the sockets were closed under the loop by stop()
            if not self._stopping:
                raise

    def start(self) -> ThreadedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the listening socket and every connection; then the loop ends. The closing
        runs in the loop's own thread (waitress's trigger), as asyncore is not thread-safe."""
        self._stopping = True
        if self._thread.is_alive():
            try:
                self.server.trigger.pull_trigger(self._close_all)
            except OSError:
                # The trigger's pipe was closed under the loop (a CI run once met EBADF here):
                # close from this thread; the loop then ends at its next wake-up.
                log.warning("receiver %s: trigger closed, stopping from the caller", self.url)
            else:
                self._thread.join(timeout=10)
        if self.server._map:  # the loop never ran, or did not answer: close from here
            self._close_all()
        self.server.task_dispatcher.shutdown()
        self._thread.join(timeout=10)

    def _close_all(self) -> None:
        for channel in list(self.server._map.values()):
            with contextlib.suppress(Exception):
                channel.close()


@contextlib.contextmanager
def serving(
    app: Callable[..., Any], host: str = "127.0.0.1", port: int = 0, **options: Any
) -> Iterator[ThreadedServer]:
    server = ThreadedServer(app, host, port, **options).start()
    try:
        yield server
    finally:
        server.stop()


__all__ = ["ThreadedServer", "serving"]
