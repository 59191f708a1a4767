"""Real servers for the heartbeat tests: a TCPStore, and etcd 3.4 and 3.5."""

from tests.etcd_v3.conftest import etcd_v3_server
from tests.events.conftest import store_server

__all__ = ["etcd_v3_server", "store_server"]
