"""Test hosts for the admission tests: the multi-host fixtures, reused."""

from tests.multihost.conftest import network

__all__ = ["network"]
