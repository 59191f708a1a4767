"""The benchmark report reads right: bars from 1, labels clear of ticks and edges, a legend,
and prose generated from the results (so it cannot go stale when the table changes)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from matplotlib.patches import Rectangle
from matplotlib.text import Annotation

from benchmarks import report
from benchmarks.cases import Result
from tests.support.procs import REPO

PUBLISHED = REPO / "benchmarks" / "results" / "results.json"
# Awkward on purpose: a label next to a target tick on each side of 1, values at both extremes
# of a log axis, a near-parity miss.
AWKWARD = [
    Result("cheap, target further out", "ms", 8.0, 100.0, 0.12),
    Result("dear, target beyond it", "ms", 169.0, 100.0, 2.0),
    Result("tiny", "µs", 1.0, 5000.0, None),
    Result("huge", "µs", 300.0, 1.0, None),
    Result("just missed", "s", 3.2, 3.0, 1.05),
    Result("paired, straddling", "s", 1.0, 1.0, 1.03, paired=1.01, low=0.95, high=1.08),
]


@pytest.mark.parametrize(
    "results", [AWKWARD, report.read_json(PUBLISHED)], ids=["awkward", "published"]
)
def test_bars_start_at_one_and_labels_clear_ticks_and_edges(results: list[Result]) -> None:
    drawn = report.figure(results)
    try:
        (axes,) = drawn.axes
        renderer = drawn.canvas.get_renderer()  # type: ignore[attr-defined]
        bars = [p for p in axes.patches if isinstance(p, Rectangle)]
        assert len(bars) == len(results)
        for bar, result in zip(bars, results[::-1], strict=True):
            ends = sorted([bar.get_x(), bar.get_x() + bar.get_width()])
            assert ends == pytest.approx(sorted([1.0, result.ratio]))
        frame = axes.get_window_extent(renderer)
        labels = [t for t in axes.texts if isinstance(t, Annotation)]
        assert [t.get_text() for t in labels] == [f"{r.ratio:.3g}" for r in results[::-1]]
        for index, (label, result) in enumerate(zip(labels, results[::-1], strict=True)):
            box = label.get_window_extent(renderer)
            assert frame.x0 <= box.x0, f"{result.name} label clipped on the left"
            assert box.x1 <= frame.x1, f"{result.name} label clipped on the right"
            if result.target is not None:
                tick_x = axes.transData.transform((result.target, index))[0]
                assert not box.x0 <= tick_x <= box.x1, f"{result.name} label on its target"
        legend = axes.get_legend()
        assert legend is not None
        assert {t.get_text() for t in legend.get_texts()} >= {
            "target met",
            "target missed",
            "not settled",
            "no target",
            "95% interval",
        }
    finally:
        plt.close(drawn)


def test_plot_writes_a_png(tmp_path: Path) -> None:
    report.plot(AWKWARD, tmp_path / "plot.png")
    assert (tmp_path / "plot.png").read_bytes().startswith(b"\x89PNG")


def test_the_sentence_under_the_table_follows_the_results() -> None:
    assert report.targets_sentence(AWKWARD) == (
        "Targets met: 2 of 4. Missed: just missed (ratio 1.067, target 1.05). Not settled by "
        "this run: paired, straddling (ratio 1.010, 95% 0.950 to 1.080, target 1.03)."
    )
    all_met = [r for r in AWKWARD if r.met]
    assert report.targets_sentence(all_met) == "Targets met: 2 of 2."
    assert report.targets_sentence(AWKWARD[2:4]) == "No benchmark in this run has a target."
    assert report.targets_sentence(AWKWARD) in report.markdown(AWKWARD)
