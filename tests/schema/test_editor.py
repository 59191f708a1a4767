"""What an editor shows with the schema: the real YAML language server, over LSP.

The server editors run (``yaml-language-server``, installed by scripts/setup.sh)
reads the modeline ``# yaml-language-server: $schema=...`` as the docs tell
users to write it, and reports problems and completions from the schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.schema.conftest import PROFILES
from tests.support.procs import require, run_cli
from tests.support.yaml_language_server import SERVER, YamlLanguageServer


@pytest.fixture(scope="module")
def editor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    require(SERVER.exists(), f"yaml-language-server is installed at {SERVER} (scripts/setup.sh)")
    root = tmp_path_factory.mktemp("editor")
    schema = root / "rendezvous-di.schema.json"
    done = run_cli(["schema", "--output", str(schema)])
    assert done.returncode == 0, done.stderr
    with YamlLanguageServer(root) as server:
        yield server, f"# yaml-language-server: $schema={schema}\n"


def test_the_profiles_show_no_problem(editor: tuple[Any, str]) -> None:
    server, modeline = editor
    for profile in PROFILES:
        assert server.diagnostics(modeline + profile.read_text()) == [], profile.name


def test_what_the_loader_refuses_is_flagged_on_its_line(editor: tuple[Any, str]) -> None:
    server, modeline = editor
    text = "backend: etcd-v3\nbacknd: x\nconf:\n  join_timeout: soon\n  store_type: tcp\n"
    problems = server.diagnostics(modeline + text)
    assert [line for line, _ in problems] == [2, 4, 5]
    assert "backnd" in problems[0][1]
    assert "store_type" in problems[2][1]


def test_without_a_backend_several_nodes_mean_static(editor: tuple[Any, str]) -> None:
    server, modeline = editor
    problems = server.diagnostics(modeline + "nnodes: 2\nconf:\n  join_timeout: 60\n")
    assert [line for line, _ in problems] == [3]
    assert server.diagnostics(modeline + "nnodes: 1\nconf:\n  join_timeout: 60\n") == []


def test_backend_names_and_the_chosen_backend_s_options_are_completed(
    editor: tuple[Any, str],
) -> None:
    server, modeline = editor
    backends = server.completions(modeline + "backend: \n", 1, 9)
    assert {"c10d", "etcd", "etcd-v2", "etcd-v3", "static"} <= set(backends)
    keys = server.completions(modeline + "backend: etcd-v3\nconf:\n  \n", 3, 2)
    assert {"lease_ttl", "key_prefix", "join_timeout", "timeout"} <= set(keys)
    assert "store_type" not in keys
    choices = server.completions(modeline + "backend: c10d\nconf:\n  store_type: \n", 3, 14)
    assert {"tcp", "file"} <= set(choices)
