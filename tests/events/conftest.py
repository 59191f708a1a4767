"""The etcd servers of the etcd-v3 tests, for the mixed etcd-v3 job."""

from tests.etcd_v3.conftest import etcd_v3_server

__all__ = ["etcd_v3_server"]
