"""``--container MODULE:NAME``: the command line's way to a platform's own container.

A platform that nests ``RendezvousContainer`` and adds backends of its own
wants ``rendezvous-di backends``, ``config`` and ``run`` to see that
container. The target is a container class or instance, or a factory (a
callable taking no argument) returning one; either a rendezvous container
itself (it has a ``backends`` Selector) or one that nests it under a
``rendezvous`` provider. A factory is how a platform keeps its own
configuration: it builds and configures its container as it does in
production, and the CLI only adds its sources (flags, ``--config``) on top.

dependency-injector (about 45 ms with the pydantic it pulls in) is imported
when a container is made, not with this module: a command refused for its
flags (``run --nproc-per-node 0``) answers before it.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .paths import file_problem
from .stop import is_stop
from .text import quote, shorten

_HINT = "for example containers.platform:TrainingPlatformContainer or path/to/file.py:Container"


def new_container(spec: str | None) -> Any:
    """A fresh ``RendezvousContainer``, or the one a ``--container MODULE:NAME`` points at."""
    if spec is not None:  # --container "" is an error, not the default container
        return load_container(spec)
    from .container import RendezvousContainer  # dependency-injector: on first use only

    return RendezvousContainer()


def load_container(spec: str) -> Any:
    """Return the rendezvous container that ``spec`` (``MODULE:NAME``) points at.

    Everything that runs the platform's code (importing, attribute lookups,
    calling a factory) goes through `_user_code`: whatever it raises is
    a ``--container`` error, never a traceback.
    """
    from dependency_injector import containers, providers

    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise ConfigError("--container", spec, "expected MODULE:NAME", hint=_HINT)
    module = _import(module_name, spec)
    target: Any = module
    for part in attribute.split("."):
        found = _user_code(
            spec, f"looking up {attribute!r}", functools.partial(getattr, target, part, _MISSING)
        )
        if found is _MISSING:
            raise ConfigError(
                "--container", spec, f"module {module_name!r} has no attribute {attribute!r}"
            )
        target = found
    is_class = _is_container_class(target)
    is_factory = callable(target) and not isinstance(
        target, (containers.Container, providers.Provider)
    )
    if is_class or is_factory:
        target = _user_code(spec, f"calling {attribute!r}", target)
    if _is_container_class(target):  # a factory that returned the class: make it as for the class
        target = _user_code(spec, f"calling what {attribute!r} returned", target)
    return _user_code(spec, f"reading {attribute!r}", lambda: rendezvous_of(target, spec))


_MISSING = object()


def _is_container_class(target: Any) -> bool:
    from dependency_injector import containers

    return isinstance(target, type) and issubclass(target, containers.DeclarativeContainer)


def rendezvous_of(target: Any, spec: str) -> Any:
    """``target`` if it is a rendezvous container, else its ``rendezvous`` nested one."""
    from dependency_injector import providers

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
        f"{quote(target)} ({type(target).__name__}) is neither a RendezvousContainer nor a "
        "container nesting one under a 'rendezvous' provider",
        hint=_HINT,
    )


def _import(name: str, spec: str) -> Any:
    if name.endswith(".py") or os.sep in name:
        path = Path(name)
        problem = file_problem(name)  # a FIFO would hang the import: refused by what it is
        if problem is not None:
            raise ConfigError("--container", spec, problem)
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
        return _user_code(
            spec, f"importing {name!r}", lambda: importlib.import_module(name), missing=name
        )
    except ModuleNotFoundError as error:
        raise ConfigError("--container", spec, f"cannot import {name!r}: {error}") from None


def _user_code(spec: str, what: str, call: Callable[[], Any], *, missing: str | None = None) -> Any:
    """Run the platform's code; whatever it raises (``SystemExit`` too) names ``--container``.

    A typo in the platform's module must not end the command with a traceback,
    or silently with the module's own exit code. Only Ctrl-C passes through
    (the command ends as interrupted), and the ``missing`` module itself not
    being found, which the caller words.
    """
    try:
        return call()
    except KeyboardInterrupt:
        raise
    except ConfigError:
        raise
    except ModuleNotFoundError as error:
        if missing and error.name and f"{missing}.".startswith(f"{error.name}."):
            raise  # the module itself (or its package) is not there: the caller says so
        raise ConfigError("--container", spec, f"{what} raised {_describe(error)}") from error
    except BaseException as error:
        if is_stop(error):
            raise  # a signal during the platform's import ends the command, as anywhere
        raise ConfigError("--container", spec, f"{what} raised {_describe(error)}") from error


def _describe(error: BaseException) -> str:
    """``Type: message`` of the platform's exception, even when its ``__str__`` fails."""
    try:
        text = str(error)
    except Exception:
        text = "<its message cannot be shown>"
    return f"{type(error).__name__}: {shorten(text, 400)}" if text else type(error).__name__
