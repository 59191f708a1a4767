"""Writing results: JSON for tools, a markdown table for the docs and README, a PNG plot."""

from __future__ import annotations

import json
import platform
from collections.abc import Sequence
from pathlib import Path

from .cases import Result


def write_json(results: Sequence[Result], path: Path, meta: dict[str, object]) -> None:
    path.write_text(
        json.dumps({"meta": meta, "results": [r.to_json() for r in results]}, indent=2) + "\n"
    )


def read_json(path: Path) -> list[Result]:
    """The results a :func:`write_json` file holds."""
    rows = json.loads(path.read_text())["results"]
    return [Result(**{k: v for k, v in row.items() if k not in ("ratio", "met")}) for row in rows]


def merge(published: Sequence[Result], fresh: Sequence[Result]) -> list[Result]:
    """``published`` with each row of ``fresh`` in place of the row of the same name; fresh
    rows without one are appended."""
    by_name = {r.name: r for r in fresh}
    kept = [by_name.pop(r.name, r) for r in published]
    return [*kept, *by_name.values()]


def markdown(results: Sequence[Result]) -> str:
    lines = [
        "| benchmark | rendezvous-di | baseline | ratio | target | |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        target = "-" if r.target is None else f"<= {r.target:g}"
        verdict = {True: "met", False: "missed", None: ""}[r.met]
        lines.append(
            f"| {r.name} | {_fmt(r.ours)} {r.unit} | {_fmt(r.torch)} {r.unit} ({r.baseline}) | "
            f"{r.ratio:.3f} | {target} | {verdict} |"
        )
    notes = [f"- {r.name}: {r.note}" for r in results if r.note]
    return "\n".join([*lines, *([""] if notes else []), *notes]) + "\n"


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


def plot(results: Sequence[Result], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 0.5 * len(results) + 1.5))
    names = [r.name for r in results][::-1]
    ratios = [r.ratio for r in results][::-1]
    palette = {True: "#2e7d32", False: "#c62828", None: "#90a4ae"}
    colours = [palette[r.met] for r in results][::-1]
    axes.barh(names, ratios, color=colours)
    axes.set_xscale("log")  # ratios span 0.05 to 100+: only a log axis shows them all
    for index, r in enumerate(results[::-1]):
        axes.annotate(
            f"{r.ratio:.3g}",
            (r.ratio, index),
            xytext=(4, -4),
            textcoords="offset points",
            fontsize=8,
        )
        if r.target is not None:
            axes.plot([r.target, r.target], [index - 0.4, index + 0.4], color="black", lw=2)
    axes.axvline(1.0, color="grey", ls="--", lw=1)
    axes.set_xlabel("rendezvous-di / baseline, log scale (lower is better; black tick = target)")
    axes.set_title("rendezvous-di against torch, same run")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def machine() -> dict[str, object]:
    import os

    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
