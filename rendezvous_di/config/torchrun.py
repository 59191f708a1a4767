"""torchrun's rendezvous flags, their PET_* twins, and torchrun's value syntaxes.

One table, `TORCHRUN_OPTIONS`, says for each setting which flag and
which variable carry it and where torch's own parser stores it; the CLI
builds its flags from it, the environment source reads its variables from
it, and ``rendezvous-di run`` hands the resolved values back to torch by it.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from ..errors import ConfigError
from ..text import quote

DEFAULT_MASTER_ADDR = "127.0.0.1"
DEFAULT_MASTER_PORT = 29500
"""torchrun's ``--master-addr`` and ``--master-port`` defaults: where ``static`` meets."""

MASTER_KEYS = ("node_rank", "master_addr", "master_port")
"""torchrun's caffe2-era flags: they shape the ``static`` rendezvous, and are not settings
of their own (they become its endpoint and its ``rank`` option)."""


class TorchrunOption(NamedTuple):
    """A setting torchrun takes as a flag and as a PET_* variable (the flag wins).

    ``dest`` is the attribute torch's own ``torchrun`` parser stores it under.
    """

    key: str
    flag: str
    env: str
    dest: str
    help: str


TORCHRUN_OPTIONS = (
    TorchrunOption(
        "backend", "--rdzv-backend", "PET_RDZV_BACKEND", "rdzv_backend", "rendezvous backend name"
    ),
    TorchrunOption(
        "endpoint",
        "--rdzv-endpoint",
        "PET_RDZV_ENDPOINT",
        "rdzv_endpoint",
        "rendezvous endpoint, <host>[:<port>]",
    ),
    TorchrunOption(
        "run_id", "--rdzv-id", "PET_RDZV_ID", "rdzv_id", "run id shared by every node of the job"
    ),
    TorchrunOption(
        "conf",
        "--rdzv-conf",
        "PET_RDZV_CONF",
        "rdzv_conf",
        "backend options, <key1>=<value1>,<key2>=<value2>",
    ),
    TorchrunOption("nnodes", "--nnodes", "PET_NNODES", "nnodes", "number of nodes, N or MIN:MAX"),
    TorchrunOption(
        "standalone",
        "--standalone",
        "PET_STANDALONE",
        "standalone",
        "single node: c10d on localhost:0 with a fresh run id",
    ),
    TorchrunOption(
        "local_addr", "--local-addr", "PET_LOCAL_ADDR", "local_addr", "address of this node"
    ),
    TorchrunOption(
        "node_rank",
        "--node-rank",
        "PET_NODE_RANK",
        "node_rank",
        "this node's rank for the static backend (torchrun's default backend on several nodes)",
    ),
    TorchrunOption(
        "master_addr",
        "--master-addr",
        "PET_MASTER_ADDR",
        "master_addr",
        "host of the node with rank 0: where static meets without --rdzv-endpoint "
        f"(default {DEFAULT_MASTER_ADDR})",
    ),
    TorchrunOption(
        "master_port",
        "--master-port",
        "PET_MASTER_PORT",
        "master_port",
        f"port of the static rendezvous without --rdzv-endpoint (default {DEFAULT_MASTER_PORT})",
    ),
)

_WHOLE = re.compile(r"\d+")
MAX_DIGITS = 9
"""A node count (or a node rank) past a billion is a typo, and past Python's 4300
digits ``int()`` refuses it outright: both are refused with the field's name."""


def parse_nnodes(value: Any, source: str | None = None) -> tuple[int, int]:
    """Parse ``N`` or ``MIN:MAX`` (torchrun's ``--nnodes``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    if not isinstance(value, str):  # str() of a YAML alias bomb would expand it
        raise ConfigError(
            "nnodes",
            value,
            f"{quote(value)} is not N or MIN:MAX ({type(value).__name__})",
            hint="for example 2 or 1:4",
            source=source,
        )
    parts = value.strip().split(":")
    if len(parts) in (1, 2) and all(_WHOLE.fullmatch(p.strip()) for p in parts):
        if any(len(p.strip()) > MAX_DIGITS for p in parts):
            raise ConfigError(
                "nnodes", value, f"node counts have at most {MAX_DIGITS} digits", source=source
            )
        numbers = [int(p) for p in parts]
        return numbers[0], numbers[-1]
    raise ConfigError(
        "nnodes",
        value,
        f"{quote(value)} is not N or MIN:MAX with whole numbers",
        hint="for example 2 or 1:4",
        source=source,
    )


QUOTES = ("'", '"')


def unquote(text: str) -> str | None:
    """``text`` without the matching quote marks around it, or None when it has none.

    A Kubernetes ``args:`` array (or any launcher without a shell) passes
    ``--rdzv-conf "'join_timeout=30'"`` with the quotes a shell would have
    removed; torchrun then reads a key named ``'join_timeout``. We read what
    was meant (and ``rendezvous-di run`` says so in one line).
    """
    stripped = text.strip()
    if len(stripped) >= 2 and stripped[0] in QUOTES and stripped[-1] == stripped[0]:
        return stripped[1:-1]
    return None


def parse_conf(text: str, source: str | None = None) -> dict[str, str]:
    """Parse torchrun's ``<key1>=<value1>,<key2>=<value2>`` backend options.

    One pair of matching quote marks around the whole value is removed first
    (see `unquote`).
    """
    conf: dict[str, str] = {}
    inner = unquote(text)
    text = text if inner is None else inner
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(
                "conf",
                text,
                f"{item!r} is not <key>=<value>",
                hint="use --rdzv-conf key1=value1,key2=value2",
                source=source,
            )
        conf[key.strip()] = value.strip()
    return conf
