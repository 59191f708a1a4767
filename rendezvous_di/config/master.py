"""torchrun's answer for a job with no backend given: ``static`` at ``--master-addr:--master-port``.

The most common multi-node command, ``torchrun --nnodes 2 --node-rank R
--master-addr A --master-port P train.py`` (and Kubeflow Trainer v2's
PET_NNODES, PET_NODE_RANK, PET_MASTER_ADDR, PET_MASTER_PORT), names no
backend: torchrun then uses ``static``, meeting at ``A:P`` (default
127.0.0.1:29500) with the node rank as its ``rank``. Only one node with no
``--master-port`` gets c10d on ``localhost:0`` (an embedded store with a free
port), which is also our default: on one node it cannot split the job. On
several nodes a port-0 endpoint would: each node would host its own store and
wait alone until ``join_timeout``, so one is refused, defaulted or given.

These rules read the merged values before they become settings;
`rendezvous_di.config.settings.resolve_settings` calls them in order.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError
from ..text import quote
from .endpoint import host_port, parse_endpoint
from .torchrun import DEFAULT_MASTER_ADDR, DEFAULT_MASTER_PORT, MASTER_KEYS, MAX_DIGITS

STATIC = "static"
DEFAULT_BACKEND = "c10d"
"""The backend of one node when none is given: an embedded TCPStore, nothing to start."""
MAX_PORT = 65535
_SIGNED_DIGITS = re.compile(r"[+-]?[0-9]+")


def pop_master_values(values: dict[str, Any], sources: Mapping[str, str]) -> dict[str, Any]:
    """Take ``node_rank``, ``master_addr`` and ``master_port`` out of ``values``, validated."""
    master = {key: values.pop(key) for key in MASTER_KEYS if key in values}
    if "node_rank" in master:
        master["node_rank"] = _integer(master["node_rank"], "node_rank", sources, 0, None)
    if "master_port" in master:
        master["master_port"] = _integer(master["master_port"], "master_port", sources, 0, MAX_PORT)
    if "master_addr" in master:
        addr = master["master_addr"]
        if not isinstance(addr, str) or not addr.strip():
            raise ConfigError(
                "master_addr",
                addr,
                "must be a host name or an address",
                source=sources.get("master_addr"),
            )
        master["master_addr"] = addr.strip()
        if ":" in addr and not _is_ipv6_address(addr.strip().strip("[]")):
            problem, hint = _not_a_host(addr.strip())
            raise ConfigError(
                "master_addr",
                addr,
                problem,
                hint=hint,
                source=sources.get("master_addr"),
            )
    return master


def _not_a_host(addr: str) -> tuple[str, str]:
    """What ``addr`` (a host where one goes) holds besides a host, and how to say it instead:
    the problem and the hint of the error."""
    scheme, sep, rest = addr.partition("://")
    if sep and scheme.isalpha():
        parts = rest.rstrip("/").rsplit(":", 1)
        port = f" --master-port {parts[1]}" if len(parts) == 2 and parts[1].isdigit() else ""
        return (
            f"{quote(addr)} starts with the scheme {scheme}://: --master-addr is a bare host "
            "(the master's store has no scheme)",
            f"write --master-addr {parts[0]}{port}",
        )
    host, _, port = addr.rpartition(":")
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if port.isdigit() and host and (":" not in host or _is_ipv6_address(bare)):
        return (
            f"{quote(addr)} is a host with a port: --master-addr is the host alone",
            f"write --master-addr {bare} --master-port {port}",
        )
    return (
        f"{quote(addr)} is not a host: --master-addr is a host name or an address, without a port",
        "an IPv6 address is written ::1",
    )


def default_backend(max_nodes: int, master: Mapping[str, Any]) -> str:
    """The backend when none is given: torchrun's ``static`` for several nodes or a master
    port, else ``c10d`` (an embedded store, our one-node default). The one rule: settings
    resolution and completion both ask it."""
    return STATIC if max_nodes > 1 or "master_port" in master else DEFAULT_BACKEND


def default_backend_source(max_nodes: int, sources: Mapping[str, str]) -> str:
    """Why ``static`` was chosen, for ``rendezvous-di config``'s SOURCE column."""
    if max_nodes > 1:
        return f"torchrun's default for several nodes, {sources.get('max_nodes')}"
    return f"torchrun's default with a master port, {sources.get('master_port')}"


def master_endpoint(master: Mapping[str, Any], sources: Mapping[str, str]) -> tuple[str, str]:
    """``master_addr:master_port`` with torchrun's defaults, and a label naming both sources."""
    addr = master.get("master_addr", DEFAULT_MASTER_ADDR)
    port = master.get("master_port", DEFAULT_MASTER_PORT)
    addr_source = sources.get("master_addr", "default")
    port_source = sources.get("master_port", "default")
    if "master_addr" not in master and "master_port" not in master:
        label = f"default (torchrun's --master-addr:--master-port, {addr}:{port})"
    else:
        label = f"master_addr from {addr_source}, master_port from {port_source}"
    return host_port(addr, port), label  # --master-addr ::1 is a host: bracketed here


def refuse_port_zero(
    endpoint: str, backend: str, nodes: tuple[int, int], sources: Mapping[str, str]
) -> None:
    """Several nodes never meet at a port-0 endpoint, defaulted or given.

    Port 0 means "any free port": each node hosts a store of its own there (or
    dials port 0, which nothing answers) and waits alone until its join
    timeout. ``--standalone`` (c10d on ``localhost:0``) is the usual way to
    write it; ``--master-port 0`` and Kubeflow's ``MASTER_PORT=0`` are others.
    A given port-0 endpoint is refused when the group needs several nodes to
    form (``min_nodes`` > 1); with a minimum of one, the node that hosts the
    store still forms a group on its own, as a test or a single-machine
    elastic job asks for (``c10d`` on ``127.0.0.1:0`` with ``1:4``). A
    defaulted one is refused as soon as more than one node may come.
    """
    min_nodes, max_nodes = nodes
    source = sources.get("endpoint", "default")
    count, count_key = (max_nodes, "max_nodes") if source == "default" else (min_nodes, "min_nodes")
    if count <= 1:
        return
    try:
        port = parse_endpoint(endpoint).port
    except ConfigError:
        return  # not host:port (a path, a plugin's own syntax): the backend's check decides
    if port != 0:
        return
    if source == "default":
        where = f"backend {backend}'s default endpoint {endpoint!r}"
        hint = (
            "give --rdzv-endpoint HOST:PORT (or PET_RDZV_ENDPOINT) reachable from every node, "
            f"or leave the backend unset (set by {sources.get('backend', 'default')}) to meet "
            "at --master-addr:--master-port as torchrun does, with --node-rank on each node"
        )
    else:
        where = f"endpoint {endpoint!r}"
        hint = (
            "give a fixed port every node can reach (--rdzv-endpoint HOST:PORT or "
            "--master-port PORT), or --nnodes 1; --standalone is for one node"
        )
    raise ConfigError(
        "endpoint",
        endpoint,
        f"{count} nodes (from {sources.get(count_key)}) cannot meet at {where}: "
        "port 0 means every node hosts its own store on a free port and waits alone",
        hint=hint,
        source=source,
    )


def _is_ipv6_address(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _integer(
    value: Any, key: str, sources: Mapping[str, str], minimum: int, maximum: int | None
) -> int:
    source = sources.get(key)
    text = value.strip() if isinstance(value, str) else None
    # One sign and ASCII digits: "+-3" or "²" would pass str.isdigit and make int() raise.
    if isinstance(value, bool) or not (
        isinstance(value, int) or (text and _SIGNED_DIGITS.fullmatch(text))
    ):
        raise ConfigError(key, value, f"{value!r} is not an integer", source=source)
    if text is not None and len(text.lstrip("+-")) > MAX_DIGITS:
        raise ConfigError(
            key, value, f"{quote(value)} has more than {MAX_DIGITS} digits", source=source
        )
    number = int(value)
    if number < minimum or (maximum is not None and number > maximum):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise ConfigError(key, value, f"{number} must be {bounds}", source=source)
    return number
