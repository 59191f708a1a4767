"""etcd-v3's options, endpoint and entry point: checked like a built-in's, before any connection.

Every case points at a port where nothing listens: had a connection been
tried, the error would be a connection error, so a ConfigError naming the
option proves validation came first. The same checks hold under plain
torchrun, because the creator itself validates.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from rendezvous_di import ConfigError, RendezvousContainer, UnknownOptionError
from tests.support.procs import REPO, clean_environ, free_port, run_cli, run_process


def settings(conf: dict[str, Any], endpoint: str | None = None) -> Any:
    container = RendezvousContainer()
    container.environ.override({})
    container.config.from_dict(
        {
            "backend": "etcd-v3",
            "endpoint": endpoint or f"127.0.0.1:{free_port()}",
            "nnodes": 2,
            "conf": conf,
        }
    )
    return container.settings()


def test_options_are_converted_and_a_list_of_endpoints_is_accepted() -> None:
    conf = {"lease_ttl": "30", "read_timeout": "5", "protocol": "HTTP", "key_prefix": "/mine"}
    got = settings(conf, "a:2379,b,[::1]:2380")
    assert got.conf == {
        "lease_ttl": 30,
        "read_timeout": 5,
        "protocol": "http",
        "key_prefix": "/mine",
    }


def test_a_misspelt_option_is_refused_with_a_suggestion() -> None:
    with pytest.raises(UnknownOptionError) as caught:
        settings({"lease_tll": "30"})
    assert caught.value.field == "conf.lease_tll"
    assert "did you mean 'lease_ttl'?" in str(caught.value)


@pytest.mark.parametrize(
    ("conf", "field", "words"),
    [
        ({"protocol": "grpc"}, "conf.protocol", "valid choices: http, https"),
        ({"lease_ttl": "1"}, "conf.lease_ttl", "must be >= 2"),
        ({"lease_ttl": "10", "keep_alive_interval": "5"}, "conf.lease_ttl", "twice"),
        (
            {"lease_ttl": "15", "keep_alive_interval": "5"},
            "conf.lease_ttl",
            "(15s) with heartbeats=keys",
        ),
        ({"password": "secret"}, "conf.password", "without a user name"),
        ({"ca_cert": "/etc/hostname"}, "conf.ca_cert", "protocol is 'http'"),
    ],
)
def test_bad_values_name_the_option(conf: dict[str, str], field: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(conf)
    assert caught.value.field == field
    assert words in str(caught.value)
    assert "secret" not in str(caught.value)


def test_a_malformed_member_of_the_endpoint_list_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        settings({}, "a:2379,,b:2379")
    assert caught.value.field == "endpoint"


def test_the_cli_refuses_a_bad_option_with_exit_2_and_one_error_line() -> None:
    done = run_cli(
        ["config", "--rdzv-backend", "etcd-v3", "--rdzv-conf", "lease_tll=5"], env=clean_environ()
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: conf.lease_tll")
    assert "did you mean 'lease_ttl'?" in lines[0]


def test_backends_lists_etcd_v3_with_its_options_once_loaded() -> None:
    done = run_cli(["backends", "--json", "--load"], env=clean_environ())
    assert done.returncode == 0, done.stderr
    (ours,) = [entry for entry in json.loads(done.stdout) if entry["name"] == "etcd-v3"]
    assert (ours["source"], ours["status"], ours["distribution"]) == (
        "plugin",
        "loaded",
        "rendezvous-di",
    )
    options = {o["name"]: o for o in ours["options"]}
    assert options["lease_ttl"]["default"] == 60
    assert options["protocol"]["choices"] == ["http", "https"]
    assert {"username", "password", "key_prefix", "join_timeout", "timeout"} <= set(options)


def test_the_creator_validates_under_plain_torch_before_connecting() -> None:
    from torch.distributed.elastic.rendezvous import RendezvousParameters

    from rendezvous_di.backends.etcd_v3 import create_handler

    params = RendezvousParameters(
        "etcd-v3", f"127.0.0.1:{free_port()}", "r", 1, 2, heartbeat="5", timeout="900"
    )
    with pytest.raises(
        UnknownOptionError, match="did you mean 'heartbeats' or 'heartbeat_timeout'"
    ):
        create_handler(params)


ENTRY_POINT = """
import importlib.metadata, json, sys
(ep,) = [e for e in importlib.metadata.entry_points(group="torchrun.handlers")
         if e.name == "etcd-v3"]
creator = ep.load()()
heavy = sorted(m for m in ("torch", "http.client", "ssl", "urllib.request") if m in sys.modules)
print(json.dumps({"dist": ep.dist.name, "creator": creator.__qualname__,
                  "options": sorted(creator.rendezvous_options), "imported": heavy}))
"""


def test_our_distribution_serves_etcd_v3_through_the_entry_point_and_imports_little() -> None:
    done = run_process([sys.executable, "-c", ENTRY_POINT], env=clean_environ(), cwd=Path("/"))
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["dist"] == "rendezvous-di"
    assert found["creator"] == "create_handler"
    assert "lease_ttl" in found["options"]
    assert found["imported"] == []  # no torch, no HTTP client until a handler is created


TORCH_REGISTRY = """
from torch.distributed.elastic.rendezvous import registry
from torch.distributed.elastic.rendezvous.api import rendezvous_handler_registry
from rendezvous_di.backends.etcd_v3 import create_handler
assert rendezvous_handler_registry._registry["etcd-v3"] is create_handler
print("registered")
"""


def test_plain_torch_registers_etcd_v3_from_the_entry_point() -> None:
    done = run_process([sys.executable, "-c", TORCH_REGISTRY], env=clean_environ(), cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "registered"


@pytest.mark.parametrize("denied", ["etcd-v3", "rendezvous-di"])
def test_the_plugin_policy_applies_to_etcd_v3_like_any_plugin(denied: str) -> None:
    from rendezvous_di import PluginSelectionError

    container = RendezvousContainer()
    container.environ.override({})
    container.config.from_dict({"backend": "etcd-v3", "plugins": {"deny": [denied]}})
    with pytest.raises(PluginSelectionError, match=r"is denied: listed in plugins\.deny"):
        container.settings()


def test_with_autoload_off_etcd_v3_needs_allowing() -> None:
    from rendezvous_di import PluginSelectionError

    def select(plugins: dict[str, Any]) -> Any:
        container = RendezvousContainer()
        container.environ.override({})
        container.config.from_dict({"backend": "etcd-v3", "plugins": plugins})
        return container.settings()

    with pytest.raises(PluginSelectionError, match="plugin autoload is off"):
        select({"autoload": False})
    assert select({"autoload": False, "allow": ["etcd-v3"]}).endpoint == "localhost:2379"


def test_run_ids_never_nest_one_run_inside_another() -> None:
    from rendezvous_di.backends.etcd_v3.client import EtcdClient
    from rendezvous_di.backends.etcd_v3.endpoints import Address
    from rendezvous_di.backends.etcd_v3.session import RunSession

    client = EtcdClient([Address("127.0.0.1", free_port())])  # never contacted
    roots = {rid: RunSession(client, "/p/", rid, 60).root for rid in ("a", "a/b", "a%2Fb")}
    assert roots == {"a": b"/p/a/", "a/b": b"/p/a%2Fb/", "a%2Fb": b"/p/a%252Fb/"}
    assert not any(r != roots["a"] and r.startswith(roots["a"]) for r in roots.values())


def test_a_torch_with_fixed_keep_alive_refuses_a_lease_shorter_than_two_of_its_beats(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """torch 2.6 heartbeats every 5 s whatever is asked: a 10 s lease would expire mid-job."""
    from rendezvous_di.backends.etcd_v3 import handler
    from rendezvous_di.errors import ConfigError

    # The boundary under test: what this torch's from_backend accepts (2.6's takes no keep-alive).
    monkeypatch.setattr(handler, "_from_backend_takes_keep_alive", lambda: False)
    with pytest.raises(ConfigError) as caught:
        handler.keep_alive_settings({"lease_ttl": 10, "keep_alive_interval": 1})
    assert caught.value.field == "conf.lease_ttl"
    assert "5s whatever keep_alive_interval says" in str(caught.value)
    assert handler.keep_alive_settings({"lease_ttl": 11, "heartbeats": "state"}) == {}
    with pytest.raises(ConfigError) as caught:  # beats in keys: past torch 2.6's 15 s expiry
        handler.keep_alive_settings({"lease_ttl": 15})
    assert "fixed heartbeat expiry (15s" in str(caught.value)
    assert handler.keep_alive_settings({"lease_ttl": 16}) == {}
    monkeypatch.setattr(handler, "_from_backend_takes_keep_alive", lambda: True)
    assert handler.keep_alive_settings({"lease_ttl": 4, "keep_alive_interval": 1}) == {
        "keep_alive_interval": 1,
        "keep_alive_max_attempt": 3,
    }
