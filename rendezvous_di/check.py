"""``rendezvous-di check``: is this node ready to rendezvous? Answer before a job burns GPU hours.

Validates the effective configuration as the job would (TLS files read and
all), then probes the selected backend within ``--timeout`` seconds (see
:mod:`rendezvous_di.probe`). Exit codes: 0 ready, 1 unreachable (what failed
and how to fix it on stderr), 2 invalid configuration.
"""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

from .probe import ProbeResult, probe
from .settings import RendezvousSettings
from .wiring import backend_schemas

DEFAULT_TIMEOUT = 10.0


def validate_for_run(container: Any) -> RendezvousSettings:
    """The settings, with file options checked as on the node that runs the job.

    Raises:
        ConfigError: for any invalid value (``rendezvous-di`` exits with 2).
    """
    settings: RendezvousSettings = container.settings()
    schema = backend_schemas(container.backends, settings.plugins).get(settings.backend)
    if schema is not None:
        # require=False: torch's launcher adds static's rank itself (--node-rank).
        schema.validate(settings.conf, require=False, check_files=True, sources=settings.sources)
    return settings


def run_check(container: Any, timeout: float, out: TextIO, err: TextIO, *, as_json: bool) -> int:
    """Validate, probe, report; return the exit code."""
    settings = validate_for_run(container)
    provider = container.backends.providers[settings.backend]
    result = probe(settings, provider, timeout, settings.plugins)
    if as_json:
        json.dump(_as_json(settings, result, timeout), out, indent=2)
        out.write("\n")
    else:
        out.write(
            f"config: ok (backend {settings.backend}, endpoint {settings.endpoint}, "
            f"run_id {settings.run_id}, nodes {settings.min_nodes}:{settings.max_nodes})\n"
        )
        if result.ok:
            out.write(f"ready: {result.detail}\n")
        else:
            err.write(f"error: {settings.backend}: {result.detail}\n")
            if result.fix:
                err.write(f"fix: {result.fix}\n")
    return 0 if result.ok else 1


def _as_json(settings: RendezvousSettings, result: ProbeResult, timeout: float) -> dict[str, Any]:
    return {
        "ready": result.ok,
        "backend": settings.backend,
        "endpoint": settings.endpoint,
        "timeout": timeout,
        "detail": result.detail,
        "fix": result.fix,
    }


def positive_seconds(text: str) -> float:
    """argparse type of ``--timeout``: a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0 seconds, got {text!r}")
    return value
