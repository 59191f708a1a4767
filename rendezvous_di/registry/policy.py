"""The ``plugins`` policy applied to installed plugins: who may serve, and names that match nothing.

`denial` says why the policy forbids one plugin (`rendezvous_di.registry.claims`
decides a name from it). `policy_warnings` says out loud what matches nothing:

``plugins.allow: [gooood]`` silently allows nothing, and ``override_builtins:
[c10]`` silently replaces nothing; the job then runs with other backends than
its author meant. The policy stays valid (a name may be installed later, on
the node that runs the job), so these are warnings, not errors.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..backends.builtin import BUILTIN_BACKENDS
from ..config.policy import DISABLE_AUTOLOAD_ENV, PluginPolicy
from ..plugins.entry_points import canonical_name
from ..plugins.spec import PluginSpec
from ..text import nearest, quote

SHOWN_INSTALLED = 5
"""Installed plugins a warning names; more are counted."""


def denial(spec: PluginSpec, policy: PluginPolicy) -> str | None:
    """Why ``policy`` forbids the plugin ``spec``, or None when it may be used.

    ``deny`` (backend or distribution names) always wins; with ``allow`` set,
    only listed plugins are usable; with ``autoload`` off, only plugins listed in
    ``allow`` are (pytest's ``PYTEST_DISABLE_PLUGIN_AUTOLOAD`` with ``-p``).
    """
    if spec.matches(policy.deny):
        return "listed in plugins.deny"
    if not policy.autoload and not spec.matches(policy.allow):
        return (
            f"plugin autoload is off (plugins.autoload or {DISABLE_AUTOLOAD_ENV}); "
            "list it in plugins.allow to use it"
        )
    if policy.allow and not spec.matches(policy.allow):
        return f"not listed in plugins.allow ({', '.join(policy.allow)})"
    return None


def policy_warnings(policy: PluginPolicy, installed: Iterable[PluginSpec]) -> list[str]:
    """One line per ``allow`` or ``override_builtins`` name that matches no installed plugin."""
    specs = list(installed)
    warnings = []
    for name in policy.allow:
        if not any(spec.matches((name,)) for spec in specs):
            candidates = sorted({s.name for s in specs} | {s.distribution for s in specs})
            warnings.append(
                _line("plugins.allow", name, "matches no installed plugin", specs, candidates)
            )
    for name in policy.override_builtins:
        if name not in BUILTIN_BACKENDS:
            warnings.append(
                _line(
                    "plugins.override_builtins",
                    name,
                    f"is not a built-in backend (built-ins: {', '.join(sorted(BUILTIN_BACKENDS))})",
                    [],
                    sorted(BUILTIN_BACKENDS),
                )
            )
        elif not any(spec.name == name for spec in specs):
            warnings.append(
                _line(
                    "plugins.override_builtins",
                    name,
                    f"is claimed by no installed plugin, so the built-in {name!r} stays",
                    specs,
                    (),
                )
            )
    return warnings


def _line(
    field: str, name: str, problem: str, specs: list[PluginSpec], candidates: Iterable[str]
) -> str:
    text = f"warning: {field}: {quote(name)} {problem}"
    if specs:
        shown = ", ".join(f"{s.name} ({s.distribution})" for s in specs[:SHOWN_INSTALLED])
        more = len(specs) - SHOWN_INSTALLED
        text += f"; installed: {shown}" + (f" and {more} more" if more > 0 else "")
    elif field == "plugins.allow":
        text += "; no torchrun.handlers plugin is installed"
    guess = nearest(name, list(candidates)) or _canonical_guess(name, specs)
    if guess and guess != name:
        text += f"; did you mean {guess!r}?"
    return text


def _canonical_guess(name: str, specs: list[PluginSpec]) -> str | None:
    wanted = canonical_name(name)
    return next((s.distribution for s in specs if canonical_name(s.distribution) == wanted), None)
