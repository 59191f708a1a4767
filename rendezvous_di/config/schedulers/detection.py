"""Which scheduler's values apply, and where they sit among the other sources.

Two things meet here. The *choice* (``scheduler``: ``auto``, ``none``,
``slurm``, ``kubeflow``) is a setting like any other: the config file,
``RENDEZVOUS_DI_SCHEDULER``, explicit values and ``--scheduler`` give it,
``auto`` by default. The *detected values* form a layer just above the
defaults, under the file. `stack` reads the choice from the layers above,
asks the container's ``scheduler`` provider (a `Detector`) for a
`Detection`, and returns every layer in order.

The detector reads environment variables only: no subprocess (``scontrol``),
no torch, so ``rendezvous-di config`` stays as fast inside a job as outside.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...errors import ConfigError
from ...text import did_you_mean, quote
from ..endpoint import parse_endpoint
from ..layers import KEYS, Layer, check_key, merge
from . import slurm
from .table import AUTO, NONE, SCHEDULER_ENV, SCHEDULERS, choices

__all__ = [
    "NO_SCHEDULER",
    "SCHEDULER_ENV",
    "Choice",
    "Detection",
    "Detector",
    "SchedulerDetector",
    "fixed_scheduler",
    "read_choice",
    "stack",
]
OVERRIDDEN = "override of scheduler"


@dataclass(frozen=True)
class Choice:
    """The ``scheduler`` setting as given, with its source (``default`` for ``auto``)."""

    name: str = "auto"
    source: str = "default"


@dataclass(frozen=True)
class Detection:
    """A scheduler's answer: its name, why (for ``rendezvous-di config``) and its values."""

    name: str
    reason: str
    layer: Layer = field(default_factory=Layer)


Detector = Callable[[Choice, "Mapping[str, str] | None"], Detection]
"""What the container's ``scheduler`` provider gives: the choice and the environment in,
a `Detection` out. Override it with `fixed_scheduler` (or `NO_SCHEDULER`) in tests and platforms."""


class SchedulerDetector:
    """The built-in detector, the container's ``scheduler`` provider: Slurm, then Kubeflow.

    It reads environment variables alone (no ``scontrol``, no torch). Called
    with the ``scheduler`` choice and the environment, it returns the
    detected scheduler's values, which sit under the config file.

    Args:
        slurm_port: the c10d port on the allocation's first node (29400,
            torchrun's convention). A platform whose nodes are shared between
            jobs gives another: ``container.scheduler.override(
            providers.Object(SchedulerDetector(slurm_port=31000)))``.
    """

    def __init__(self, *, slurm_port: int = slurm.SLURM_PORT) -> None:
        self.slurm_port = slurm_port

    def __call__(self, choice: Choice, environ: Mapping[str, str] | None) -> Detection:
        environ = {} if environ is None else environ
        if choice.name == NONE:
            return Detection(NONE, f"{choice.source}: scheduler none")
        wanted = SCHEDULERS if choice.name == AUTO else {choice.name: SCHEDULERS[choice.name]}
        for name, scheduler in wanted.items():
            found = scheduler.found(environ)
            if found is not None:
                layer = scheduler.read(environ, self.slurm_port if name == "slurm" else None)
                return Detection(name, _reason(choice, found), layer)
        if choice.name != AUTO:
            scheduler = SCHEDULERS[choice.name]
            raise _not_here(choice, scheduler.WHAT, scheduler.missing(environ))
        missing = "; ".join(scheduler.missing(environ) for scheduler in SCHEDULERS.values())
        return Detection(NONE, f"auto: none detected ({missing})")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SchedulerDetector) and other.slurm_port == self.slurm_port

    def __hash__(self) -> int:
        return hash(self.slurm_port)


def fixed_scheduler(
    values: Mapping[str, Any] | Layer | None = None, name: str = "fixed"
) -> Detector:
    """A detector that always answers ``values``: a test's or a platform's own scheduler.

    Override the container's ``scheduler`` provider with it, whatever the
    environment says; the values keep their place under the config file.

    Args:
        values: settings keys as a mapping (``{"endpoint": "store:29400", "nnodes": 2}``,
            each labelled ``scheduler NAME``) or a ready `Layer`; none for no values at all.
        name: what ``rendezvous-di config`` shows as the scheduler (``none`` for none).

    Example:
        ``container.scheduler.override(providers.Object(fixed_scheduler(name="none")))``
    """
    if isinstance(values, Layer):
        layer = values
    else:
        layer = Layer()
        for key, value in (values or {}).items():
            check_key(key, key, KEYS, OVERRIDDEN)
            layer.set(key, value, f"scheduler {name}")
    detection = Detection(name, OVERRIDDEN, layer)

    def detect(choice: Choice, environ: Mapping[str, str] | None) -> Detection:
        return detection

    return detect


NO_SCHEDULER: Detector = fixed_scheduler(name="none")
"""A detector that never finds one (the same as ``fixed_scheduler(name="none")``)."""


def read_choice(above: Sequence[Layer]) -> Choice:
    """The ``scheduler`` setting from the layers above the scheduler's, validated."""
    merged = merge(above)
    if "scheduler" not in merged.values:
        return Choice()
    value, source = merged.values["scheduler"], merged.sources["scheduler"]
    name = value.strip().lower() if isinstance(value, str) else value
    valid = choices()
    if name not in valid:
        raise ConfigError(
            "scheduler",
            value,
            f"unknown scheduler {quote(value)}",
            choices=valid,
            hint=did_you_mean(value, valid) if isinstance(value, str) else None,
            source=source,
        )
    return Choice(name, source)


def stack(
    detector: Detector, above: Sequence[Layer], environ: Mapping[str, str] | None
) -> tuple[Layer, ...]:
    """Every layer, lowest first: the scheduler's, ``above``, then the scheduler's name.

    The name goes on top: it is the outcome of the choice made above, shown by
    ``rendezvous-di config`` as ``scheduler  slurm  auto, detected: SLURM_JOB_ID=...``.
    """
    detection = detector(read_choice(above), environ)
    outcome = Layer()
    outcome.set("scheduler", detection.name, detection.reason)
    return (_under(detection.layer, merge(above)), *above, outcome)


def _under(layer: Layer, above: Layer) -> Layer:
    """The scheduler's layer, less what the values above make wrong.

    An endpoint with port 0 given above (``--standalone``, ``localhost:0``) is
    a store of this node's own that no other node can reach: the job is one
    node, whatever the allocation's size. The scheduler's endpoint is c10d's:
    with another backend chosen above it would point
    that backend at a port nobody serves. And a master address or port given
    above (``--master-addr``) chooses torchrun's ``static`` rendezvous there:
    the scheduler's backend and endpoint step aside rather than silently win.
    """
    drop: set[str] = set()
    if _port_zero(above.values.get("endpoint")):
        drop.update(("min_nodes", "max_nodes"))
    backend_above = above.values.get("backend")
    if backend_above is not None and backend_above != layer.values.get("backend"):
        drop.add("endpoint")
    if backend_above is None and {"master_addr", "master_port"} & set(above.values):
        drop.update(("backend", "endpoint"))
    if not drop & set(layer.values):
        return layer
    kept = Layer()
    kept.values = {k: v for k, v in layer.values.items() if k not in drop}
    kept.sources = {k: v for k, v in layer.sources.items() if k not in drop}
    return kept


def _port_zero(endpoint: object) -> bool:
    if not isinstance(endpoint, str):
        return False
    try:
        return parse_endpoint(endpoint).port == 0
    except ConfigError:
        return False  # not host:port: the settings' validation says so


def _reason(choice: Choice, found: str) -> str:
    if choice.name == "auto":
        return f"{choice.source if choice.source != 'default' else 'auto'}, detected: {found}"
    return f"{choice.source}: {found}"


def _not_here(choice: Choice, what: str, why: str) -> ConfigError:
    return ConfigError(
        "scheduler",
        choice.name,
        f"not inside {what}: {why}",
        choices=choices(),
        hint="run it inside the scheduler's job, or choose auto or none",
        source=choice.source,
    )
