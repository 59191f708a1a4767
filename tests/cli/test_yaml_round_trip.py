"""YAML read exactly: ``config --format yaml`` gives back what it wrote; ambiguity is refused.

The round trip is tested with generated values (hypothesis), not a handful of
examples: texts that look like numbers in some YAML dialect (``0o17``,
``+0o1``, ``1_000``, ``.5``, ``yes``, ``~``), characters YAML folds or drops
(``\\x85``, ``\\u2028``, tabs, escapes), leading and trailing spaces.
Duplicate keys and NUL characters, which no file can mean, are exit code 2
naming the key and both lines, or the field.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rendezvous_di import ConfigError, RendezvousContainer
from rendezvous_di.cli.settings_yaml import as_yaml
from rendezvous_di.config.yaml_file import dump_settings, read_settings_file
from tests.support.contract import refused
from tests.support.procs import run_cli

# Any Unicode text but what no settings value can hold: NUL (refused), lone surrogates
# (not Unicode text), and ${ (a file expands it; `config --format yaml` refuses it).
TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1
).filter(lambda t: "${" not in t)
# Texts built to look like YAML 1.1 or 1.2 numbers, booleans, nulls and dates.
LOOKALIKE = st.from_regex(
    r"\A[ +\-]?(0[oxb]?[0-9a-fA-F_]{0,4}|[0-9_.:eE+-]{1,8}|yes|no|on|off|~|null|true|\.inf"
    r"|\.nan|20[0-9]{2}-[01][0-9]-[0-3][0-9])[ \t\x85\u2028]?\Z"
)
RUN_ID = st.one_of(TEXT, LOOKALIKE)
EXAMPLES = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def settings_from(values: dict[str, Any] | None = None, path: str | None = None) -> Any:
    container = RendezvousContainer(config_file=providers.Object(path))
    container.environ.override({})
    if values is not None:
        container.config.from_dict(values)
    return container.settings()


@EXAMPLES
@given(texts=st.dictionaries(st.sampled_from(["a", "b", "c"]), RUN_ID, min_size=1))
def test_every_text_comes_back_as_written(texts: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory, "values.yaml")
        path.write_text(dump_settings({"conf": texts}), encoding="utf-8")
        assert read_settings_file(str(path), {}) == {"conf": texts}


@EXAMPLES
@given(
    run_id=RUN_ID,
    key_prefix=TEXT,
    nodes=st.tuples(st.integers(1, 10**6), st.integers(0, 10**6)),
    join_timeout=st.integers(1, 10**9),
)
def test_config_format_yaml_reads_back_the_same_settings(
    run_id: str, key_prefix: str, nodes: tuple[int, int], join_timeout: int
) -> None:
    low, extra = nodes
    given_values = {
        "backend": "etcd-v3",
        "endpoint": "etcd.example:2379",
        "run_id": run_id,
        "nnodes": f"{low}:{low + extra}",
        "conf": {"key_prefix": key_prefix, "join_timeout": join_timeout},
    }
    written = settings_from(given_values)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "job.yaml")
        Path(path).write_text(as_yaml(written), encoding="utf-8")
        read = settings_from(path=path)
    assert read.to_dict() == written.to_dict()
    assert read.run_id == run_id


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "job.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("text", "key", "lines"),
    [
        ("backend: c10d\nrun_id: a\nrun_id: b\n", "'run_id'", "lines 2 and 3"),
        (
            "conf:\n  join_timeout: 5\n  last_call_timeout: 1\n  join_timeout: 6\n",
            "'join_timeout'",
            "lines 2 and 4",
        ),
        ("conf: {join_timeout: 1, join_timeout: 2}\n", "'join_timeout'", "lines 1 and 1"),
        ("plugins:\n  deny: [a]\n  deny: [b]\n", "'deny'", "lines 2 and 3"),
        ("platform:\n  rendezvous: {}\n  rendezvous: {}\n", "'rendezvous'", "lines 2 and 3"),
        ("'nnodes': 2\nnnodes: 3\n", "'nnodes'", "lines 1 and 2"),
    ],
    ids=["top", "conf", "flow", "plugins", "nested", "quoted"],
)
def test_a_key_given_twice_is_refused_naming_it_and_both_lines(
    text: str, key: str, lines: str, tmp_path: Path
) -> None:
    done = run_cli(["config", "--config", write(tmp_path, text)])
    refused(done, key, lines, "given twice")


def test_a_merge_key_is_not_a_duplicate(tmp_path: Path) -> None:
    text = (
        "base: &base {join_timeout: 5}\nrendezvous:\n  conf:\n    <<: *base\n    join_timeout: 6\n"
    )
    done = run_cli(["config", "--config", write(tmp_path, text), "--config-key", "rendezvous"])
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('run_id: "a\\0b"\n', "run_id"),
        ('conf:\n  key_prefix: "\\0"\n', "conf.key_prefix"),
        ('conf:\n  join_timeout: "5\\0"\n', "conf.join_timeout"),
        ('endpoint: "h\\0:1"\n', "endpoint"),
    ],
)
def test_a_nul_character_is_refused_naming_the_field(text: str, field: str, tmp_path: Path) -> None:
    done = run_cli(["config", "--config", write(tmp_path, text)])
    refused(done, field, "NUL character")


def test_a_nul_character_from_python_is_refused_too() -> None:
    with pytest.raises(ConfigError, match="NUL"):
        settings_from({"run_id": "job\x00"})


TOO_LARGE = {
    "plain keys": "".join(f"k{i}: {i}\n" for i in range(12_000)),  # the report had 60,000
    # One modest alias among them: still a file too large, not an alias bomb.
    "plain keys and one alias": "base: &b {x: 1}\nother: *b\n"
    + "".join(f"k{i}: {i}\n" for i in range(12_000)),
    "a long list": "conf:\n  items:\n" + "".join(f"    - {i}\n" for i in range(12_000)),
    "a flow mapping": "{" + ", ".join(f"k{i}: {i}" for i in range(12_000)) + "}\n",
}


@pytest.mark.parametrize("name", sorted(TOO_LARGE))
def test_many_plain_values_are_not_called_an_alias_bomb(name: str, tmp_path: Path) -> None:
    line = refused(run_cli(["config", "--config", write(tmp_path, TOO_LARGE[name])]), "config file")
    assert "alias" not in line
    assert "holds more than 10000 values" in line


def test_a_run_id_that_reads_like_the_standalone_placeholder_is_kept() -> None:
    """``--standalone`` marks its run id for a fresh one with a placeholder; a user's run id
    with the same text is the user's (Hypothesis found the text in our code)."""
    written = settings_from({"backend": "c10d", "endpoint": "h:1", "run_id": "<fresh>"})
    assert written.run_id == "<fresh>"
    standalone = settings_from({"standalone": True})
    assert standalone.run_id != "<fresh>"
    assert len(standalone.run_id) >= 16
