"""The pytest plugin, exercised the way users meet it: test files run by pytester.

Each test writes a user's test module, runs it in a pytest session of its own
(the plugin is active through the ``pytest11`` entry point, as after
``pip install rendezvous-di``) and asserts on outcomes and messages.
"""

from __future__ import annotations

import pytest


def run(pytester: pytest.Pytester, source: str, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_user=source)
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", *args)


def test_plugin_is_registered_through_the_entry_point(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("--fixtures")
    for name in (
        "rendezvous_container",
        "fake_rendezvous_handler",
        "rendezvous_override",
        "mock_rendezvous_handler",
    ):
        result.stdout.fnmatch_lines([f"{name}*"])


def test_loading_the_plugin_imports_neither_torch_nor_dependency_injector(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_user="""
        import sys

        def test_nothing_heavy_was_imported(request):
            assert request.config.pluginmanager.has_plugin("rendezvous_di")
            import rendezvous_di.testing
            assert "torch" not in sys.modules
            assert "dependency_injector" not in sys.modules
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_container_ignores_pet_environment_and_plugins(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        def test_defaults(rendezvous_container, monkeypatch):
            monkeypatch.setenv("PET_RDZV_BACKEND", "static")
            monkeypatch.setenv("PET_RDZV_ENDPOINT", "far-away:1234")
            settings = rendezvous_container.settings()
            assert (settings.backend, settings.endpoint) == ("c10d", "localhost:0")
            assert settings.plugins.autoload is False
        """,
    )
    result.assert_outcomes(passed=1)


def test_markers_and_config_option_choose_the_settings(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".yaml", profile="backend: c10d\nendpoint: localhost:0\nconf:\n  join_timeout: 42\n"
    )
    result = run(
        pytester,
        """
        import pytest

        def test_file(rendezvous_container):
            settings = rendezvous_container.settings()
            assert settings.conf == {"join_timeout": 42}
            assert settings.source_of("conf.join_timeout").startswith("file ")

        @pytest.mark.rendezvous_backend("c10d")
        @pytest.mark.rendezvous_config(
            endpoint="127.0.0.1:29999", nnodes=2, conf={"read_timeout": 7}
        )
        def test_markers(rendezvous_container):
            settings = rendezvous_container.settings()
            assert (settings.endpoint, settings.max_nodes) == ("127.0.0.1:29999", 2)
            assert settings.conf == {"join_timeout": 42, "read_timeout": 7}
            assert settings.source_of("conf.read_timeout") == "config"

        @pytest.mark.rendezvous_config(plugins={"autoload": True})
        def test_autoload_on_request(rendezvous_container):
            assert rendezvous_container.settings().plugins.autoload is True
        """,
        "--rendezvous-config",
        "profile.yaml",
    )
    result.assert_outcomes(passed=3)


def test_bad_marker_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest

        @pytest.mark.rendezvous_backend("c10d", "static")
        def test_two(rendezvous_container):
            pass
        """,
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*rendezvous_backend takes one backend name*"])


def test_overriding_c10d_in_the_selector_reaches_handler_and_torch_registry(
    pytester: pytest.Pytester,
) -> None:
    result = run(
        pytester,
        """
        from dependency_injector import providers
        from torch.distributed.elastic.rendezvous import RendezvousParameters
        from torch.distributed.elastic.rendezvous import rendezvous_handler_registry as registry
        from rendezvous_di.testing import FakeRendezvousHandler

        def params():
            return RendezvousParameters("c10d", "localhost:0", "job", 1, 1)

        def test_instance(rendezvous_container, rendezvous_override, fake_rendezvous_handler):
            rendezvous_override(fake_rendezvous_handler)
            assert rendezvous_container.handler() is fake_rendezvous_handler
            assert rendezvous_container.handler().next_rendezvous().world_size == 1

        def test_undone_early(rendezvous_container, rendezvous_override, fake_rendezvous_handler):
            with rendezvous_override(fake_rendezvous_handler):
                assert rendezvous_container.handler() is fake_rendezvous_handler
            assert fake_rendezvous_handler.is_shut_down  # the handler made from it is gone
            real = rendezvous_container.handler()
            assert real is not fake_rendezvous_handler
            assert type(real).__name__ == "DynamicRendezvousHandler"

        def test_override_after_first_use_is_refused(rendezvous_container, rendezvous_override):
            rendezvous_container.handler()
            rendezvous_override(FakeRendezvousHandler(backend="c10d"))

        def test_plain_dependency_injector_override_in_the_selector(rendezvous_container):
            fake = FakeRendezvousHandler(backend="c10d")
            with rendezvous_container.backends.providers["c10d"].override(providers.Object(fake)):
                assert rendezvous_container.handler() is fake
            # also as an attribute: the same provider object
            assert rendezvous_container.c10d is rendezvous_container.backends.providers["c10d"]

        def test_class_through_torch_registry(rendezvous_override):
            rendezvous_override(FakeRendezvousHandler, backend="c10d")
            with rendezvous_override.install(["c10d"]):
                handler = registry.create_handler(params())
                assert isinstance(handler, FakeRendezvousHandler)
                assert handler.get_run_id() == "job"
                handler.shutdown()

        def test_creator(rendezvous_container, rendezvous_override):
            made = []
            def creator(params):
                made.append(FakeRendezvousHandler(backend=params.backend, run_id=params.run_id))
                return made[-1]
            rendezvous_override(creator)
            assert rendezvous_container.handler() is made[0]
            rendezvous_container.shutdown_resources()
            assert made[0].is_shut_down

        def test_whole_handler(rendezvous_container, rendezvous_override):
            fake = FakeRendezvousHandler(backend="anything")
            with rendezvous_override.handler(fake):
                assert rendezvous_container.handler() is fake
            assert fake.is_shut_down

        def test_fake_for_another_backend_is_refused(rendezvous_override):
            rendezvous_override(FakeRendezvousHandler(backend="fake"))
        """,
    )
    result.assert_outcomes(passed=6, failed=2)
    result.stdout.fnmatch_lines(
        ["*serves backend 'fake' but would replace 'c10d'*FakeRendezvousHandler(backend='c10d')*"]
    )
    result.stdout.fnmatch_lines(
        ["*cannot override backend 'c10d': the container already created its handler*"]
    )


def test_overrides_never_leak_into_the_next_test(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import sys
        from dependency_injector import providers
        from rendezvous_di import RendezvousContainer, add_backend, install
        from rendezvous_di.testing import FakeRendezvousHandler

        def test_a_leaves_everything_behind(rendezvous_container, rendezvous_override):
            rendezvous_container.config.from_dict({"run_id": "kept"})
            add_backend(rendezvous_container, "my-backend", providers.Object(None))
            rendezvous_override(FakeRendezvousHandler(backend="c10d"))
            rendezvous_container.backends.providers["static"].override(providers.Object(1))
            rendezvous_container.handler.override(providers.Object(2))
            RendezvousContainer.handler.override(providers.Object(3))
            rendezvous_override.install()
            install(rendezvous_container, ["c10d", "my-backend"])
            assert rendezvous_container.handler() == 2

        def test_b_sees_none_of_it(rendezvous_container):
            from torch.distributed.elastic.rendezvous import registry as torch_registry
            # (a Configuration keeps its values as overrides: those are not overrides here)
            for provider in RendezvousContainer.traverse():
                assert not provider.overridden, provider
            overridden = [
                p for p in rendezvous_container.traverse()
                if p.overridden and not isinstance(p, providers.Configuration)
            ]
            assert overridden == [rendezvous_container.environ]  # the fixture's own: PET_* off
            creators = torch_registry.handler_registry._registry
            assert creators["c10d"] is torch_registry._create_c10d_handler
            assert "my-backend" not in creators
            assert rendezvous_container.settings().run_id != "kept"
        """,
        "-p",
        "no:randomly",
    )
    result.assert_outcomes(passed=2, warnings=2)
    result.stdout.fnmatch_lines(
        [
            "*RendezvousLeakWarning: the test overrode providers of RendezvousContainer itself*",
            "*RendezvousLeakWarning: install() of the test's container was not undone*",
        ]
    )


def test_fixture_teardown_keeps_configuration(pytester: pytest.Pytester) -> None:
    # reset_override() would wipe it: the fixture must undo overrides one by one.
    result = run(
        pytester,
        """
        import pytest
        from rendezvous_di.testing import FakeRendezvousHandler

        kept = {}

        @pytest.fixture
        def container(rendezvous_container):
            yield rendezvous_container
            kept["config"] = rendezvous_container.config()

        def test_override_then_teardown(container, rendezvous_override):
            container.config.from_dict({"run_id": "mine"})
            rendezvous_override(FakeRendezvousHandler(backend="c10d"))

        def test_config_survived():
            assert kept["config"]["run_id"] == "mine"
        """,
        "-p",
        "no:randomly",
    )
    result.assert_outcomes(passed=2)


def test_mock_handler_is_installed_and_usable(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        from torch.distributed.elastic.rendezvous import RendezvousClosedError

        def train(container):
            handler = container.handler()
            info = handler.next_rendezvous()
            info.store.set("ready", b"1")
            return info.rank, info.world_size, handler.get_backend()

        def test_runs(rendezvous_container, mock_rendezvous_handler):
            assert train(rendezvous_container) == (0, 1, "c10d")
            mock_rendezvous_handler.next_rendezvous.assert_called_once_with()

        def test_steer_it(rendezvous_container, mock_rendezvous_handler):
            mock_rendezvous_handler.next_rendezvous.side_effect = RendezvousClosedError("closed")
            try:
                train(rendezvous_container)
            except RendezvousClosedError:
                pass
            mock_rendezvous_handler.shutdown.assert_not_called()

        def test_autospec_rejects_what_torch_lacks(mock_rendezvous_handler):
            mock_rendezvous_handler.next_rendezvous(timeout=3)

        def test_a_wrong_expectation_fails(rendezvous_container, mock_rendezvous_handler):
            mock_rendezvous_handler.set_closed.assert_called_once()
        """,
    )
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(["*TypeError*unexpected keyword argument 'timeout'*"])
    result.stdout.fnmatch_lines(["*Expected 'set_closed' to have been called once*"])


def test_patching_the_container_fails_saying_what_to_do_instead(
    pytester: pytest.Pytester,
) -> None:
    result = run(
        pytester,
        """
        def test_patch_backend(rendezvous_container, mocker):
            mocker.patch.object(rendezvous_container, "c10d")

        def test_patch_handler(rendezvous_container, mocker):
            mocker.patch.object(rendezvous_container, "handler")

        def test_container_still_works_afterwards(rendezvous_container, mocker):
            try:
                mocker.patch.object(rendezvous_container, "handler")
            except TypeError:
                pass
            assert "handler" in rendezvous_container.providers
            assert rendezvous_container.settings().backend == "c10d"
        """,
    )
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*ProviderPatchError: cannot patch container attribute 'c10d'*"
            "rendezvous_override(replacement, backend='c10d')*",
            "*ProviderPatchError: cannot patch container attribute 'handler'*"
            "rendezvous_override.handler(replacement)*",
        ]
    )


def test_wiring_is_undone_after_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        service="""
        from dependency_injector.wiring import Provide, inject
        from rendezvous_di import RendezvousContainer

        @inject
        def backend_name(settings=Provide[RendezvousContainer.settings]):
            return getattr(settings, "backend", None)
        """
    )
    result = run(
        pytester,
        """
        import service

        def test_wired(rendezvous_container):
            rendezvous_container.wire(modules=[service])
            assert service.backend_name() == "c10d"

        def test_unwired_afterwards():
            assert service.backend_name() is None
        """,
        "-p",
        "no:randomly",
    )
    result.assert_outcomes(passed=2)
