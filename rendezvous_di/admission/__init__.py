"""Admission checks: a sick node never joins, a slow link is named before training starts.

A check is a callable with a kind (``node``: run on one machine before its
agent joins the rendezvous; ``group``: run by every agent of a round after it
forms and before workers start), declared options, and a timeout. The
container's ``admission`` provider gives the checks a job selected, in order.

- `result`: `CheckResult`, what one check said (passed, failed, error, skipped),
  with its measurements.
- `check`: `AdmissionCheck`, one check as the container holds it.
- `selection`: the ``admission`` setting (``network,disk,disk.min_free_mb=512``)
  parsed, and validated against the available checks.
- `entries`: the container's side: built-in entries, `add_check`, plugin discovery.
- `plugins` and `_child`: checks from the ``rendezvous_di.checks`` entry point
  group, described and run in a child process (a hostile one is contained).
- `running`: node checks, each contained and bounded by its timeout.
- `group`: group checks around ``next_rendezvous``: a faulty node leaves and
  the rest re-form without it.
- `builtin`: ``disk``, ``gpu``, ``network``.

Only this package and `entries` (the container's declarations) are imported
unless a job selects a check or a command lists them: a job without
admission checks runs exactly as before.
"""

GROUP = "rendezvous_di.checks"
"""The entry point group of out-of-tree checks: ``name = "module:attr"``."""
