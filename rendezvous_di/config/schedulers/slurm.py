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

``salloc`` gives a shell on the submit host with the allocation's variables
but no ``SLURMD_NODENAME``: no node of the job runs there, so no agent
started there would host the store on the first node; that endpoint is an
error saying to start the agents with ``srun``.

A batch script (``sbatch -N3 job.sh``) runs on the job's first node only:
``SLURMD_NODENAME`` is set but no ``SLURM_STEP_ID``, as no ``srun`` started
it. ``rendezvous-di run`` called there directly is one agent, and with the
job's count (3) it would wait for two nodes that never come, until the join
timeout, minutes later: a hang to the user. So in a batch script of more than
one node the count is an error saying to start one agent per node with
``srun``, or to give ``--nnodes 1`` to train on that node alone. The endpoint
and run id stay: they are right (the first node is this one, the job id is
the job's), and a ``--nnodes`` given above makes them a working one-node job.
A one-node batch script keeps its count of 1.

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

from ...errors import ConfigError
from ...text import printable, quote
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
NODE_NAME = "SLURMD_NODENAME"
"""Set by slurmd for a batch script and every ``srun`` task: the node runs inside the job."""
HET_SIZES = ("SLURM_HET_SIZE", "SLURM_PACK_SIZE")
HET_LISTS = ("SLURM_JOB_NODELIST_HET_GROUP_", "SLURM_JOB_NODELIST_PACK_GROUP_")
"""A heterogeneous job's node list per component (``PACK`` before Slurm 20.02). Only these:
a plain ``srun`` step of Slurm 22.05 also exports ``SLURM_JOB_CPUS_PER_NODE_PACK_GROUP_0``
(tests/slurm/recorded/step-2of3node.json, recorded from a real step)."""
MAX_DIGITS = 9

WHAT_TO_DO = "give --rdzv-endpoint HOST:PORT, --nnodes N and --rdzv-id ID, or --scheduler none"
SRUN_AGENTS = "srun --ntasks-per-node=1 rendezvous-di run ..."
"""How a job starts one agent per node: one ``srun`` step, one task on each node."""
BATCH_WHAT_TO_DO = (
    f"start one agent per node with srun ({SRUN_AGENTS}), "
    "or give --nnodes 1 to train on this node alone"
)


WHAT = "a Slurm allocation"
"""What ``--scheduler slurm`` outside of one is not inside."""


def found(environ: Mapping[str, str]) -> str | None:
    """Why this looks like a Slurm allocation (``SLURM_JOB_ID=1234``), or None."""
    job = _get(environ, JOB_ID)
    if job is None:
        return None
    lists = [name for name in (*JOB_NODELISTS, STEP_NODELIST) if _get(environ, name)]
    if not lists:
        return None
    return f"{JOB_ID}={printable(job)}, {lists[0]}={printable(environ[lists[0]].strip())}"


def missing(environ: Mapping[str, str]) -> str:
    """What is missing for `found` to see one (for ``--scheduler slurm`` outside Slurm)."""
    if _get(environ, JOB_ID) is None:
        return f"{JOB_ID} is not set"
    return f"{JOB_ID} is set but none of {', '.join((*JOB_NODELISTS, STEP_NODELIST))} is"


def read(environ: Mapping[str, str], port: int | None = None) -> Layer:
    """The values a Slurm allocation gives, each labelled ``slurm VARIABLE``.

    ``port``: where the first node hosts the c10d store (None: `SLURM_PORT`).
    """
    port = SLURM_PORT if port is None else port
    layer = Layer()
    layer.set("backend", "c10d", "slurm")
    het = _heterogeneous(environ)
    if het is not None:
        for key in ("endpoint", "min_nodes", "max_nodes", "run_id"):
            layer.set(key, Unresolved(_het_error(key, het)), f"slurm {het[0]}")
        return layer
    run_id, run_id_source = _run_id(environ)
    layer.set("run_id", run_id, run_id_source)
    nodes = _nodes(environ)
    endpoint = nodes.first if isinstance(nodes.first, Unresolved) else host_port(nodes.first, port)
    if _get(environ, NODE_NAME) is None:
        endpoint = _unresolved(
            "endpoint",
            NODE_NAME,
            "",
            "is not set: this is salloc's shell on the submit host, not a node of the "
            "allocation, and no agent there would host the store; start the agents with "
            f"srun ({SRUN_AGENTS})",
        )
    layer.set("endpoint", endpoint, f"slurm {nodes.list_name}")
    size = nodes.size
    if isinstance(size, int) and size > 1 and _in_batch_script(environ):
        size = _batch_script_count(nodes.size_name, _get(environ, nodes.size_name) or "", size)
    for key in ("min_nodes", "max_nodes"):
        layer.set(key, size, f"slurm {nodes.size_name}")
    return layer


def _batch_script_count(name: str, value: str, size: int) -> Unresolved:
    """The count of a batch script's job, which one agent in the script would wait for."""
    return Unresolved(
        ConfigError(
            "nnodes",
            value,
            f"{name}={printable(value)} but this is the batch script of a {size}-node job, "
            f"which runs on its first node only, so one agent would wait for {size}",
            hint=BATCH_WHAT_TO_DO,
            source=f"slurm {name}",
        )
    )


def _in_batch_script(environ: Mapping[str, str]) -> bool:
    """Whether this is a job's batch script: on a node of the job, in no ``srun`` step."""
    in_step = any(_get(environ, name) is not None for name in (*STEP_ID, STEP_NODELIST))
    return _get(environ, NODE_NAME) is not None and not in_step


class Nodes(NamedTuple):
    """The nodes running the agents: the first host, how many, and the variables saying so."""

    first: str | Unresolved
    size: int | Unresolved
    list_name: str
    size_name: str


def _nodes(environ: Mapping[str, str]) -> Nodes:
    """The job's nodes, or the step's when an ``srun`` step runs on fewer of them."""
    job = _read_nodes(environ, JOB_NODELISTS, JOB_COUNTS)
    if _get(environ, STEP_NODELIST) is None:
        return job
    step = _read_nodes(environ, (STEP_NODELIST,), (STEP_COUNT,))
    if (step.first, step.size) == (job.first, job.size):
        return job  # the step spans the allocation: name the variables users know
    return step


def _read_nodes(
    environ: Mapping[str, str], list_names: tuple[str, ...], size_names: tuple[str, ...]
) -> Nodes:
    """The first host and the node count, each an `Unresolved` error when it cannot be read."""
    list_name = next((n for n in list_names if _get(environ, n) is not None), list_names[0])
    text = _get(environ, list_name) or ""
    first: str | Unresolved
    listed: int | Unresolved
    try:
        first, listed = hostlist.first_host(text), hostlist.count_hosts(text)
    except hostlist.HostlistError as error:
        problem = f"is not a Slurm hostlist: {error}"
        first = _unresolved("endpoint", list_name, text, problem)
        listed = _unresolved("nnodes", list_name, text, problem)
    size_name = next((n for n in size_names if _get(environ, n) is not None), None)
    if size_name is None:  # no count given: the list's length is the count
        return Nodes(first, listed, list_name, list_name)
    size: int | Unresolved
    size_text = _get(environ, size_name) or ""
    if not (size_text.isascii() and size_text.isdigit()) or len(size_text) > MAX_DIGITS:
        size = _unresolved("nnodes", size_name, size_text, "is not a node count")
    elif isinstance(listed, int) and int(size_text) != listed:
        size = _unresolved(
            "nnodes",
            size_name,
            size_text,
            f"but {list_name}={printable(text)} names {listed} node(s)",
        )
        first = size  # which of the two is wrong is not known: neither is used
    else:
        size = int(size_text)
    return Nodes(first, size, list_name, size_name)


def _run_id(environ: Mapping[str, str]) -> tuple[str | Unresolved, str]:
    """``SLURM_JOB_ID``, with ``.SLURM_STEP_ID`` inside a step; and its label."""
    job = _get(environ, JOB_ID) or ""
    step_name = next((n for n in STEP_ID if _get(environ, n) is not None), None)
    step = _get(environ, step_name) if step_name is not None else None
    for name, value in ((JOB_ID, job), (step_name, step)):
        if name is not None and value is not None and not (value.isascii() and value.isdigit()):
            return _unresolved("run_id", name, value, "is not a Slurm id"), f"slurm {name}"
    if step is None:
        return job, f"slurm {JOB_ID}"
    return f"{job}.{step}", f"slurm {JOB_ID}.{step_name}"


HINTS = {
    "endpoint": "give --rdzv-endpoint HOST:PORT",
    "nnodes": "give --nnodes N",
    "run_id": "give --rdzv-id ID",
}


def _unresolved(key: str, name: str, value: str, problem: str) -> Unresolved:
    """An error naming the variable and its value, with what to give instead."""
    return Unresolved(
        ConfigError(
            key,
            value,
            f"{f'{name}={quote(value)}' if value else name} {problem}",
            hint=f"{HINTS[key]}, or --scheduler none",
            source=f"slurm {name}",
        )
    )


def _heterogeneous(environ: Mapping[str, str]) -> tuple[str, str] | None:
    """The variable (and its value) that marks a heterogeneous job, or None."""
    for name in HET_SIZES:
        value = _get(environ, name)
        if value is not None:
            return name, value
    for name in sorted(environ):
        if name.startswith(HET_LISTS) and environ[name].strip():
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
