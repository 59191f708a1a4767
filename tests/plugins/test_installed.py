"""Our entry-point reader against importlib.metadata, the reference torch uses.

Each case builds real metadata directories on disk, puts them on ``sys.path``
of a fresh interpreter, and asks both readers: the answers must be the same
entry points from the same directories, in the same order.
"""

from __future__ import annotations

import json
import sys
import textwrap
import zipfile
from pathlib import Path

from tests.support.procs import run_process

COMPARE = textwrap.dedent(
    """
    import importlib.metadata, json, os, sys
    from rendezvous_di.plugins import entry_points as installed

    group = sys.argv[1]
    ours = [(e.name, e.value, e.location) for e in installed.entry_points(group)]
    theirs = [
        (e.name, e.value, str(getattr(e.dist, "_path", "")) or None)
        for e in importlib.metadata.entry_points(group=group)
    ]
    versions = {}
    for name in sys.argv[2:]:
        try:
            reference = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            reference = None
        versions[name] = [installed.installed_version(name), reference]
    print(json.dumps({"ours": ours, "theirs": theirs, "versions": versions}))
    """
)


def dist_info(site: Path, directory: str, name: str, version: str, entry_points: str) -> Path:
    """A ``*.dist-info`` as pip writes it: METADATA headers and entry_points.txt."""
    path = site / directory
    path.mkdir(parents=True)
    (path / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nA description: Name: no\n"
    )
    (path / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    return path


def compare(paths: list[Path], group: str, *versions: str) -> dict[str, list[object]]:
    done = run_process(
        [sys.executable, "-c", COMPARE, group, *versions],
        env={"PYTHONPATH": ":".join(str(p) for p in paths)},
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, list[object]] = json.loads(done.stdout)
    return result


def test_the_same_entry_points_as_importlib_metadata_for_what_is_really_installed() -> None:
    # The project's own environment: pytest plugins, console scripts, a few dozen distributions.
    for group in ("console_scripts", "pytest11", "torchrun.handlers"):
        result = compare([], group, "torch", "PyYAML", "dependency_injector", "not-installed")
        assert result["ours"] == result["theirs"]
        for ours, reference in result["versions"].values():
            assert ours == reference
    assert compare([], "pytest11")["ours"], "the environment has pytest plugins to compare"


def test_first_distribution_on_sys_path_wins_and_sections_parse_alike(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    dist_info(
        first,
        "Rdzv_Plugin-1.0.dist-info",
        "Rdzv_Plugin",
        "1.0",
        """
        # a comment
        [torchrun.handlers]
        alpha = alpha_pkg.plugin:creator
          beta=beta_pkg:get [extra]

        [console_scripts]
        alpha = alpha_pkg:main
        """,
    )
    # the same distribution, normalised differently, later on sys.path: shadowed for both
    dist_info(second, "rdzv.plugin-2.0.dist-info", "rdzv.plugin", "2.0", "[torchrun.handlers]\n")
    dist_info(second, "other-3.0.dist-info", "other", "3.0", "[torchrun.handlers]\ngamma = g:c\n")
    (second / "no_entry_points-1.0.dist-info").mkdir()
    (second / "legacy.egg-info").write_text("Metadata-Version: 1.0\nName: legacy\n")

    result = compare([first, second], "torchrun.handlers", "rdzv-plugin", "legacy")
    assert result["ours"] == result["theirs"]
    assert [e[:2] for e in result["ours"]] == [
        [
            "etcd-v3",
            "rendezvous_di.backends.etcd_v3:handler_creator",
        ],  # rendezvous-di's own backend, installed here (an earlier sys.path entry)
        ["alpha", "alpha_pkg.plugin:creator"],
        ["beta", "beta_pkg:get [extra]"],
        ["gamma", "g:c"],
    ]
    assert result["versions"]["rdzv-plugin"] == ["1.0", "1.0"]


def test_a_zip_on_sys_path_is_read_through_importlib_metadata(tmp_path: Path) -> None:
    archive = tmp_path / "plugins.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("zipped-1.0.dist-info/METADATA", "Name: zipped\nVersion: 1.0\n")
        zipped.writestr("zipped-1.0.dist-info/entry_points.txt", "[torchrun.handlers]\nz = z:c\n")
    result = compare([archive], "torchrun.handlers")
    assert [e[:2] for e in result["ours"]] == [
        ["etcd-v3", "rendezvous_di.backends.etcd_v3:handler_creator"],
        ["z", "z:c"],
    ]
    assert result["ours"] == result["theirs"]
