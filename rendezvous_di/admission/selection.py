"""`Selected`: a check a job runs, paired with its converted options.

The setting's value is parsed in `rendezvous_di.config.admission` (settings
know no checks); once the container's checks are known, each selected name
becomes a `Selected` (`rendezvous_di.admission.entries.selected_checks`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..config.admission import Selection, as_text, parse
from .check import AdmissionCheck

__all__ = ["Selected", "Selection", "as_text", "parse"]


@dataclass(frozen=True)
class Selected:
    """A check a job runs, with its options converted (every declared one filled)."""

    check: AdmissionCheck
    options: dict[str, Any]

    @property
    def name(self) -> str:
        return self.check.name

    @property
    def timeout(self) -> float:
        return float(self.options.get("timeout") or self.check.default_timeout)
