"""The container reuses its last resolution only while every input, read publicly, is unchanged."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers

from rendezvous_di import RendezvousContainer


@pytest.fixture
def container() -> Any:
    container = RendezvousContainer()
    container.environ.override({})
    return container


def test_unchanged_sources_give_the_same_settings_object(container: Any) -> None:
    container.config.from_dict({"run_id": "a"})
    assert container.settings() is container.settings()


def test_a_configuration_change_is_seen(container: Any) -> None:
    container.config.from_dict({"run_id": "a"})
    first = container.settings()
    container.config.run_id.from_value("b")
    assert container.settings().run_id == "b"
    assert first.run_id == "a"


def test_an_environment_change_is_seen(container: Any) -> None:
    environ = {"PET_RDZV_ID": "one"}
    container.environ.override(environ)
    assert container.settings().run_id == "one"
    environ["PET_RDZV_ID"] = "two"  # the same mapping, changed in place, like os.environ
    assert container.settings().run_id == "two"


def test_a_file_edit_is_seen(container: Any, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("run_id: first\n")
    container.config_file.override(str(config))
    assert container.settings().run_id == "first"
    config.write_text("run_id: second-longer\n")
    assert container.settings().run_id == "second-longer"


def test_a_variable_the_file_references_is_watched(container: Any, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("run_id: ${JOB_NAME:none}\n")
    environ = {"JOB_NAME": "alpha"}
    container.environ.override(environ)
    container.config_file.override(str(config))
    assert container.settings().run_id == "alpha"
    environ["JOB_NAME"] = "beta"
    assert container.settings().run_id == "beta"


def test_a_backend_added_later_becomes_selectable(container: Any) -> None:
    container.config.from_dict({"backend": "mine"})
    with pytest.raises(ValueError, match="unknown rendezvous backend 'mine'"):
        container.settings()
    entries = dict(container.backends.providers)
    container.backends.set_providers(**entries, mine=providers.Object(None))
    assert container.settings().backend == "mine"


def test_parameters_are_a_new_object_each_time(container: Any) -> None:
    container.config.from_dict({"conf": {"join_timeout": "30"}})
    first, second = container.parameters(), container.parameters()
    assert first is not second
    assert first.config == second.config == {"join_timeout": 30}


def test_the_real_environment_is_read_live() -> None:
    container = RendezvousContainer()
    os.environ["PET_RDZV_ID"] = "live"
    try:
        assert container.settings().run_id == "live"
        os.environ["PET_RDZV_ID"] = "changed"
        assert container.settings().run_id == "changed"
    finally:
        del os.environ["PET_RDZV_ID"]


class CountingEnviron(dict[str, str]):
    """An environment that counts look-ups of each variable."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.reads: dict[str, int] = {}

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        self.reads[key] = self.reads.get(key, 0) + 1
        return super().get(key, default)


def test_one_handler_reads_each_source_once_and_the_next_reads_again(container: Any) -> None:
    """handler() needs the settings three times (the Selector's key, the parameters, the
    backend check): the sources are read for the first and reused by the other two."""

    class Made:
        def get_backend(self) -> str:
            return "c10d"

        def shutdown(self) -> bool:
            return True

    environ = CountingEnviron({"PET_RDZV_ID": "one"})
    container.environ.override(environ)
    container.backends.providers["c10d"].override(
        providers.Factory(lambda params: Made(), params=container.parameters)
    )
    container.handler()
    assert environ.reads["PET_RDZV_ID"] == 1
    assert set(environ.reads.values()) <= {1, 2}  # a detector may ask one variable twice
    container.shutdown_resources()

    environ["PET_RDZV_ID"] = "two"
    environ.reads.clear()
    container.handler()
    assert environ.reads["PET_RDZV_ID"] == 1
    assert container.settings().run_id == "two"  # a call outside handler() reads again
    assert environ.reads["PET_RDZV_ID"] == 2
    container.shutdown_resources()
