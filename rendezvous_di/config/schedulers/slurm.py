"""Slurm: the rendezvous every torchrun user writes by hand inside an allocation, read from it.

In a batch script or an ``srun`` step, torchrun users write
``--rdzv-backend c10d --rdzv-endpoint $(scontrol show hostnames $SLURM_JOB_NODELIST
| head -n1):29400 --rdzv-id $SLURM_JOB_ID --nnodes $SLURM_NNODES``. This
module gives those values, each labelled with the variable it came from:

- ``backend`` c10d, ``endpoint`` the first host of the node list, port 29400
  (torchrun's documented convention; `SLURM_PORT`);
- ``nnodes`` the node count (``SLURM_JOB_NUM_NODES``, or ``SLURM_NNODES``),
  checked against the node list;
- ``run_id`` ``SLURM_JOB_ID``, or ``SLURM_JOB_ID.SLURM_STEP_ID`` inside an
  ``srun`` step: the agents of one step share it, while two steps of one job
  running at once (``srun -N2 ... & srun -N2 ... &``) would otherwise join one
  rendezvous and form a single wrong-sized job.

Inside a step narrower than the allocation (``srun -N1`` in a 4-node job) the
agents run on the step's nodes only: its list and count are used
(``SLURM_STEP_NODELIST``, ``SLURM_STEP_NUM_NODES``) and the labels say so.

What cannot be answered is not guessed: a heterogeneous job has one node
list per component, and a malformed variable has no meaning. Those values
become `Unresolved`: an error naming the variable, raised only when no
source above (a file, PET_*, a flag) gives the value instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from ...errors import ConfigError, shorten
from ..endpoint import host_port
from ..layers import Layer, Unresolved
from . import hostlist

SLURM_PORT = 29400
"""torchrun's documented c10d port: where the first node of the allocation hosts the store."""

JOB_ID = "SLURM_JOB_ID"
JOB_NODELISTS = ("SLURM_JOB_NODELIST", "SLURM_NODELIST")
JOB_COUNTS = ("SLURM_JOB_NUM_NODES", "SLURM_NNODES")
STEP_ID = ("SLURM_STEP_ID", "SLURM_STEPID")
STEP_NODELIST = "SLURM_STEP_NODELIST"
STEP_COUNT = "SLURM_STEP_NUM_NODES"
HET_SIZES = ("SLURM_HET_SIZE", "SLURM_PACK_SIZE")
HET_PREFIXES = ("SLURM_JOB_NODELIST_HET_GROUP_", "SLURM_JOB_NODELIST_PACK_GROUP_")
MAX_DIGITS = 9

WHAT_TO_DO = "give --rdzv-endpoint HOST:PORT, --nnodes N and --rdzv-id ID, or --scheduler none"


def allocation(environ: Mapping[str, str]) -> str | None:
    """Why this looks like a Slurm allocation (``SLURM_JOB_ID=1234``), or None."""
    job = _get(environ, JOB_ID)
    if job is None:
        return None
    lists = [name for name in (*JOB_NODELISTS, STEP_NODELIST) if _get(environ, name)]
    if not lists:
        return None
    return f"{JOB_ID}={shorten(job)}, {lists[0]}={shorten(environ[lists[0]].strip())}"


def missing(environ: Mapping[str, str]) -> str:
    """What is missing for `allocation` to see one (for ``--scheduler slurm`` outside Slurm)."""
    if _get(environ, JOB_ID) is None:
        return f"{JOB_ID} is not set"
    return f"{JOB_ID} is set but none of {', '.join((*JOB_NODELISTS, STEP_NODELIST))} is"


def read_slurm(environ: Mapping[str, str], port: int = SLURM_PORT) -> Layer:
    """The values a Slurm allocation gives, each labelled ``slurm VARIABLE``."""
    layer = Layer()
    layer.set("backend", "c10d", "slurm")
    het = _heterogeneous(environ)
    if het is not None:
        for key in ("endpoint", "min_nodes", "max_nodes", "run_id"):
            layer.set(key, Unresolved(_het_error(key, het)), f"slurm {het[0]}")
        return layer
    _set_run_id(layer, environ)
    nodes = _nodes(environ)
    if isinstance(nodes, ConfigError):
        for key in ("endpoint", "min_nodes", "max_nodes"):
            layer.set(key, Unresolved(nodes), f"slurm {nodes.source}")
        return layer
    layer.set("endpoint", host_port(nodes.first, port), f"slurm {nodes.list_name}")
    for key in ("min_nodes", "max_nodes"):
        layer.set(key, nodes.size, f"slurm {nodes.size_name}")
    return layer


class Nodes(NamedTuple):
    """The nodes running the agents: the first host, how many, and the variables saying so."""

    first: str
    size: int
    list_name: str
    size_name: str


def _nodes(environ: Mapping[str, str]) -> Nodes | ConfigError:
    """The job's nodes, or the step's when an ``srun`` step runs on fewer of them."""
    job = _read_nodes(environ, JOB_NODELISTS, JOB_COUNTS)
    step_list = _get(environ, STEP_NODELIST)
    if step_list is None:
        return job
    step = _read_nodes(environ, (STEP_NODELIST,), (STEP_COUNT,))
    if isinstance(step, ConfigError) or isinstance(job, ConfigError):
        return step
    if (step.first, step.size) == (job.first, job.size):
        return job  # the step spans the allocation: name the variables users know
    return step


def _read_nodes(
    environ: Mapping[str, str], list_names: tuple[str, ...], count_names: tuple[str, ...]
) -> Nodes | ConfigError:
    list_name = next((n for n in list_names if _get(environ, n) is not None), list_names[0])
    text = _get(environ, list_name)
    if text is None:
        return ConfigError(
            "endpoint",
            None,
            f"{list_name} is not set: the first node of the allocation is unknown",
            hint=WHAT_TO_DO,
            source=f"slurm {list_name}",
        )
    try:
        first = hostlist.first_host(text)
        listed = hostlist.count_hosts(text)
    except hostlist.HostlistError as error:
        return ConfigError(
            "endpoint",
            text,
            f"{list_name} is not a Slurm hostlist: {error}",
            hint=WHAT_TO_DO,
            source=f"slurm {list_name}",
        )
    count_name = next((n for n in count_names if _get(environ, n) is not None), None)
    if count_name is None:
        return Nodes(first, listed, list_name, list_name)
    count_text = environ[count_name].strip()
    if not (count_text.isascii() and count_text.isdigit()) or len(count_text) > MAX_DIGITS:
        return ConfigError(
            "nnodes",
            count_text,
            f"{count_name} is not a node count",
            hint=WHAT_TO_DO,
            source=f"slurm {count_name}",
        )
    count = int(count_text)
    if count != listed:
        return ConfigError(
            "nnodes",
            count_text,
            f"{count_name}={count} but {list_name}={shorten(text)} names {listed} node(s)",
            hint=WHAT_TO_DO,
            source=f"slurm {count_name}",
        )
    return Nodes(first, count, list_name, count_name)


def _set_run_id(layer: Layer, environ: Mapping[str, str]) -> None:
    job = _get(environ, JOB_ID) or ""
    step_name = next((n for n in STEP_ID if _get(environ, n) is not None), None)
    step = _get(environ, step_name) if step_name else None
    for name, value in ((JOB_ID, job), (step_name, step)):
        if name is not None and value is not None and not (value.isascii() and value.isdigit()):
            error = ConfigError(
                "run_id",
                value,
                f"{name} is not a Slurm job or step id",
                hint=WHAT_TO_DO,
                source=f"slurm {name}",
            )
            layer.set("run_id", Unresolved(error), f"slurm {name}")
            return
    if step is None:
        layer.set("run_id", job, f"slurm {JOB_ID}")
    else:
        layer.set("run_id", f"{job}.{step}", f"slurm {JOB_ID}.{step_name}")


def _heterogeneous(environ: Mapping[str, str]) -> tuple[str, str] | None:
    """The variable (and its value) that marks a heterogeneous job, or None."""
    for name in HET_SIZES:
        value = _get(environ, name)
        if value is not None:
            return name, value
    for name in sorted(environ):
        if name.startswith(HET_PREFIXES) and environ[name].strip():
            return name, environ[name].strip()
    return None


def _het_error(key: str, het: tuple[str, str]) -> ConfigError:
    name, value = het
    return ConfigError(
        key,
        value,
        f"a heterogeneous Slurm job ({name}={value}) has one node list per component: "
        "which one runs the agents is not known",
        hint=WHAT_TO_DO,
        source=f"slurm {name}",
    )


def _get(environ: Mapping[str, str], name: str) -> str | None:
    """A variable's value, stripped; blank counts as unset (as for PET_*)."""
    value = environ.get(name, "").strip()
    return value or None
