"""Out-of-tree backends: ``torchrun.handlers`` entry points, discovered cheaply, loaded lazily.

torch's convention: an entry point in the group ``torchrun.handlers`` names
the backend; the object it points to is called with no arguments and returns
the creator ``(RendezvousParameters) -> RendezvousHandler``.

torch imports every such plugin when its rendezvous package is imported. We
split that in two. `discover` reads entry-point *metadata* only (no
plugin module is imported), once per container. A `PluginLoader`
imports one plugin the first time its backend is actually used, once per
process however many threads and containers ask, and turns every failure,
``SystemExit`` included, into a [`PluginLoadError`][rendezvous_di.PluginLoadError]
naming the backend, the distribution and its version.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

from .. import _torch
from ..backends.description import BackendDescription, ProbeResult
from ..backends.options import (
    DeclarationError,
    OptionSchema,
    declared_schema,
    schema_from_declaration,
)
from ..errors import (
    BackendMismatchError,
    ConfigError,
    PluginError,
    PluginHandlerError,
    PluginLoadError,
)
from ..stop import is_stop
from ..text import quote
from . import isolation
from .isolation import ChildVerdict
from .spec import PluginSpec

if TYPE_CHECKING:
    from torch.distributed.elastic.rendezvous import RendezvousHandler, RendezvousParameters

    from ..backends.deadline import Deadline
    from ..backends.options import OptionSpec
    from ..config.settings import RendezvousSettings

Creator = Callable[["RendezvousParameters"], "RendezvousHandler"]
LoadState = Literal["not loaded", "loaded", "failed"]


class PluginLoader:
    """Imports one plugin at most once per process and remembers the outcome.

    The first caller imports the module and calls its getter under a lock;
    concurrent callers wait for that one import and share its creator, or its
    failure: a broken plugin is not re-imported on every attempt.
    """

    def __init__(self, spec: PluginSpec) -> None:
        self.spec = spec
        self._lock = threading.RLock()
        self._creator: Creator | None = None
        self._problem: str | None = None  # set once loading failed
        self._cause: BaseException | None = None
        self._loading = False
        self._description: BackendDescription | None = None
        self._verdict: ChildVerdict | None = None  # loaded in a child process (isolation)
        self._invalid_options: str | None = None  # its rendezvous_options are not valid

    @property
    def state(self) -> LoadState:
        if self._creator is not None:
            return "loaded"
        if self._problem is not None:
            return "failed"
        return "not loaded" if self._verdict is None else self._verdict.state

    @property
    def invalid_options(self) -> str | None:
        """What is wrong with the plugin's ``rendezvous_options`` (found here or in a child)."""
        if self._invalid_options is None and self._verdict is not None:
            return self._verdict.invalid_options
        return self._invalid_options

    @property
    def reason(self) -> str | None:
        """Why loading failed, in one line; None unless `state` is ``failed``."""
        if self._problem is None and self._creator is None and self._verdict is not None:
            return self._verdict.reason
        return self._problem

    def record(self, verdict: ChildVerdict) -> None:
        """Remember what loading this plugin in a child process gave (see `isolation`).

        It answers descriptions, state and options in this process from then on;
        creating a handler still imports the plugin here.
        """
        self._verdict = verdict

    def creator(self) -> Creator:
        """The plugin's creator, importing the plugin on the first call.

        Raises:
            PluginLoadError: naming the plugin, chained to the original
                exception. Raised again (same cause) on every later call.
        """
        creator = self._creator
        if creator is not None:
            return creator
        with self._lock:
            if self._creator is not None:
                return self._creator
            if self._problem is None:
                if self._loading:  # the plugin's own import asked for its backend
                    raise self._error("re-entered its own loading (circular import)", None)
                self._load()
            if self._creator is None:
                raise self._error(self._problem or "did not load", self._cause)
            return self._creator

    def _load(self) -> None:
        # torch's rendezvous package must be imported our way first: a plugin that
        # imports it would otherwise make torch load every other plugin eagerly. Our
        # own entry point imports no torch, and needs none to be described.
        if not self.spec.first_party:
            _torch.rendezvous_module()
        self._loading = True
        step = "failed to import"
        try:
            getter = self.spec.entry_point.load()
            if not callable(getter):
                self._fail(f"entry point object {quote(getter)} is not callable", None)
                return
            step = "getter raised"
            creator = getter()
        except BaseException as exc:  # SystemExit too: a plugin must not end the process
            if is_stop(exc):
                raise  # Ctrl-C or SIGTERM is not the plugin's failure: do not record it
            self._fail(f"{step}: {type(exc).__name__}: {exc}", exc)
            return
        finally:
            self._loading = False
        if not callable(creator):
            self._fail(
                f"getter returned {quote(creator)} ({type(creator).__name__}), "
                "which is not callable; "
                "it must return a creator (RendezvousParameters) -> RendezvousHandler",
                None,
            )
            return
        try:
            self._description = self._describe(
                declared_schema(self.spec.name, creator), _declared_description(creator)
            )
        except DeclarationError as exc:
            self._invalid_options = str(exc)
            self._fail(f"declares invalid options: {exc}", exc)
            return
        self._creator = creator

    def _describe(
        self, schema: OptionSchema | None, declared: BackendDescription | None = None
    ) -> BackendDescription:
        about = BackendDescription(
            name=self.spec.name,
            origin="plugin",
            summary=f"entry point {self.spec.value}",
            schema=schema,
            probe=self._probe,
            distribution=self.spec.distribution,
            version=self.spec.version,
        )
        if declared is None:
            return about
        # A plugin that depends on rendezvous-di (our own etcd-v3) may describe itself
        # fully: endpoint, probe, settings check, cross-option rules. The name, origin and
        # distribution stay the entry point's; the options stay its rendezvous_options.
        checks = () if declared.schema is None else declared.schema.checks
        return replace(
            declared,
            name=about.name,
            origin="plugin",
            schema=None if schema is None else replace(schema, checks=checks),
            probe=declared.probe or about.probe,
            distribution=about.distribution,
            version=about.version,
        )

    def description(self, *, load: bool = True) -> BackendDescription:
        """The plugin as a backend: options from its creator's ``rendezvous_options``.

        Loads the plugin (the options are an attribute of its creator). A
        plugin that cannot be loaded is described with its options passed
        through and a probe that reports the failure: ``rendezvous-di check``
        answers "unreachable" (exit 1), and creating its handler raises the
        [`PluginLoadError`][rendezvous_di.PluginLoadError]. Without ``load``, a plugin
        not loaded yet is described with its options passed through.
        """
        if not load and self._description is None:
            return self._describe(None)
        if (
            self._creator is None
            and self._problem is None
            and isolation.active()
            and not self.spec.first_party  # our own code: nothing to isolate
        ):
            described = self._description_from_child()
            self._refuse_invalid_options()
            if self._verdict is None or not self._verdict.described:
                return described
            # The child proved the import harmless, and this plugin's description (its
            # probe, its checks) is code a pipe cannot carry: load it here too.
        try:
            self.creator()
        except PluginLoadError as error:
            self._refuse_invalid_options()
            return replace(self._describe(None), probe=_unloadable(self.spec.name, error))
        assert self._description is not None
        return self._description

    def _refuse_invalid_options(self) -> None:
        """A plugin whose option declaration is invalid cannot be selected: its options
        would pass through unchecked, a typo included (a usage error, exit 2)."""
        problem = self.invalid_options
        if problem is not None:
            raise ConfigError(
                "backend",
                self.spec.name,
                f"{self.spec.label} declares invalid options: {problem}",
                hint="fix the plugin's rendezvous_options, or select another backend",
            )

    def _description_from_child(self) -> BackendDescription:
        if self._verdict is None:
            (self._verdict,) = isolation.load_in_child([self.spec])
        verdict = self._verdict
        if verdict.state == "failed":
            error = self._error(verdict.reason or "did not load", None)
            return replace(self._describe(None), probe=_unloadable(self.spec.name, error))
        options = verdict.options
        return self._describe(
            None if options is None else schema_from_declaration(self.spec.name, options)
        )

    def known_options(self) -> tuple[OptionSpec, ...]:
        """The declared options if the plugin is loaded already (here or in a child);
        never imports it."""
        description = self._description
        if description is None and self._verdict is not None and self._verdict.options:
            description = self._description_from_child()
        schema = None if description is None else description.schema
        return () if schema is None else schema.options

    def _probe(self, settings: RendezvousSettings, deadline: Deadline) -> ProbeResult:
        """A loaded plugin passes: creating a handler would already join the rendezvous."""

        return ProbeResult(True, f"the plugin for {self.spec.name!r} loads")

    def _fail(self, problem: str, cause: BaseException | None) -> None:
        self._problem = problem
        self._cause = cause

    def _error(self, problem: str, cause: BaseException | None) -> PluginLoadError:
        error = PluginLoadError(
            f"rendezvous backend {self.spec.name!r}: {self.spec.label} {problem}",
            backend=self.spec.name,
            distribution=self.spec.distribution,
            version=self.spec.version,
        )
        error.__cause__ = cause
        return error

    def handler(self, params: RendezvousParameters, sync: Any = None) -> RendezvousHandler:
        """Create a handler with the plugin's creator and check it serves this backend.

        A creator that declares ``accepts_sync = True`` (ours for ``etcd-v3``)
        also gets the container's ``sync`` strategy; others get torch's single
        argument. ``RendezvousError`` and its subclasses pass through unchanged (callers
        handle them by type); anything else, ``SystemExit`` included, becomes
        a [`PluginHandlerError`][rendezvous_di.PluginHandlerError] naming the plugin.
        """
        creator = self.creator()  # imports torch's rendezvous package on the first call
        try:
            if sync is not None and getattr(creator, "accepts_sync", False) is True:
                takes_sync: Any = creator
                handler: RendezvousHandler = takes_sync(params, sync=sync)
            else:
                handler = creator(params)
        except _rendezvous_error():
            raise
        except BaseException as exc:
            if is_stop(exc):
                raise
            raise PluginHandlerError(
                f"rendezvous backend {self.spec.name!r}: the creator of {self.spec.label} "
                f"raised {type(exc).__name__}: {exc}",
                backend=self.spec.name,
                distribution=self.spec.distribution,
                version=self.spec.version,
            ) from exc
        got = handler.get_backend()
        if got != self.spec.name:
            raise BackendMismatchError(self.spec.name, got, self.spec.label)
        return handler

    def __deepcopy__(self, memo: dict[int, Any]) -> PluginLoader:
        # Containers are deep-copied (declarative -> instance, nested containers);
        # the loader is process-wide state and must stay shared.
        return self

    def __repr__(self) -> str:
        return f"<PluginLoader {self.spec.name!r} {self.spec.value} {self.state}>"


def _declared_description(creator: object) -> BackendDescription | None:
    """The creator's optional ``rendezvous_description``, a `BackendDescription`."""
    try:
        declared = getattr(creator, "rendezvous_description", None)
    except Exception as error:  # third-party code: one odd plugin must not end a command
        raise DeclarationError(
            f"reading rendezvous_description raised {type(error).__name__}: {error}"
        ) from error
    if declared is None or isinstance(declared, BackendDescription):
        return declared
    raise DeclarationError(
        f"rendezvous_description must be a rendezvous_di BackendDescription, "
        f"got {type(declared).__name__}"
    )


def _unloadable(name: str, error: PluginLoadError) -> Callable[..., ProbeResult]:
    """A probe that reports why the plugin serving ``name`` cannot be loaded."""

    def probe(settings: RendezvousSettings, deadline: Deadline) -> ProbeResult:
        from ..backends.probing import why

        return ProbeResult(
            False,
            f"the plugin for {name!r} cannot be loaded: {why(error)}",
            "reinstall the plugin's distribution, or select another backend "
            "(rendezvous-di backends lists them)",
        )

    return probe


def _rendezvous_error() -> type[BaseException]:
    """torch's ``RendezvousError``, looked up when a creator failed, never before."""
    from torch.distributed.elastic.rendezvous import RendezvousError

    return RendezvousError


def load_all(loaders: Iterable[PluginLoader]) -> None:
    """Load every plugin of ``loaders`` not tried yet, recording each outcome on its loader.

    Inside `loading_in_a_child` they are
    loaded together in one child process; otherwise here, one after another.
    Failures are recorded (shown as ``failed``), never raised.
    """
    pending = [lo for lo in loaders if lo.state == "not loaded"]
    if isolation.active():
        for loader in [lo for lo in pending if lo.spec.first_party]:
            with contextlib.suppress(PluginError):  # our own code: loaded here, no child
                loader.creator()
        pending = [lo for lo in pending if not lo.spec.first_party]
        for loader, verdict in zip(
            pending, isolation.load_in_child([lo.spec for lo in pending]), strict=True
        ):
            loader.record(verdict)
        return
    for loader in pending:
        with contextlib.suppress(PluginError):  # recorded by the loader: listed as failed
            loader.creator()


_loaders: dict[tuple[str, str, str], PluginLoader] = {}
_loaders_lock = threading.Lock()


def loader_for(spec: PluginSpec) -> PluginLoader:
    """The process-wide loader of ``spec``: every container shares one load per plugin."""
    key = (spec.name, spec.value, spec.entry_point.location or "")
    with _loaders_lock:
        loader = _loaders.get(key)
        if loader is None:
            loader = _loaders[key] = PluginLoader(spec)
        return loader
