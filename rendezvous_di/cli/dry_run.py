"""``rendezvous-di run --dry-run``: the plain torchrun command a job amounts to, nothing started.

Someone debugging a job wants to see it in torchrun's words: the effective
rendezvous (from every source, resolved as ``run`` resolves it) and every
launcher flag given, shell-quoted so the line can be pasted; then the same
as ``PET_*`` variables, ready for a Kubernetes manifest's ``env:``, with the
command that goes with them. Every check ``run`` makes comes first (its
flags, the settings, the backend's local checks), so bad input still exits 2;
torch is not imported, no store, thread or worker is started.

What plain torchrun cannot do is said in ``#`` lines: a backend the container
declares, a plugin it finds only where that plugin is installed, the
``plugins`` policy, a masked secret.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from typing import TextIO

from ..config.policy import DISABLE_AUTOLOAD_ENV
from ..config.torchrun_args import launcher_options
from ..run import Prepared
from .torchrun_text import env_line, rendezvous_and_notes

PROGRAM = "torchrun"


def render(prepared: Prepared, out: TextIO, *, environ: Mapping[str, str] | None = None) -> None:
    """Write the command, then the same as PET_* lines and the command that goes with them."""
    environ = os.environ if environ is None else environ
    settings, description, args = prepared.settings, prepared.description, prepared.line.args
    rendezvous, notes = rendezvous_and_notes(
        settings, description, args.container_spec, show_secrets=bool(args.show_secrets)
    )
    launcher = launcher_options(args, environ)
    script = [args.training_script, *args.training_script_args]
    out.write("# rendezvous-di run --dry-run: nothing was started. The same job with torchrun:\n")
    for note in notes:
        out.write(f"# {note}\n")
    arguments = [PROGRAM]
    for value in rendezvous.values:
        arguments += value.flag_args()
    for option in launcher:
        arguments += option.flag_args()
    out.write(shlex.join([*arguments, *script]) + "\n")

    out.write("# the same as environment variables (torchrun reads PET_*), then the command:\n")
    for value in rendezvous.values:
        out.write(env_line(*value.env_item()))
    for option in launcher:
        if option.env is not None:
            out.write(env_line(option.env, "1" if option.text is None else option.text))
    if not settings.plugins.autoload:
        out.write(env_line(DISABLE_AUTOLOAD_ENV, "1"))
    no_twin = [arg for option in launcher if option.env is None for arg in option.flag_args()]
    out.write(shlex.join([PROGRAM, *no_twin, *script]) + "\n")
