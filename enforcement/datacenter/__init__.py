"""The reference receiver of the feed (a stand-in for the supervision data center), used in
development, tests and ``suijian bench feed``: ``suijian datacenter serve``. See docs/feed.md."""

from enforcement.datacenter.app import Receiver
from enforcement.datacenter.server import ThreadedServer, serving
from enforcement.datacenter.store import Store

__all__ = ["Receiver", "Store", "ThreadedServer", "serving"]
