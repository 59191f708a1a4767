"""``--container MODULE:NAME``: the CLI's way to a platform's own container.

A platform that nests ``RendezvousContainer`` and adds backends of its own
wants ``rendezvous-di backends``, ``config`` and ``run`` to see that
container. The target is a container class or instance, or a callable
returning one; either a rendezvous container itself (it has a ``backends``
Selector) or one that nests it under a ``rendezvous`` provider.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dependency_injector import containers, providers

from ..errors import ConfigError, quote

_HINT = "for example containers.platform:TrainingPlatformContainer or path/to/file.py:Container"


def load_container(spec: str) -> Any:
    """Return the rendezvous container that ``spec`` (``MODULE:NAME``) points at."""
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise ConfigError("--container", spec, "expected MODULE:NAME", hint=_HINT)
    module = _import(module_name, spec)
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ConfigError(
                "--container", spec, f"module {module_name!r} has no attribute {attribute!r}"
            )
        target = getattr(target, part)
    is_class = isinstance(target, type) and issubclass(target, containers.DeclarativeContainer)
    is_factory = callable(target) and not isinstance(
        target, (containers.Container, providers.Provider)
    )
    if is_class or is_factory:
        target = _user_code(spec, f"calling {attribute!r}", target)
    return rendezvous_of(target, spec)


def rendezvous_of(target: Any, spec: str) -> Any:
    """``target`` if it is a rendezvous container, else its ``rendezvous`` nested one."""
    if isinstance(getattr(target, "backends", None), providers.Selector):
        return target
    nested = (
        getattr(target, "providers", {}).get("rendezvous") if hasattr(target, "providers") else None
    )
    if isinstance(nested, providers.Container):
        return nested()
    raise ConfigError(
        "--container",
        spec,
        f"{quote(target)} is neither a RendezvousContainer nor a container nesting one "
        "under a 'rendezvous' provider",
        hint=_HINT,
    )


def _import(name: str, spec: str) -> Any:
    if name.endswith(".py") or os.sep in name:
        path = Path(name)
        if not path.is_file():
            raise ConfigError("--container", spec, f"file {name!r} does not exist")
        loaded = importlib.util.spec_from_file_location(path.stem, path)
        if loaded is None or loaded.loader is None:
            raise ConfigError("--container", spec, f"cannot load {name!r} as Python")
        loader = loaded.loader
        module = importlib.util.module_from_spec(loaded)
        sys.modules[path.stem] = module
        _user_code(spec, f"running {name!r}", lambda: loader.exec_module(module))
        return module
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # like `python -m`: modules of the current project
    try:
        return _user_code(spec, f"importing {name!r}", lambda: importlib.import_module(name))
    except ModuleNotFoundError as error:
        raise ConfigError("--container", spec, f"cannot import {name!r}: {error}") from None


def _user_code(spec: str, what: str, call: Callable[[], Any]) -> Any:
    """Run the platform's code; whatever it raises (``SystemExit`` too) names ``--container``.

    A typo in the platform's module must not end the command with a traceback,
    or silently with the module's own exit code.
    """
    try:
        return call()
    except (KeyboardInterrupt, ModuleNotFoundError):
        raise
    except BaseException as error:
        raise ConfigError(
            "--container", spec, f"{what} raised {type(error).__name__}: {error}"
        ) from error
