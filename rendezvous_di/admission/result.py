"""`CheckResult`: what one admission check said, and how a check's return value becomes one.

A check written for a platform should not have to import rendezvous-di: it may
return ``None``/``True`` (passed), ``False`` or a string (failed, the string
is the reason), a mapping with ``status`` (or ``passed``), ``reason``,
``measurements`` and, for a group check, ``faulty`` (rank -> reason), or a
`CheckResult`. Whatever it raises becomes an ``error`` result. `normalize`
does the conversion once, so every caller sees one type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, cast

from ..text import one_line, quote, shorten

Status = Literal["passed", "failed", "error", "skipped"]
STATUSES: tuple[Status, ...] = ("passed", "failed", "error", "skipped")


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict on this node (or, for a group check, on the group).

    Attributes:
        check: the check's name.
        status: ``passed``; ``failed`` (the node, or a node of the group, is
            unfit: ``reason`` says why); ``error`` (the check itself could not
            run: raised, hung past its timeout, crashed); ``skipped`` (it does
            not apply here: no CUDA for ``gpu``).
        reason: one line for a person.
        measurements: the numbers the decision rests on, by name.
        faulty: for a group check, the ranks found unfit and why.
        seconds: how long the check took.
    """

    check: str
    status: Status
    reason: str = ""
    measurements: Mapping[str, float] = field(default_factory=dict)
    faulty: Mapping[int, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def admits(self) -> bool:
        """Whether this node may go on: passed or skipped."""
        return self.status in ("passed", "skipped")

    def line(self) -> str:
        """``disk passed in 0.1s: ... (free_mb=9123, write_mb_s=812)``: one progress line."""
        numbers = ", ".join(f"{k}={_number(v)}" for k, v in self.measurements.items())
        text = f"{self.check} {self.status} in {self.seconds:.1f}s"
        if self.reason:
            text += f": {self.reason}"
        if numbers:
            text += f" ({numbers})"
        return one_line(text)

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "status": self.status,
            "reason": self.reason,
            "measurements": dict(self.measurements),
            "faulty": {str(k): v for k, v in self.faulty.items()},
            "seconds": self.seconds,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CheckResult:
        return normalize(str(data.get("check", "?")), data)

    def timed(self, seconds: float) -> CheckResult:
        return replace(self, seconds=seconds)


def _number(value: float) -> str:
    if isinstance(value, float) and abs(value) < 1000:
        return f"{value:.4g}"
    return f"{value:.0f}" if isinstance(value, float) else str(value)


def error(check: str, reason: str) -> CheckResult:
    return CheckResult(check, "error", one_line(reason))


def normalize(check: str, value: Any) -> CheckResult:
    """A check's return value as a `CheckResult` (see the module's docstring for the forms).

    A value of none of those forms is an ``error`` naming what was returned.
    """
    if isinstance(value, CheckResult):
        return replace(value, check=check)
    if value is None or value is True:
        return CheckResult(check, "passed")
    if value is False:
        return CheckResult(check, "failed", "the check returned False")
    if isinstance(value, str):
        return CheckResult(check, "failed", one_line(value))
    if not isinstance(value, Mapping):
        return error(
            check, f"returned {quote(value)}; expected None, a bool, a reason or a mapping"
        )
    status = value.get("status")
    if status is None and "passed" in value:
        status = "passed" if value["passed"] else "failed"
    if status not in STATUSES:
        return error(check, f"returned status {quote(status)}; valid: {', '.join(STATUSES)}")
    try:
        measurements = {str(k): float(v) for k, v in dict(value.get("measurements") or {}).items()}
        faulty = {int(k): shorten(str(v), 400) for k, v in dict(value.get("faulty") or {}).items()}
        seconds = float(value.get("seconds") or 0.0)
    except (TypeError, ValueError) as problem:
        return error(
            check, f"returned measurements or faulty ranks that are not numbers: {problem}"
        )
    if faulty and status == "passed":
        status = "failed"
    return CheckResult(
        check,
        cast(Status, status),
        one_line(str(value.get("reason") or "")),
        measurements,
        faulty,
        seconds,
    )
