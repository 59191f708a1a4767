"""Real ``torchrun.handlers`` plugin distributions for tests.

Each plugin is a small project (``pyproject.toml`` with an entry point, one
module) built into a wheel by pip and setuptools, as a plugin author would,
then installed by unpacking the wheel into its own directory: putting that
directory on ``sys.path`` (or ``PYTHONPATH``) installs the plugin, removing it
uninstalls it, so each test chooses exactly which plugins are installed.

Every plugin module appends ``import <backend>`` when imported and ``getter
<backend>`` when its getter is called to the file named by ``RDZV_TEST_EVENTS``:
tests read it to prove what was (not) imported, in this process or another.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

EVENTS_ENV = "RDZV_TEST_EVENTS"
IMPORT_DELAY_ENV = "RDZV_TEST_IMPORT_DELAY"

_EVENTS = f'''
import os as _os
import time as _time


def _event(what):
    path = _os.environ.get("{EVENTS_ENV}")
    if path:
        with open(path, "a") as events:
            events.write(what + "\\n")
'''


def _handler_module(backend: str, reports: str | None = None, options: str = "") -> str:
    """A plugin whose handler is a small, complete RendezvousHandler for ``backend``.

    ``options`` is Python source for the creator's ``rendezvous_options`` (a plain
    mapping: the plugin imports nothing of rendezvous-di).
    """
    declared = f"\n\nPluginHandler.rendezvous_options = {options}\n" if options else ""
    return (
        _EVENTS
        + f'''
from torch.distributed.elastic.rendezvous import RendezvousClosedError, RendezvousHandler

_event("import {backend}")
_time.sleep(float(_os.environ.get("{IMPORT_DELAY_ENV}", "0")))


class PluginHandler(RendezvousHandler):
    """Serves one node that never meets anyone: enough to be selected and inspected."""

    def __init__(self, params):
        self.params = params
        self._closed = False

    def get_backend(self):
        return {reports or backend!r}

    def next_rendezvous(self):
        raise RendezvousClosedError("{backend} is a test plugin without peers")

    def is_closed(self):
        return self._closed

    def set_closed(self):
        self._closed = True

    def num_nodes_waiting(self):
        return 0

    def get_run_id(self):
        return self.params.run_id

    def shutdown(self):
        self._closed = True
        return True


def get_handler():
    _event("getter {backend}")
    return PluginHandler
'''
        + declared
    )


_LOCKSTEP = (
    _EVENTS
    + '''
from torch.distributed.elastic.rendezvous.c10d_rendezvous_backend import create_backend
from torch.distributed.elastic.rendezvous.dynamic_rendezvous import (
    RendezvousBackend,
    create_handler,
)

_event("import lockstep")


class LockstepBackend(RendezvousBackend):
    """torch's c10d state backend under another name: a real out-of-tree rendezvous."""

    def __init__(self, inner):
        self._inner = inner

    @property
    def name(self):
        return "lockstep"

    def get_state(self):
        return self._inner.get_state()

    def set_state(self, state, token=None):
        return self._inner.set_state(state, token)


def create(params):
    backend, store = create_backend(params)
    return create_handler(store, LockstepBackend(backend), params)


def get_handler():
    _event("getter lockstep")
    return create
'''
)


def _hostile_module(backend: str, action: str) -> str:
    """A plugin whose import does ``action`` (Python source) after logging its pid."""
    return (
        _EVENTS
        + f'_event("import {backend} " + str(_os.getpid()))\n'
        + action
        + "\n\ndef get_handler():\n    raise AssertionError('never reached')\n"
    )


HOSTILE = {
    "rdzv-hardexit": ("hardexit", "_os._exit(3)"),
    "rdzv-segv": ("segv", "import signal\n_os.kill(_os.getpid(), signal.SIGSEGV)"),
    "rdzv-ccrash": ("ccrash", "import ctypes\nctypes.string_at(0)"),
    "rdzv-interrupt": ("interrupt", 'raise KeyboardInterrupt("pressed by the plugin")'),
}
"""Plugins that end or interrupt the process importing them: dist -> (backend, action)."""


TUNED_OPTIONS = """{
    "rounds": {"type": "int", "default": 3, "help": "rounds to play", "minimum": 1},
    "ratio": {"type": "float", "default": 0.5, "help": "share of nodes"},
    "mode": {"type": "str", "default": "fast", "help": "pace", "choices": ["fast", "safe"]},
    "verbose": {"type": "bool", "default": False, "help": "log every round"},
}"""
"""The options the ``tuned`` test plugin declares on its creator."""

PYTYPES_OPTIONS = """{
    "window": {"type": int, "default": 8, "help": "steps per window", "minimum": 1},
    "ratio": {"type": float, "default": 0.5, "help": "share of nodes"},
    "mode": {"type": str, "default": "fast", "help": "pace", "choices": ["fast", "safe"]},
    "verbose": {"type": bool, "default": False, "help": "log every round"},
}"""
"""The ``pytypes`` plugin's options, with Python's own types as most people write them."""


@dataclass(frozen=True)
class PluginProject:
    """One distribution: its entry points (backend -> ``module:attr``) and modules."""

    dist: str
    version: str
    entry_points: dict[str, str]
    modules: dict[str, str] = field(default_factory=dict)

    def write(self, root: Path) -> Path:
        project = root / self.dist
        project.mkdir(parents=True)
        entry_points = "\n".join(f'"{k}" = "{v}"' for k, v in self.entry_points.items())
        modules = ", ".join(f'"{m}"' for m in self.modules)
        (project / "pyproject.toml").write_text(
            textwrap.dedent(
                f"""\
                [build-system]
                requires = ["setuptools"]
                build-backend = "setuptools.build_meta"

                [project]
                name = "{self.dist}"
                version = "{self.version}"

                [project.entry-points."torchrun.handlers"]
                """
            )
            + entry_points
            + f"\n\n[tool.setuptools]\npy-modules = [{modules}]\n"
        )
        for module, source in self.modules.items():
            (project / f"{module}.py").write_text(source)
        return project


PROJECTS: dict[str, PluginProject] = {
    p.dist: p
    for p in (
        PluginProject(
            "rdzv-good",
            "1.0",
            {"good": "rdzv_good:get_handler"},
            {"rdzv_good": _handler_module("good")},
        ),
        PluginProject(
            "rdzv-boom",
            "0.3",
            {"boom": "rdzv_boom:get_handler"},
            {
                "rdzv_boom": _EVENTS
                + '_event("import boom")\nraise RuntimeError("boom on purpose")\n'
            },
        ),
        PluginProject("rdzv-missing", "0.1", {"missing": "rdzv_not_installed:get_handler"}),
        PluginProject(
            "rdzv-exit",
            "0.2",
            {"exit": "rdzv_exit:get_handler"},
            {"rdzv_exit": _EVENTS + '_event("import exit")\nraise SystemExit(3)\n'},
        ),
        PluginProject(
            "rdzv-notcallable",
            "0.4",
            {"notcallable": "rdzv_notcallable:get_handler"},
            {
                "rdzv_notcallable": _EVENTS
                + '_event("import notcallable")\n\ndef get_handler():\n    return 42\n'
            },
        ),
        PluginProject(
            "rdzv-wrongname",
            "0.5",
            {"wrongname": "rdzv_wrongname:get_handler"},
            {"rdzv_wrongname": _handler_module("wrongname", reports="someone-else")},
        ),
        PluginProject(
            "rdzv-badcreator",
            "0.6",
            {"badcreator": "rdzv_badcreator:get_handler"},
            {
                "rdzv_badcreator": _EVENTS
                + "\n\ndef create(params):\n    raise SystemExit(4)\n"
                + "\n\ndef get_handler():\n    return create\n"
            },
        ),
        PluginProject(
            "rdzv-twin-a",
            "1.0",
            {"twin": "rdzv_twin_a:get_handler"},
            {"rdzv_twin_a": _handler_module("twin")},
        ),
        PluginProject(
            "rdzv-twin-b",
            "2.0",
            {"twin": "rdzv_twin_b:get_handler"},
            {"rdzv_twin_b": _handler_module("twin")},
        ),
        PluginProject(
            "rdzv-c10d",
            "9.0",
            {"c10d": "rdzv_c10d:get_handler"},
            {"rdzv_c10d": _handler_module("c10d")},
        ),
        PluginProject(
            "rdzv-tuned",
            "1.1",
            {"tuned": "rdzv_tuned:get_handler"},
            {"rdzv_tuned": _handler_module("tuned", options=TUNED_OPTIONS)},
        ),
        PluginProject(
            "rdzv-baddecl",
            "0.7",
            {"baddecl": "rdzv_baddecl:get_handler"},
            {"rdzv_baddecl": _handler_module("baddecl", options='{"rounds": {"type": "integer"}}')},
        ),
        PluginProject(
            "rdzv-pytypes",
            "1.0",
            {"pytypes": "rdzv_pytypes:get_handler"},
            {"rdzv_pytypes": _handler_module("pytypes", options=PYTYPES_OPTIONS)},
        ),
        PluginProject(
            "rdzv-lockstep",
            "1.2",
            {"lockstep": "rdzv_lockstep:get_handler"},
            {"rdzv_lockstep": _LOCKSTEP},
        ),
        *(
            PluginProject(
                dist,
                "0.9",
                {backend: f"rdzv_{backend}:get_handler"},
                {f"rdzv_{backend}": _hostile_module(backend, action)},
            )
            for dist, (backend, action) in HOSTILE.items()
        ),
    )
}


def build_and_install(root: Path) -> dict[str, Path]:
    """Build every project's wheel with pip (offline), install each into its own directory.

    Returns the install directory of each distribution; prepend it to
    ``sys.path`` or ``PYTHONPATH`` to have that plugin installed.
    """
    sources = root / "src"
    wheels = root / "wheels"
    projects = [p.write(sources) for p in PROJECTS.values()]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--wheel-dir",
            str(wheels),
            *map(str, projects),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    installed: dict[str, Path] = {}
    for dist in PROJECTS:
        wheel = next(wheels.glob(dist.replace("-", "_") + "-*.whl"))
        target = root / "site" / dist
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(target)
        installed[dist] = target
    return installed


def modules_of(dist: str) -> tuple[str, ...]:
    """The top-level modules a test distribution installs (to forget them after a test)."""
    return tuple(PROJECTS[dist].modules)


def install_claimants(site: Path, backend: str, count: int) -> Path:
    """``count`` installed distributions that all declare ``backend``, in one site directory.

    Written as the ``.dist-info`` directories pip leaves behind (metadata and
    entry points), which is all discovery reads: building hundreds of wheels
    would take minutes, and none of these plugins is ever imported (a name
    claimed twice is a conflict, never loaded).
    """
    site.mkdir(parents=True, exist_ok=True)
    for number in range(count):
        dist = f"rdzv-claimant-{number:04d}"
        info = site / f"{dist.replace('-', '_')}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
        module = dist.replace("-", "_")
        (info / "entry_points.txt").write_text(
            f"[torchrun.handlers]\n{backend} = {module}:get_handler\n"
        )
        (info / "RECORD").write_text("")
    return site
