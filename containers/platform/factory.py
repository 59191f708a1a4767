"""``configured_platform``: the platform built from its own YAML file, for ``--container``.

``rendezvous-di run --container containers.platform.factory:configured_platform ...``
calls this factory (no arguments) and uses the container it returns. Given the class
instead (``containers.platform:TrainingPlatformContainer``), the CLI would build the
platform with its defaults and the platform's file (its ``cluster``, its directory's
``endpoints``) would be lost; a factory builds it as the platform does in production.

The file's ``rendezvous`` block is read as the nested container's config file
(``config_file`` with ``config_key``), not as its ``config``: a file is the lowest
source, so PET_* variables and flags still override it, with provenance
``file platform.yaml under rendezvous``.
"""

from __future__ import annotations

import os
from pathlib import Path

from .containers import TrainingPlatformContainer

CONFIG_ENV = "PLATFORM_CONFIG"
"""The variable naming the platform's file; `DEFAULT_CONFIG` without it."""
DEFAULT_CONFIG = Path(__file__).with_name("platform.yaml")
RENDEZVOUS_KEY = "rendezvous"


def configured_platform() -> TrainingPlatformContainer:
    """The platform configured from ``$PLATFORM_CONFIG`` (default: ``platform.yaml`` here)."""
    path = os.environ.get(CONFIG_ENV) or str(DEFAULT_CONFIG)
    container = TrainingPlatformContainer()
    container.config.from_yaml(path, required=True)  # the platform's own keys
    container.config.set(RENDEZVOUS_KEY, {})  # the rendezvous keys are read below, as a file
    container.rendezvous.config_file.override(path)
    container.rendezvous.config_key.override(RENDEZVOUS_KEY)
    return container
