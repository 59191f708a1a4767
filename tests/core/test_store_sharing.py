"""torch's shared workers' store after losing rank 0, as docs/fault-tolerance.md shows it.

The page's reproduction runs on the installed torch: with torch's sharing on, the
survivors of a lost rank 0 hand their workers different stores (the lost one's, on the
node that stayed rank 1 or more); with ``TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1`` (what
`rendezvous-di run` sets for jobs whose rank 0 can move) they agree. When a torch fixes
this, the first test fails: the page and `rendezvous_di.run.disable_store_sharing` then
say what changed.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.support.procs import REPO, run_process

PAGE = REPO / "docs" / "fault-tolerance.md"


def reproduction() -> str:
    blocks = re.findall(r"^```python\n(.*?)^```", PAGE.read_text(), re.S | re.M)
    (found,) = [b for b in blocks if "lost-rank-0" in b]
    return found


def run(tmp_path: Path, sharing_disabled: bool) -> str:
    script = tmp_path / "lost_rank_0.py"
    script.write_text(reproduction())
    env = {"TORCH_DISABLE_SHARE_RDZV_TCP_STORE": "1" if sharing_disabled else "0"}
    done = run_process([sys.executable, str(script)], timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(("sharing_disabled", "agree"), [(False, False), (True, True)])
def test_after_losing_rank_0_the_survivors_hand_out_one_store_only_without_sharing(
    tmp_path: Path, sharing_disabled: bool, agree: bool
) -> None:
    out = run(tmp_path, sharing_disabled)
    assert f"the survivors hand out one store: {agree}" in out, out
