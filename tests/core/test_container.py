"""RendezvousContainer: torch's own handlers, selected, configured, overridable, shut down."""

from __future__ import annotations

import gc
import socket
import threading
from typing import Any

import pytest
from dependency_injector import providers

from rendezvous_di import (
    BackendDependencyError,
    BackendMismatchError,
    ConfigError,
    UnknownBackendError,
)
from tests.support.procs import free_port


def dynamic_settings(handler: Any) -> dict[str, Any]:
    settings = handler._settings
    timeout = settings.timeout
    return {
        "run_id": settings.run_id,
        "min_nodes": settings.min_nodes,
        "max_nodes": settings.max_nodes,
        "timeouts": (timeout.join, timeout.last_call, timeout.close, timeout.heartbeat),
        "keep_alive": (settings.keep_alive_interval, settings.keep_alive_max_attempt),
    }


def test_the_issue_example_gives_torchs_c10d_handler(container: Any) -> None:
    port = free_port()
    conf = {"join_timeout": 300, "last_call_timeout": "5", "heartbeat_timeout": 7}
    container.config.from_dict(
        {
            "backend": "c10d",
            "endpoint": f"127.0.0.1:{port}",
            "run_id": "job-7",
            "min_nodes": 2,
            "max_nodes": 4,
            "conf": conf,
        }
    )
    ours = container.handler()

    from torch.distributed.elastic.rendezvous import RendezvousParameters
    from torch.distributed.elastic.rendezvous.registry import get_rendezvous_handler

    # torch gets its own store on another port; everything else is the same request.
    params = RendezvousParameters("c10d", f"127.0.0.1:{free_port()}", "job-7", 2, 4, **conf)
    theirs = get_rendezvous_handler(params)
    try:
        assert type(ours) is type(theirs)
        assert ours.get_backend() == theirs.get_backend() == "c10d"
        assert ours.get_run_id() == theirs.get_run_id() == "job-7"
        assert dynamic_settings(ours) == dynamic_settings(theirs)
        assert dynamic_settings(ours)["timeouts"][0].total_seconds() == 300
    finally:
        theirs.shutdown()


def test_static_handler_matches_torchs(container: Any) -> None:
    endpoint = f"127.0.0.1:{free_port()}"
    container.config.from_dict(
        {
            "backend": "static",
            "endpoint": endpoint,
            "run_id": "s",
            "nnodes": 2,
            "conf": {"rank": "1"},
        }
    )
    ours = container.handler()

    from torch.distributed.elastic.rendezvous import RendezvousParameters
    from torch.distributed.elastic.rendezvous.registry import get_rendezvous_handler

    theirs = get_rendezvous_handler(RendezvousParameters("static", endpoint, "s", 2, 2, rank=1))
    fields = ("master_addr", "master_port", "rank", "world_size", "run_id", "timeout")
    assert type(ours) is type(theirs)
    assert {f: getattr(ours, f) for f in fields} == {f: getattr(theirs, f) for f in fields}


def test_parameters_are_torchs_with_converted_options(container: Any) -> None:
    container.config.from_dict({"conf": {"is_host": "yes", "read_timeout": "9"}, "run_id": "r"})
    params = container.parameters()
    from torch.distributed.elastic.rendezvous import RendezvousParameters

    assert isinstance(params, RendezvousParameters)
    assert (params.backend, params.endpoint, params.run_id) == ("c10d", "localhost:0", "r")
    assert params.config == {"is_host": True, "read_timeout": 9}


def test_selector_has_every_builtin_and_our_etcd_v3_under_its_name(container: Any) -> None:
    # etcd-v3 is a plugin of rendezvous-di's own distribution: wherever we are installed
    assert sorted(container.backends.providers) == ["c10d", "etcd", "etcd-v2", "etcd-v3", "static"]


class RecordingHandler:
    """A stand-in at the boundary under test: what the Selector hands to ``handler``."""

    def __init__(self, backend: str = "c10d") -> None:
        self.backend = backend
        self.shutdowns = 0

    def get_backend(self) -> str:
        return self.backend

    def shutdown(self) -> bool:
        self.shutdowns += 1
        return True


def test_overriding_a_backend_inside_the_selector_reaches_handler(container: Any) -> None:
    fake = RecordingHandler()
    with container.backends.providers["c10d"].override(providers.Object(fake)):
        assert container.handler() is fake
        container.shutdown_resources()
    assert fake.shutdowns == 1


def test_override_receives_the_same_validated_parameters(container: Any) -> None:
    seen = []

    def creator(params: Any) -> RecordingHandler:
        seen.append(params)
        return RecordingHandler("static")

    container.config.from_dict(
        {"backend": "static", "endpoint": "h:1", "nnodes": 2, "conf": {"rank": "1"}}
    )
    container.backends.providers["static"].override(
        providers.Factory(creator, params=container.parameters)
    )
    try:
        container.handler()
    finally:
        container.backends.providers["static"].reset_last_overriding()
    assert seen[0].config == {"rank": 1}
    assert seen[0].max_nodes == 2


def test_configuration_changes_are_seen_until_the_handler_is_created(container: Any) -> None:
    # No required(): its first value is cached (dependency-injector issue 954).
    container.config.from_dict({"backend": "static"})
    assert container.settings().backend == "static"
    container.config.from_dict({"backend": "c10d"})
    assert container.settings().backend == "c10d"


def test_a_handler_for_another_backend_is_refused_like_torch_does(container: Any) -> None:
    wrong = providers.Object(RecordingHandler("etcd"))
    expected = "'etcd' does not match the requested backend 'c10d'"
    with (
        container.backends.providers["c10d"].override(wrong),
        pytest.raises(BackendMismatchError, match=expected),
    ):
        container.handler()


def test_unknown_backend_is_refused_before_torch_is_involved(container: Any) -> None:
    container.config.from_dict({"backend": "etcd2"})
    with pytest.raises(UnknownBackendError, match="did you mean 'etcd'"):
        container.handler()


def test_required_static_rank_and_its_range_are_checked(container: Any) -> None:
    container.config.from_dict({"backend": "static", "endpoint": "h:1", "nnodes": 2})
    with pytest.raises(ConfigError, match="requires this option") as caught:
        container.parameters()
    assert caught.value.field == "conf.rank"
    container.config.from_dict({"conf": {"rank": 2}})
    with pytest.raises(ConfigError, match=r"rank 2 is not below the node count, 2"):
        container.parameters()


def test_tls_files_must_exist_before_connecting(container: Any, tmp_path: Any) -> None:
    container.config.from_dict(
        {"backend": "etcd-v2", "conf": {"protocol": "https", "ssl_cert": str(tmp_path / "c.pem")}}
    )
    assert container.settings().conf["protocol"] == "https"  # inspecting does not need the file
    with pytest.raises(ConfigError, match=r"c\.pem' does not exist") as caught:
        container.parameters()
    assert caught.value.field == "conf.ssl_cert"


def test_missing_optional_dependency_names_the_extra(
    container: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "etcd" else real_find_spec(name, *a),
    )
    container.config.from_dict({"backend": "etcd-v2"})
    with pytest.raises(BackendDependencyError, match=r"pip install 'rendezvous-di\[etcd\]'"):
        container.handler()


def test_shutdown_leaves_no_store_and_no_keep_alive_thread(container: Any) -> None:
    port = free_port()
    container.config.from_dict({"endpoint": f"127.0.0.1:{port}", "run_id": "alone"})
    info = container.handler().next_rendezvous()
    assert (info.rank, info.world_size) == (0, 1)
    info.store.set("k", "v")
    assert any(t.name.startswith("RendezvousKeepAliveTimer") for t in threading.enumerate())
    del info

    container.shutdown_resources()
    gc.collect()

    assert not any(t.name.startswith("RendezvousKeepAliveTimer") for t in threading.enumerate())
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))


def test_the_handler_is_one_resource_per_container(container: Any) -> None:
    fake = RecordingHandler()
    container.backends.providers["c10d"].override(providers.Object(fake))
    try:
        assert container.handler() is container.handler()
    finally:
        container.shutdown_resources()
        container.backends.providers["c10d"].reset_last_overriding()
    assert fake.shutdowns == 1
