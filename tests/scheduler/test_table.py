"""Schedulers come from one table: choices, detection, the schema and completion all follow it.

A new scheduler is its module plus its line in ``SCHEDULERS``; here a stand-in
for one (a PBS job, by its variables) is put in the table for a test, and every
place that offers the ``scheduler`` choices or detects a job must see it.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

import pytest

from rendezvous_di import RendezvousContainer
from rendezvous_di.cli.completers import schedulers as complete_schedulers
from rendezvous_di.config import schema
from rendezvous_di.config.flags import add_settings_flags
from rendezvous_di.config.layers import Layer
from rendezvous_di.config.schedulers import SCHEDULERS, SchedulerDetector, choices
from rendezvous_di.config.schedulers.detection import Choice, read_choice
from rendezvous_di.config.sources import from_mapping
from rendezvous_di.errors import ConfigError


class Pbs:
    """A scheduler module's four names, as ``slurm.py`` and ``kubeflow.py`` have them."""

    WHAT = "a PBS job"

    @staticmethod
    def found(environ: Mapping[str, str]) -> str | None:
        job = environ.get("PBS_JOBID")
        return None if job is None else f"PBS_JOBID={job}"

    @staticmethod
    def missing(environ: Mapping[str, str]) -> str:
        return "PBS_JOBID is not set"

    @staticmethod
    def read(environ: Mapping[str, str], port: int | None = None) -> Layer:
        layer = Layer()
        layer.set("run_id", environ["PBS_JOBID"], "pbs PBS_JOBID")
        return layer


@pytest.fixture
def with_pbs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(SCHEDULERS, "pbs", Pbs())


def offered() -> dict[str, tuple[str, ...]]:
    """The ``scheduler`` choices as each place that offers them says."""
    parser = argparse.ArgumentParser()
    add_settings_flags(parser)
    (flag,) = [a for a in parser._actions if "--scheduler" in a.option_strings]
    with pytest.raises(ConfigError) as refused:
        read_choice([from_mapping({"scheduler": "qsub"})])
    file_schema = schema.file_schema({"c10d": None})
    enum = file_schema["properties"]["scheduler"]["anyOf"][0]["enum"]
    return {
        "--scheduler": tuple(str(flag.metavar).strip("{}").split(",")),
        "settings error": refused.value.choices,
        "JSON schema": tuple(enum),
        "completion": tuple(complete_schedulers("")),
    }


def test_every_place_offers_the_tables_choices() -> None:
    assert choices() == ("auto", "none", *SCHEDULERS)
    assert offered() == dict.fromkeys(offered(), choices())


def test_a_scheduler_added_to_the_table_is_offered_everywhere(with_pbs: None) -> None:
    assert offered() == dict.fromkeys(offered(), ("auto", "none", "slurm", "kubeflow", "pbs"))


def test_a_scheduler_added_to_the_table_is_detected(with_pbs: None) -> None:
    detect = SchedulerDetector()
    found = detect(Choice(), {"PBS_JOBID": "77.head"})
    assert (found.name, found.reason) == ("pbs", "auto, detected: PBS_JOBID=77.head")
    with pytest.raises(ConfigError, match="not inside a PBS job: PBS_JOBID is not set"):
        detect(Choice("pbs", "flag --scheduler"), {})
    container = RendezvousContainer()
    container.environ.override({"PBS_JOBID": "77.head"})
    settings = container.settings()
    assert (settings.scheduler, settings.run_id) == ("pbs", "77.head")
    assert settings.source_of("run_id") == "pbs PBS_JOBID"
