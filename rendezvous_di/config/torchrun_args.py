"""torchrun's options by name and arity: enough to read its command line without torch.

``rendezvous-di run`` validates its input before torch is imported (about
1.3 s): a typo must fail in milliseconds, not after torch's import and a
store. To find the rendezvous flags, ``--nproc-per-node`` and the training
script in ``argv`` we need to know which of torchrun's options take a value;
this table says so for the union of the parsers of the torch releases we
support (a test compares it with the installed torch's own ``get_args_parser()``:
every option torch has is here with its arity, and what is here beyond it is
in `NOT_IN_EVERY_TORCH`). An option the installed torch lacks passes this
torch-free parse (`rendezvous_di.config.flags.LaunchFlags.parse`) and is refused
by torch's parser, as torchrun refuses it. Only names and arity are copied:
every value is a string here, and torch's parser still reads ``argv``
afterwards, with its own types, choices and ``PET_*`` defaults.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import NamedTuple

from .torchrun import TORCHRUN_OPTIONS

VALUE_OPTIONS: tuple[tuple[str, ...], ...] = (
    ("--nnodes",),
    ("--nproc-per-node", "--nproc_per_node"),
    ("--rdzv-backend", "--rdzv_backend"),
    ("--rdzv-endpoint", "--rdzv_endpoint"),
    ("--rdzv-id", "--rdzv_id"),
    ("--rdzv-conf", "--rdzv_conf"),
    ("--max-restarts", "--max_restarts"),
    ("--monitor-interval", "--monitor_interval"),
    ("--start-method", "--start_method"),
    ("--event-log-handler", "--event_log_handler"),
    ("--role",),
    ("--log-dir", "--log_dir"),
    ("-r", "--redirects"),
    ("-t", "--tee"),
    ("--local-ranks-filter", "--local_ranks_filter"),
    ("--duplicate-stdout-filters", "--duplicate_stdout_filters"),
    ("--duplicate-stderr-filters", "--duplicate_stderr_filters"),
    ("--node-rank", "--node_rank"),
    ("--master-addr", "--master_addr"),
    ("--master-port", "--master_port"),
    ("--local-addr", "--local_addr"),
    ("--logs-specs", "--logs_specs"),
    ("--numa-binding", "--numa_binding"),
    ("--signals-to-handle", "--signals_to_handle"),
    ("--shutdown-timeout", "--shutdown_timeout"),
    ("--log-line-prefix-template", "--log_line_prefix_template"),
    ("--print-completion", "--print_completion"),
)
"""torchrun's options that take one value, with every spelling torch's parser accepts."""

FLAG_OPTIONS: tuple[tuple[str, ...], ...] = (
    ("--standalone",),
    ("-m", "--module"),
    ("--no-python", "--no_python"),
    ("--run-path", "--run_path"),
    ("--virtual-local-rank", "--virtual_local_rank"),
)
"""torchrun's options that take no value (torch reads their PET_* twin as 0 or 1)."""

NO_ENV_TWIN = ("--logs-specs", "--numa-binding", "--print-completion")
"""torchrun's options that torch's parser reads no ``PET_*`` variable for (a test checks it)."""

NOT_IN_EVERY_TORCH: dict[str, str] = {
    "--event-log-handler": "not in torch 2.6.0",
    "--duplicate-stdout-filters": "not in torch 2.6.0",
    "--duplicate-stderr-filters": "not in torch 2.6.0",
    "--numa-binding": "not in torch 2.6.0",
    "--signals-to-handle": "not in torch 2.6.0",
    "--shutdown-timeout": "not in torch 2.6.0",
    "--virtual-local-rank": "not in torch 2.6.0",
    "--log-line-prefix-template": "new in torch 2.14 (not in 2.13.0)",
    "--print-completion": "new in torch 2.14 (not in 2.13.0)",
}
"""Mirrored options some supported torch lacks, as measured on 2.6.0, 2.13.0 and 2.14.1."""

EXITS_EARLY = ("--print-completion",)
"""Options after which torch's parser prints something and exits, like ``--help``:
no training script is needed, and nothing is validated or started."""

TYPES: dict[str, Callable[[str], object]] = {
    "--max-restarts": int,
    "--node-rank": int,
    "--master-port": int,
    "--shutdown-timeout": int,
}
"""Where torch's parser converts a flag's text: a bad one fails here as it would there
(argparse's exit 2), before torch is imported. Every other value stays a string, for its
rule in `rendezvous_di.config.launcher_flags.RULES` to read as given."""


def exits_early(args: argparse.Namespace) -> bool:
    """``--help`` or `EXITS_EARLY`: torch's parser answers and exits; nothing else happens."""
    return bool(args.help) or any(
        getattr(args, flag[2:].replace("-", "_"), None) is not None for flag in EXITS_EARLY
    )


class LauncherOption(NamedTuple):
    """A torchrun launcher option a job sets: its flag, its ``PET_*`` twin, its value.

    ``text`` is None for an option that takes no value (``--no-python``).
    ``env`` is None where torch reads no variable for it (`NO_ENV_TWIN`).
    """

    flag: str
    env: str | None
    text: str | None

    def flag_args(self) -> list[str]:
        return [self.flag] if self.text is None else [self.flag, self.text]


def launcher_options(args: argparse.Namespace, environ: Mapping[str, str]) -> list[LauncherOption]:
    """torchrun's non-rendezvous options this job sets, by flag or by ``PET_*`` variable.

    What torch's parser would read: the flag, else its variable (torch's
    ``env`` action; a switch's variable counts when it is a non-zero number,
    as torch's ``check_env`` reads it). The rendezvous options are the
    container's (`rendezvous_di.config.torchrun_values`), not listed here.
    """
    rendezvous = {option.dest for option in TORCHRUN_OPTIONS}
    found: list[LauncherOption] = []
    for names, takes_value in [(n, True) for n in VALUE_OPTIONS] + [
        (n, False) for n in FLAG_OPTIONS
    ]:
        flag = next(name for name in names if name.startswith("--"))
        dest = flag[2:].replace("-", "_")
        if dest in rendezvous:
            continue
        env = None if flag in NO_ENV_TWIN else f"PET_{dest.upper()}"
        given = getattr(args, dest, None)
        from_env = environ.get(env, "").strip() if env else ""
        if takes_value:
            text = str(given) if given is not None else from_env or None
            if text is not None:
                found.append(LauncherOption(flag, env, text))
        elif given or (from_env.lstrip("+-").isdigit() and int(from_env) != 0):
            found.append(LauncherOption(flag, env, None))
    return found
