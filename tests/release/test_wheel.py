"""The released artefacts: ``python -m build``'s sdist and wheel, installed as a user would.

The wheel goes into a fresh virtualenv (torch 2.13.0, the pinned local wheel) and
every check runs with the working directory OUTSIDE the checkout, so nothing can
come from the clone: the console script, the deployment profiles by name, a real
one-node job, and a user's test file using the pytest plugin's fixtures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from collections.abc import Sequence
from configparser import ConfigParser
from dataclasses import dataclass
from pathlib import Path

import pytest

from rendezvous_di import __version__
from tests.support.procs import REPO, clean_environ

pytestmark = pytest.mark.slow

PROFILES = sorted(p.stem for p in (REPO / "containers").glob("*.yaml"))
# Generous: pip resolves and installs torch (a ~200 MB local wheel) on a loaded 2-core machine.
INSTALL_TIMEOUT = 1200


@dataclass(frozen=True)
class Release:
    sdist: Path
    wheel: Path
    venv: Path
    outside: Path  # a working directory that is not the checkout

    def run(self, argv: Sequence[str], *, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        env = clean_environ()
        for leaked in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"):
            env.pop(leaked, None)
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        return subprocess.run(
            [str(self.venv / "bin" / argv[0]), *argv[1:]],
            cwd=self.outside,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def _checked(argv: Sequence[str], cwd: Path, timeout: float) -> None:
    done = subprocess.run(
        list(argv), cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{' '.join(argv)}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    root = tmp_path_factory.mktemp("release")
    dist = root / "dist"
    # sdist first, then the wheel built from the unpacked sdist (build's default), so a file
    # missing from the sdist breaks the wheel too. No isolation: offline, with the dev venv's
    # setuptools (the test extra installs a version that satisfies [build-system]).
    _checked(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(REPO)],
        cwd=root,
        timeout=600,
    )
    (sdist,) = dist.glob("*.tar.gz")
    (wheel,) = dist.glob("*.whl")
    venv = root / "venv"
    _checked([sys.executable, "-m", "venv", str(venv)], cwd=root, timeout=300)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    _checked([*pip, "torch==2.13.0", f"{wheel}[test]"], cwd=root, timeout=INSTALL_TIMEOUT)
    outside = root / "elsewhere"
    outside.mkdir()
    return Release(sdist, wheel, venv, outside)


def test_the_installed_copy_is_not_the_checkout(release: Release) -> None:
    done = release.run(["python", "-c", "import rendezvous_di; print(rendezvous_di.__file__)"])
    assert done.returncode == 0, done.stderr
    installed = Path(done.stdout.strip())
    assert release.venv in installed.parents
    assert REPO not in installed.parents


def test_artefacts_carry_the_license_and_the_one_version(release: Release) -> None:
    assert release.wheel.name == f"rendezvous_di-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(release.wheel) as wheel:
        names = wheel.namelist()
        metadata = wheel.read(f"rendezvous_di-{__version__}.dist-info/METADATA").decode()
    assert f"rendezvous_di-{__version__}.dist-info/licenses/LICENSE" in names
    assert f"Version: {__version__}\n" in metadata
    assert "License-Expression: BSD-3-Clause\n" in metadata
    with tarfile.open(release.sdist) as sdist:
        members = set(sdist.getnames())
    top = f"rendezvous_di-{__version__}"
    assert {f"{top}/LICENSE", f"{top}/CHANGELOG.md", f"{top}/setup.py"} <= members
    assert {f"{top}/containers/{name}.yaml" for name in PROFILES} <= members
    version = release.run(["rendezvous-di", "--version"])
    assert version.stdout.strip() == f"rendezvous-di {__version__}"


def test_wheel_declares_every_entry_point_of_pyproject(release: Release) -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = {"console_scripts": project["scripts"], **project["entry-points"]}
    with zipfile.ZipFile(release.wheel) as wheel:
        text = wheel.read(f"rendezvous_di-{__version__}.dist-info/entry_points.txt").decode()
    shipped = ConfigParser(delimiters="=")
    shipped.optionxform = str  # type: ignore[assignment,method-assign]
    shipped.read_string(text)
    assert {group: dict(shipped[group]) for group in shipped.sections()} == declared
    assert {"console_scripts", "pytest11"} <= set(declared)


def test_backends_lists_the_built_ins(release: Release) -> None:
    done = release.run(["rendezvous-di", "backends", "--json"])
    assert done.returncode == 0, done.stderr
    names = {row["name"] for row in json.loads(done.stdout)}
    assert {"c10d", "etcd", "etcd-v2", "static"} <= names


@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile_works_by_name_from_the_wheel(release: Release, profile: str) -> None:
    done = release.run(["rendezvous-di", "config", "--json", "--profile", profile])
    assert done.returncode == 0, done.stderr
    sources = set(json.loads(done.stdout)["sources"].values())
    shipped = release.venv / "lib"
    assert any(s.startswith(f"file {shipped}") and s.endswith(f"{profile}.yaml") for s in sources)


def test_unknown_profile_from_the_wheel_lists_the_shipped_ones(release: Release) -> None:
    done = release.run(["rendezvous-di", "config", "--profile", "nope"])
    assert done.returncode == 2
    assert done.stderr.splitlines()[0].endswith("valid choices: " + ", ".join(PROFILES))


def test_a_one_node_job_runs_from_the_wheel(release: Release) -> None:
    script = release.outside / "allreduce.py"
    script.write_text((REPO / "examples" / "allreduce.py").read_text())
    done = release.run(
        ["rendezvous-di", "run", "--profile", "local", "--nproc-per-node", "1", script.name]
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "rank 0/1: all_reduce sum=1 expected=1 ok" in done.stdout


def test_the_pytest_plugin_serves_a_user_test_file(release: Release) -> None:
    (release.outside / "test_user.py").write_text(
        "def test_fake(rendezvous_container, rendezvous_override, fake_rendezvous_handler):\n"
        "    rendezvous_override(fake_rendezvous_handler)\n"
        "    info = rendezvous_container.handler().next_rendezvous()\n"
        "    assert (info.rank, info.world_size) == (0, 1)\n"
        "    assert fake_rendezvous_handler.called('next_rendezvous') == 1\n"
    )
    done = release.run(["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_user.py"])
    assert done.returncode == 0, done.stdout[-3000:]
    assert "1 passed" in done.stdout
