"""Typed errors that name the offending value and the valid choices.

Every error a user can cause by configuration is a [`ConfigError`][rendezvous_di.ConfigError], a
``ValueError`` subclass, so callers that already guard torch's own ``ValueError``
keep working while new code can read ``field``, ``value`` and ``choices``
instead of parsing a message.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .text import MAX_CHOICES, did_you_mean, one_line, shorten


class RendezvousDIError(Exception):
    """Base class of every error raised by rendezvous-di."""


class ConfigError(RendezvousDIError, ValueError):
    """A configuration value is invalid.

    Attributes:
        field: dotted name of the setting (``endpoint``, ``conf.join_timeout``).
        value: the offending value as given.
        choices: the valid values, when they form a finite set.
        source: where the value came from (``flag --rdzv-backend``, ``env PET_NNODES``...).
    """

    def __init__(
        self,
        field: str,
        value: object,
        problem: str,
        *,
        choices: Sequence[str] = (),
        hint: str | None = None,
        source: str | None = None,
    ) -> None:
        self.field = field
        self.value = value
        self.problem = problem
        self.choices = tuple(choices)
        self.hint = hint
        self.source = source
        super().__init__(self._render())

    def _render(self) -> str:
        origin = f" (from {self.source})" if self.source else ""
        text = f"{shorten(self.field)}{origin}: {self.problem}"
        if self.choices:
            shown = ", ".join(self.choices[:MAX_CHOICES])
            more = len(self.choices) - MAX_CHOICES
            text += f"; valid choices: {shown}" + (f" and {more} more" if more > 0 else "")
        if self.hint:
            text += f"; {self.hint}"
        return one_line(text)

    def with_source(self, source: str | None) -> ConfigError:
        """Return this error with the value's source filled in (the first one wins)."""
        if source and not self.source:
            self.source = source
            self.args = (self._render(),)
        return self


class UnknownBackendError(ConfigError):
    """The selected backend is not built in, not installed and not declared."""

    def __init__(self, name: str, choices: Iterable[str], *, source: str | None = None) -> None:
        pool = sorted(choices)
        super().__init__(
            "backend",
            name,
            f"unknown rendezvous backend {name!r}",
            choices=pool,
            hint=did_you_mean(name, pool),
            source=source,
        )


class UnknownOptionError(ConfigError):
    """A ``conf`` key that the selected backend does not read."""

    def __init__(
        self, backend: str, option: str, choices: Iterable[str], *, source: str | None = None
    ) -> None:
        pool = sorted(choices)
        self.backend = backend
        self.option = option
        super().__init__(
            f"conf.{option}",
            option,
            f"backend {backend!r} has no option {option!r}",
            choices=pool,
            hint=did_you_mean(option, pool),
            source=source,
        )


class LauncherFlagError(ConfigError, AssertionError):
    """A torchrun flag torch itself refuses with an ``AssertionError`` (``--max-restarts -1``).

    Also a `ConfigError`: we refuse it before torch is imported, and
    code written against ``torch.distributed.run.main`` still catches what it did.
    """


class ConfigFileError(ConfigError):
    """A configuration file is missing, unreadable or not valid YAML."""

    def __init__(self, path: str, problem: str, *, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}" if line is not None else path
        super().__init__("config file", path, f"{where}: {problem}")

    def _render(self) -> str:
        return one_line(f"config file {self.problem}")


class BackendDependencyError(RendezvousDIError, ImportError):
    """A backend needs an optional dependency that is not installed."""

    def __init__(self, backend: str, module: str, extra: str) -> None:
        self.backend = backend
        self.module = module
        self.extra = extra
        super().__init__(
            f"backend {backend!r} needs the module {module!r}, which is not installed; "
            f"install it with: pip install 'rendezvous-di[{extra}]'",
            name=module,
        )


class BackendMismatchError(RendezvousDIError, RuntimeError):
    """A creator returned a handler for another backend than the one requested.

    torch raises ``RuntimeError`` for this; we keep that base class and its
    wording, and add which provider produced the handler.
    """

    def __init__(self, requested: str, got: object, provider: str) -> None:
        self.requested = requested
        self.got = got
        super().__init__(
            f"The rendezvous backend {got!r} does not match the requested backend "
            f"{requested!r} (handler from {provider})."
        )


class NotATCPStoreError(RendezvousDIError, ConnectionError):
    """The endpoint a c10d handler would join is held by a server that is not a TCPStore.

    torch's client would wait for such a server forever, whatever its
    ``read_timeout``; we ask first (`rendezvous_di.backends.tcp_store`) and
    refuse within ``read_timeout``, naming the endpoint.
    """

    def __init__(self, backend: str, endpoint: str, detail: str) -> None:
        """``detail`` says what answered at ``endpoint`` (it names the endpoint)."""
        self.backend = backend
        self.endpoint = endpoint
        super().__init__(
            f"{backend}: {detail}; point --rdzv-endpoint at the store's host and port, "
            "or stop the server that holds it"
        )


class PluginError(RendezvousDIError):
    """Something about an out-of-tree ``torchrun.handlers`` backend.

    Attributes:
        backend: the backend (entry point) name.
        distribution: the distribution that declares it, with ``version``.
    """

    def __init__(self, message: str, *, backend: str, distribution: str, version: str) -> None:
        self.backend = backend
        self.distribution = distribution
        self.version = version
        super().__init__(message)


class PluginLoadError(PluginError, ImportError):
    """A plugin could not be imported, its getter failed, or it gave no creator.

    The original exception is the ``__cause__``; a ``SystemExit`` raised while
    importing a plugin ends up here too instead of ending the process.
    """


class PluginHandlerError(PluginError, RuntimeError):
    """A plugin's creator failed with something other than a ``RendezvousError``."""


class PluginSelectionError(ConfigError):
    """The selected backend is a plugin the policy denies, or one several distributions claim.

    ``choices`` lists the backends that can be selected instead (denied), or
    the distributions that claim the name (conflict).
    """


class ProviderPatchError(RendezvousDIError, TypeError):
    """A non-provider value was assigned to a provider attribute of a container."""

    def __init__(self, name: str, value: object, backend: bool) -> None:
        self.name = name
        self.value = value
        where = f"container.backends.providers[{name!r}]" if backend else f"container.{name}"
        fixture = (
            f"rendezvous_override(replacement, backend={name!r})"
            if backend
            else "rendezvous_override.handler(replacement)"
            if name == "handler"
            else f"container.{name}.override(providers.Object(replacement))"
        )
        super().__init__(
            f"cannot patch container attribute {name!r} with {value!r}: the container "
            f"attribute is not what wired @inject functions, the backends Selector and "
            f"torch's registry use, so the patch would not reach the code under test. "
            f"Override the provider instead: "
            f"`with {where}.override(providers.Object(replacement)):` "
            f"(a handler instance; providers.Factory(creator) for a creator), "
            f"or in tests with the rendezvous_override fixture: `{fixture}`"
        )
