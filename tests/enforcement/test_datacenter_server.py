"""The receiver's threaded server stops cleanly, also when its wake-up pipe is already gone."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx

from enforcement.datacenter import Receiver, Store, ThreadedServer


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_stop_closes_the_port_and_ends_the_loop(tmp_path: Path) -> None:
    store = Store(tmp_path / "datacenter.sqlite")
    try:
        server = ThreadedServer(Receiver(store, "secret")).start()
        assert httpx.get(f"{server.url}/records", timeout=5).status_code < 500
        server.stop()
        assert not server._thread.is_alive()
        assert port_is_free(server.port)
    finally:
        store.close()


def test_stop_survives_a_trigger_closed_under_the_loop(tmp_path: Path) -> None:
    # A CI run once met EBADF pulling the trigger in stop(): the pipe had been closed under
    # the loop. Stopping must still close the port and end the loop, not raise.
    store = Store(tmp_path / "datacenter.sqlite")
    try:
        server = ThreadedServer(Receiver(store, "secret")).start()
        assert httpx.get(f"{server.url}/records", timeout=5).status_code < 500
        server.server.trigger.close()
        server.stop()
        assert not server._thread.is_alive()
        assert port_is_free(server.port)
    finally:
        store.close()
