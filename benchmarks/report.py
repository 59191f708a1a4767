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


def _fmt(value: float) -> str:
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


def plot(results: Sequence[Result], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 0.5 * len(results) + 1.5))
    names = [r.name for r in results][::-1]
    ratios = [r.ratio for r in results][::-1]
    colours = ["#2e7d32" if r.met is not False else "#c62828" for r in results][::-1]
    axes.barh(names, ratios, color=colours)
    for index, r in enumerate(results[::-1]):
        if r.target is not None:
            axes.plot([r.target, r.target], [index - 0.4, index + 0.4], color="black", lw=2)
    axes.axvline(1.0, color="grey", ls="--", lw=1)
    axes.set_xlabel("rendezvous-di / torch (lower is better; black tick = target)")
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
