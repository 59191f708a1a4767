"""Kubeflow: what its operators set in a pod, read through torchrun's own rules, nothing invented.

What each operator sets (read from their sources):

- Trainer v2 (``TrainJob``, its Torch plugin): ``PET_NNODES``,
  ``PET_NPROC_PER_NODE``, ``PET_NODE_RANK``, ``PET_MASTER_ADDR`` and
  ``PET_MASTER_PORT``, and nothing about the rendezvous backend: torchrun
  then meets with ``static`` at the master address, as we do
  (`rendezvous_di.config.master`).
- Training operator v1 (``PyTorchJob``), elastic: ``PET_RDZV_BACKEND``,
  ``PET_RDZV_ENDPOINT``, ``PET_NNODES`` (``MIN:MAX``) and, when given,
  ``PET_RDZV_ID``, ``PET_RDZV_CONF``, ``PET_MAX_RESTARTS``.
- Training operator v1 with a Master replica: ``MASTER_ADDR``,
  ``MASTER_PORT``, ``WORLD_SIZE``, ``RANK`` (and, since v1.7,
  ``PET_NNODES``, ``PET_NODE_RANK``, ``PET_NPROC_PER_NODE``).

Every PET_* variable is already read by the environment source, above the
config file. What is left to this layer, below the file, is the pair
torchrun does not read: ``MASTER_ADDR`` and ``MASTER_PORT``, which
PyTorchJob sets without the PET_ prefix (users pass them on as
``--master-addr $MASTER_ADDR --master-port $MASTER_PORT``). ``WORLD_SIZE``
and ``RANK`` are not read: their meaning changed across operator versions
(v1.7 made ``WORLD_SIZE`` count processes, not pods), and the operators that
give them also give ``PET_NNODES`` and ``PET_NODE_RANK``.

A Kubeflow pod is recognised by ``KUBERNETES_SERVICE_HOST`` (every pod has
it) together with what these operators set (`MARKERS`): ``PET_MASTER_ADDR``,
``PET_RDZV_ENDPOINT``, ``PET_NNODES``, or the four of ``MASTER_ADDR``,
``MASTER_PORT``, ``WORLD_SIZE`` and ``RANK`` together; a plain pod or a
shell with ``MASTER_ADDR`` exported is not one.
"""

from __future__ import annotations

from collections.abc import Mapping

from ...text import printable
from ..layers import Layer

KUBERNETES = "KUBERNETES_SERVICE_HOST"
MARKERS = (
    (("PET_MASTER_ADDR",), "Trainer v2"),
    (("PET_RDZV_ENDPOINT",), "PyTorchJob, elastic"),
    (("MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK"), "PyTorchJob with a Master replica"),
    (("PET_NNODES",), "PyTorchJob or Trainer"),
)
"""Variables a Kubeflow operator sets in every pod of a job (all of a group), and who sets them."""

MASTER_VARIABLES = (("master_addr", "MASTER_ADDR"), ("master_port", "MASTER_PORT"))


WHAT = "a Kubeflow pod"
"""What ``--scheduler kubeflow`` outside of one is not inside."""


def found(environ: Mapping[str, str]) -> str | None:
    """Why this looks like a Kubeflow pod (``KUBERNETES_SERVICE_HOST, PET_NNODES=2 (...)``)."""
    if not _get(environ, KUBERNETES):
        return None
    for names, who in MARKERS:
        if all(_get(environ, name) for name in names):
            shown = ", ".join(f"{name}={printable(_get(environ, name))}" for name in names)
            return f"{KUBERNETES} and {shown} ({who})"
    return None


def missing(environ: Mapping[str, str]) -> str:
    """What is missing for `found` to see one (for ``--scheduler kubeflow`` elsewhere)."""
    if not _get(environ, KUBERNETES):
        return f"{KUBERNETES} is not set (not a Kubernetes pod)"
    groups = ("/".join(names) for names, _ in MARKERS)
    return f"none of {', '.join(groups)} is set"


def read(environ: Mapping[str, str], port: int | None = None) -> Layer:
    """``MASTER_ADDR``/``MASTER_PORT`` as torchrun's master flags (``kubeflow MASTER_ADDR``).

    ``port`` is not read: the operator's ``MASTER_PORT`` says where the master listens.
    """
    layer = Layer()
    for key, name in MASTER_VARIABLES:
        value = _get(environ, name)
        if value:
            layer.set(key, value, f"kubeflow {name}")
    return layer


def _get(environ: Mapping[str, str], name: str) -> str:
    return environ.get(name, "").strip()
