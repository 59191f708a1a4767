"""Deployment profiles by name: ``--profile c10d`` instead of ``--config containers/c10d.yaml``.

The profiles are the YAML files of the repository's ``containers/`` directory, the
one copy of them. The build maps that directory onto the subpackage
``rendezvous_di.profiles`` (see setup.py), so the same names work from a clone, an
editable install and an installed wheel, whatever the working directory. A profile
is then read exactly like a ``--config`` file.
"""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

from ..errors import ConfigError
from ..text import shorten

PACKAGE = "rendezvous_di.profiles"
SUFFIX = ".yaml"


def profile_names() -> list[str]:
    """The names ``--profile`` accepts, sorted: every ``*.yaml`` the package ships."""
    return sorted(
        entry.name[: -len(SUFFIX)]
        for entry in resources.files(PACKAGE).iterdir()
        if entry.name.endswith(SUFFIX) and entry.is_file()
    )


def profile_path(name: str) -> Path:
    """The file of profile ``name``; a ``ConfigError`` naming ``profile`` and the choices."""
    names = profile_names()
    if name not in names:
        raise ConfigError("profile", name, f"unknown profile {shorten(name)!r}", choices=names)
    # Installed as a wheel or editable, the package is a plain directory (never a zip),
    # so the traversable is a real file that the YAML reader and the provenance can name.
    return Path(str(resources.files(PACKAGE).joinpath(name + SUFFIX)))


def profile_argument(name: str) -> str:
    """``--profile NAME`` as the file it names; an unknown name is a usage error (exit 2)."""
    try:
        return str(profile_path(name))
    except ConfigError as error:
        # argparse already names the flag ("argument --profile: ..."): drop our field prefix.
        raise argparse.ArgumentTypeError(str(error).removeprefix("profile: ")) from None
