"""The training script is there before any worker is started to run it.

torchrun starts ``--nproc-per-node`` workers for a script that does not
exist, each fails with Python's "can't open file", and the job ends after a
rendezvous and a restart budget with a page of worker errors. We say it once,
before launch, in the terms of the way torch will start the worker:

- ``python -u SCRIPT`` (the default) and ``--run-path`` (``runpy.run_path``):
  a regular readable file, or a directory or zip file with a ``__main__.py``
  (Python runs either);
- ``--no-python``: the program itself, a path to an executable file, or a
  name found on ``PATH`` as ``subprocess`` finds it;
- ``-m``/``--module``: a module name, imported by the worker with its own
  ``sys.path``: not checked here.
"""

from __future__ import annotations

import os
import shutil
import stat

from ..errors import ConfigError
from ..paths import file_problem
from ..text import quote

FIELD = "training_script"


def check_training_script(
    script: str | None, *, module: bool, no_python: bool, run_path: bool
) -> None:
    """Raise ConfigError when the workers could not start ``script`` as torch will run it."""
    if script is None or module:
        return
    if no_python:
        _check_program(script)
        return
    try:
        is_directory = stat.S_ISDIR(os.stat(script).st_mode)
    except (OSError, ValueError):
        is_directory = False
    if is_directory:
        if file_problem(os.path.join(script, "__main__.py")) is not None:
            raise ConfigError(
                FIELD,
                script,
                f"{quote(script)} is a directory without a __main__.py; python cannot run it",
                hint="give the script's path, or -m MODULE",
                source="argument",
            )
        return
    problem = file_problem(script)
    if problem is not None:
        hint = "give -m to run a module" if _looks_like_module(script) else None
        if run_path:
            problem += " (--run-path runs it in the agent's interpreter)"
        raise ConfigError(FIELD, script, problem, hint=hint, source="argument")


def _check_program(program: str) -> None:
    """``--no-python``: what ``subprocess`` would execute, a path or a name on ``PATH``."""
    if os.sep in program:
        problem = file_problem(program, executable=True)
        if problem is not None:
            raise ConfigError(FIELD, program, problem, source="argument (--no-python)")
        return
    if shutil.which(program) is None:
        raise ConfigError(
            FIELD,
            program,
            f"{quote(program)} is no executable program on PATH",
            hint="give its path, or leave out --no-python to run a Python script",
            source="argument (--no-python)",
        )


def _looks_like_module(script: str) -> bool:
    return "." in script and os.sep not in script and not script.endswith(".py")
