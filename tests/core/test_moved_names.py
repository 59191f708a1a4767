"""Renamed public names keep working for a while, warning with the new name; old paths are gone."""

from __future__ import annotations

import importlib

import pytest

import rendezvous_di


def test_adopt_is_add_torch_registry_backends_with_a_warning() -> None:
    with pytest.warns(DeprecationWarning, match="use rendezvous_di.add_torch_registry_backends"):
        adopt = rendezvous_di.adopt
    assert adopt is rendezvous_di.add_torch_registry_backends


@pytest.mark.parametrize("module", ["rendezvous_di.extend", "rendezvous_di.catalog"])
def test_the_deprecated_module_paths_are_gone(module: str) -> None:
    # Deprecated since the package got its folders; the CHANGELOG names their replacements.
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(module)


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        rendezvous_di.nothing  # noqa: B018
