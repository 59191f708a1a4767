"""A real TCPStore server for the heartbeat tests."""

from tests.events.conftest import store_server

__all__ = ["store_server"]
