"""Writing results: JSON for tools, a markdown table for the docs and README, a PNG plot."""

from __future__ import annotations

import dataclasses
import json
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .cases import Result
from .paired import interval_text

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.text import Annotation


def write_json(results: Sequence[Result], path: Path, meta: dict[str, object]) -> None:
    path.write_text(
        json.dumps({"meta": meta, "results": [r.to_json() for r in results]}, indent=2) + "\n"
    )


def read_json(path: Path) -> list[Result]:
    """The results `write_json` wrote (its derived fields, ratio and met, recomputed)."""
    fields = {f.name for f in dataclasses.fields(Result)}
    rows = json.loads(path.read_text())["results"]
    return [Result(**{k: v for k, v in row.items() if k in fields}) for row in rows]


def merge(published: Sequence[Result], fresh: Sequence[Result]) -> list[Result]:
    """``published`` with each row of ``fresh`` in place of the row of the same name; fresh
    rows without one are appended."""
    by_name = {r.name: r for r in fresh}
    kept = [by_name.pop(r.name, r) for r in published]
    return [*kept, *by_name.values()]


def targets_sentence(results: Sequence[Result]) -> str:
    """One sentence on the targets, from the results: the prose can never contradict the table."""
    targeted = [r for r in results if r.verdict]
    if not targeted:
        return "No benchmark in this run has a target."
    met = [r for r in targeted if r.verdict == "met"]
    text = f"Targets met: {len(met)} of {len(targeted)}."
    for verdict, label in (("missed", "Missed"), ("unsettled", "Not settled by this run")):
        rows = [r for r in targeted if r.verdict == verdict]
        if rows:
            text += f" {label}: " + "; ".join(
                f"{r.name} (ratio {_ratio(r)}, target {r.target:g})" for r in rows
            )
            text += "."
    return text


def _ratio(r: Result) -> str:
    """The ratio, with its 95% interval when the rounds were paired."""
    if r.low is None or r.high is None:
        return f"{r.ratio:.3f}"
    return f"{r.ratio:.3f}, 95% {r.low:.3f} to {r.high:.3f}"


def _ratio_cell(r: Result) -> str:
    return f"{r.ratio:.3f}" if r.paired is None else interval_text(r.ratio, r.low, r.high)


def markdown(results: Sequence[Result]) -> str:
    lines = [
        "| benchmark | rendezvous-di | baseline | ratio | target | |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        target = "-" if r.target is None else f"<= {r.target:g}"
        ratio = _ratio_cell(r)
        lines.append(
            f"| {r.name} | {_fmt(r.ours)} {r.unit} | {_fmt(r.torch)} {r.unit} ({r.baseline}) | "
            f"{ratio} | {target} | {r.verdict} |"
        )
    notes = [f"- {r.name}: {r.note}" for r in results if r.note]
    paired = any(r.paired is not None for r in results)
    intervals = (
        [
            "",
            "A ratio in brackets is its 95% interval over paired rounds; a target is met "
            "when the whole interval is under it, unsettled when it straddles it.",
        ]
        if paired
        else []
    )
    body = [*lines, *intervals, "", targets_sentence(results), *([""] if notes else []), *notes]
    return "\n".join(body) + "\n"


README_START = "<!-- benchmarks:start -->"
README_END = "<!-- benchmarks:end -->"


def readme_table(readme: Path) -> str:
    """The results table the README shows, between its benchmark markers."""
    text = readme.read_text()
    return text[text.index(README_START) + len(README_START) : text.index(README_END)].strip()


def update_readme(readme: Path, table: str) -> None:
    text = readme.read_text()
    start = text.index(README_START) + len(README_START)
    end = text.index(README_END)
    readme.write_text(f"{text[:start]}\n{table.strip()}\n{text[end:]}")


def _fmt(value: float) -> str:
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


PALETTE = {"met": "#2e7d32", "missed": "#c62828", "unsettled": "#f9a825", "": "#90a4ae"}
VERDICTS = {
    "met": "target met",
    "missed": "target missed",
    "unsettled": "not settled",
    "": "no target",
}


def plot(results: Sequence[Result], path: Path) -> None:
    """The PNG of :func:`figure`."""
    import matplotlib.pyplot as plt

    drawn = figure(results)
    drawn.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(drawn)


def figure(results: Sequence[Result]) -> Figure:
    """Each ratio as a bar from 1.0 (parity with the baseline) to the ratio, on a log axis.

    A bar going left is cheaper than the baseline, right is dearer, so the length
    says by how much either way. The value sits past the bar's outer end (or past
    the target tick, when that lies further out), and the axis is widened until
    every label fits: nothing collides with a tick or leaves the picture.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    rows = list(results)[::-1]  # first result on top
    drawn, axes = plt.subplots(figsize=(9, 0.5 * len(rows) + 2.2))
    axes.set_xscale("log")  # ratios span 0.03 to 200+: only a log axis shows them all
    axes.barh(
        [r.name for r in rows],
        [r.ratio - 1.0 for r in rows],
        left=1.0,
        color=[PALETTE[r.verdict] for r in rows],
        height=0.6,
    )
    axes.axvline(1.0, color="black", lw=1.5)
    labels = []
    for index, r in enumerate(rows):
        if r.target is not None:  # a thin line and a marker above: short bars stay visible
            axes.plot([r.target] * 2, [index - 0.42, index + 0.42], color="black", lw=1)
            axes.plot([r.target], [index + 0.42], marker="v", color="black", markersize=5)
        interval = [r.low, r.high] if r.low is not None and r.high is not None else []
        if interval:  # the 95% interval of a paired ratio, as a whisker
            axes.plot(interval, [index, index], color="black", lw=0.8)
            axes.plot(interval, [index, index], color="black", lw=0, marker="|", markersize=6)
        right = r.ratio >= 1.0
        ends = [r.ratio, *interval] + ([r.target] if r.target is not None else [])
        anchor = max(ends) if right else min(ends)
        labels.append(
            axes.annotate(
                f"{r.ratio:.3g}",
                (anchor, index),
                xytext=(5 if right else -5, 0),
                textcoords="offset points",
                ha="left" if right else "right",
                va="center",
                fontsize=8,
            )
        )
    values = [r.ratio for r in rows] + [r.target for r in rows if r.target is not None]
    values += [v for r in rows for v in (r.low, r.high) if v is not None and v > 0]
    axes.set_xlim(min(values) / 1.5, max(values) * 1.5)
    _fit_labels(drawn, axes, labels)
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axes.set_xlabel("ratio rendezvous-di / baseline, log scale (left of 1: cheaper)")
    axes.set_title(
        "rendezvous-di against its baseline (torch unless the row says), same run", pad=24
    )
    handles: list[Artist] = [Patch(color=PALETTE[k], label=VERDICTS[k]) for k in PALETTE]
    handles.append(
        Line2D([], [], color="black", lw=1, marker="v", markersize=5, label="target: at most")
    )
    handles.append(Line2D([], [], color="black", lw=1.5, label="1 = the baseline"))
    handles.append(
        Line2D([], [], color="black", lw=0.8, marker="|", markersize=6, label="95% interval")
    )
    # Between the title and the bars: outside the data, whatever the results are.
    axes.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncol=4,
        fontsize=8,
        frameon=False,
        handlelength=1.8,
    )
    return drawn


def _fit_labels(figure: Figure, axes: Axes, labels: Sequence[Annotation]) -> None:
    """Widen the x axis (in log space) until every value label lies inside it."""
    import math

    for _ in range(4):
        figure.canvas.draw()
        renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]  # Agg's canvas
        to_data = axes.transData.inverted()
        low, high = axes.get_xlim()
        needed_low, needed_high = low, high
        for label in labels:
            box = label.get_window_extent(renderer)
            (x0, _), (x1, _) = to_data.transform([(box.x0, 0), (box.x1, 0)])
            needed_low, needed_high = min(needed_low, x0), max(needed_high, x1)
        if (needed_low, needed_high) == (low, high):
            return
        margin = 0.03 * (math.log10(needed_high) - math.log10(needed_low))
        axes.set_xlim(needed_low / 10**margin, needed_high * 10**margin)


def machine() -> dict[str, object]:
    import os

    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
