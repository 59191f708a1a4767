"""Schema tests: the schema `rendezvous-di schema` prints, and files as the loader reads them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from rendezvous_di.config import yaml_file
from tests.support.procs import run_cli


@pytest.fixture(scope="session")
def printed_schema() -> dict[str, Any]:
    """``rendezvous-di schema`` in a subprocess, as a user runs it."""
    done = run_cli(["schema"])
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def validator(printed_schema: dict[str, Any]) -> Any:
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(printed_schema)
    return Draft202012Validator(printed_schema)


def as_an_editor_reads(text: str) -> Any:
    """The document with ``${VAR}`` left as written, as an editor's YAML server sees it.

    The loader's own resolvers (``1:4`` is text, not YAML 1.1's base-60 integer), but
    no expansion: an editor never knows the environment a job will run in.
    """

    class Unexpanded(yaml_file._loader()):  # type: ignore[misc]
        pass

    Unexpanded.add_constructor("tag:yaml.org,2002:str", yaml.SafeLoader.construct_yaml_str)
    return yaml.load(text, Loader=Unexpanded)  # a SafeLoader subclass


def as_the_loader_reads(path: Path, environ: dict[str, str] | None = None) -> Any:
    """The document as `rendezvous-di` reads it, ``${VAR}`` expanded from ``environ``."""
    return yaml_file.read_settings_file(path, environ or {})


@pytest.fixture
def settings_of(tmp_path: Path) -> Iterator[Any]:
    """``settings_of(text)``: what the loader makes of a settings file (no PET_* variables)."""
    from rendezvous_di import RendezvousContainer

    made: list[Any] = []

    def settings(text: str) -> Any:
        path = tmp_path / f"settings-{len(made)}.yaml"
        path.write_text(text)
        container = RendezvousContainer()
        container.environ.override({})
        container.config_file.override(str(path))
        made.append(container)
        return container.settings()

    yield settings
    for container in made:
        container.shutdown_resources()


PROFILES = sorted((Path(__file__).resolve().parents[2] / "containers").glob("*.yaml"))
assert PROFILES, "containers/ has no profiles"
