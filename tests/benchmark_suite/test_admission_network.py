"""The admission_network benchmark, in its smallest form: two hosts, one slowdown, one trial.

No speed or rate is asserted (the suite reports them): what is asserted is
that both figures are measured on real hosts and come back in their shape.
"""

from __future__ import annotations

import pytest

from benchmarks.admission_network import measure
from tests.support.netns import netns_supported
from tests.support.procs import require

pytestmark = pytest.mark.slow


def test_a_short_run_measures_cost_and_detection() -> None:
    supported, reason = netns_supported()
    require(supported, reason)
    found = measure(1, sizes=(2,), slowdowns=(10,), size_mb=1.0, calibration=0, detection_hosts=3)
    assert set(found["cost"]) == {2}
    assert found["cost"][2]["check_s"] > 0
    assert found["cost"][2]["round_s"] > 0
    assert 0.0 <= found["detection"][10] <= 1.0
    assert found["median_mb_s"] > 0
