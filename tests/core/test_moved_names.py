"""Names the README showed at their old module paths still work, warning with the new path."""

from __future__ import annotations

import pytest

import rendezvous_di


def test_old_extend_and_catalog_paths_give_the_public_objects() -> None:
    with pytest.warns(DeprecationWarning, match="from rendezvous_di import add_backend"):
        from rendezvous_di.extend import add_backend
    with pytest.warns(DeprecationWarning, match="from rendezvous_di import renamed"):
        from rendezvous_di.extend import renamed
    with pytest.warns(DeprecationWarning, match="from rendezvous_di import describe_backends"):
        from rendezvous_di.catalog import describe_backends
    assert add_backend is rendezvous_di.add_backend
    assert renamed is rendezvous_di.renamed
    assert describe_backends is rendezvous_di.describe_backends


def test_old_backends_names_point_at_the_builtins() -> None:
    from rendezvous_di.backends import builtin

    with pytest.warns(DeprecationWarning, match=r"builtin_creator\(name\)\(params\)"):
        from rendezvous_di.backends import builtin_handler
    with pytest.warns(DeprecationWarning, match=r"builtin_options\(name\)"):
        from rendezvous_di.backends import BUILTIN_BACKENDS
    assert builtin_handler is builtin.create_builtin_handler
    assert BUILTIN_BACKENDS["c10d"].schema is builtin.BUILTIN_BACKENDS["c10d"].schema


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    import rendezvous_di.extend

    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        rendezvous_di.extend.nothing  # noqa: B018
