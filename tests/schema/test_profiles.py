"""Every deployment profile of containers/ is valid under the published schema.

Twice: as an editor sees the file (``${VAR:default}`` unexpanded) and as the
loader reads it with no variable set (the defaults expanded). The loader
accepts each one too, so these are files we accept that the schema must accept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.schema.conftest import PROFILES, as_an_editor_reads, as_the_loader_reads


def test_the_schema_is_a_valid_draft_2020_12_schema(printed_schema: dict[str, Any]) -> None:
    Draft202012Validator.check_schema(printed_schema)
    assert printed_schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert printed_schema["$id"]
    assert printed_schema["title"]


@pytest.mark.parametrize("profile", PROFILES, ids=[p.stem for p in PROFILES])
def test_every_profile_validates_as_written(validator: Any, profile: Path) -> None:
    document = as_an_editor_reads(profile.read_text())
    errors = [e.message for e in validator.iter_errors(document)]
    assert errors == []


@pytest.mark.parametrize("profile", PROFILES, ids=[p.stem for p in PROFILES])
def test_every_profile_validates_as_the_loader_reads_it(
    validator: Any, settings_of: Any, profile: Path
) -> None:
    settings_of(profile.read_text())  # the loader accepts it
    errors = [e.message for e in validator.iter_errors(as_the_loader_reads(profile))]
    assert errors == []


def test_each_profile_is_checked_against_its_own_backend(validator: Any) -> None:
    """A profile's conf under another backend's options fails: the if/then branches work."""
    for profile in PROFILES:
        document = as_an_editor_reads(profile.read_text())
        if not document.get("conf") or "backend" not in document:
            continue
        others = [
            b for b in ("c10d", "etcd", "etcd-v2", "etcd-v3", "static") if b != document["backend"]
        ]
        refused = [b for b in others if not validator.is_valid({**document, "backend": b})]
        assert refused, f"{profile.name}: its conf fits every backend"
