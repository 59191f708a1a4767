"""Hostile input, by class: never a traceback, a hang or unbounded output.

Each class of bad value is sent through every path it can enter by (a YAML
file, a PET_* variable, a flag, ``--rdzv-conf``, ``config.from_dict``), and
the answer is always the error contract: exit code 2, one first line
``error:`` naming the field, bounded stderr. Every subprocess has a timeout,
so a hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rendezvous_di import ConfigError, RendezvousContainer
from rendezvous_di.text import MAX_MESSAGE
from tests.support.contract import refused
from tests.support.procs import REPO, clean_environ, run_cli

TIMEOUT = 60  # generous: the machine is loaded; a hang is what it catches, not slowness


def cli(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return run_cli(["config", *args], env=env, timeout=TIMEOUT)


def in_file(tmp_path: Path, text: str | bytes, name: str = "settings.yaml") -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return str(path)


def python_error(config: dict[Any, Any]) -> ConfigError:
    container = RendezvousContainer()
    container.environ.override({})
    container.config.from_dict(config)
    with pytest.raises(ConfigError) as caught:
        container.settings()
    assert len(str(caught.value)) <= MAX_MESSAGE
    return caught.value


# ---------------------------------------------------------------- values that explode in size


def _bomb(levels: int = 9) -> str:
    """Billion laughs: ``levels`` lines of anchors, each nine aliases of the previous one."""
    lines = ["  - &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"  - &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


BOMB_PLACES = {
    "top level": "defs:\n{bomb}",
    "run_id": "run_id:\n{bomb}",
    "endpoint": "endpoint:\n{bomb}",
    "min_nodes": "min_nodes:\n{bomb}",
    "nnodes": "nnodes:\n{bomb}",
    "conf option": "conf:\n  join_timeout:\n{bomb}",
    "plugins.allow": "plugins:\n  allow:\n{bomb}",
    "plugins.deny": "plugins:\n  deny:\n{bomb}",
}


@pytest.mark.parametrize("place", sorted(BOMB_PLACES))
@pytest.mark.parametrize("command", ["config", "check"])
def test_a_yaml_alias_bomb_is_refused_without_being_expanded(
    tmp_path: Path, place: str, command: str
) -> None:
    path = in_file(tmp_path, BOMB_PLACES[place].format(bomb=_bomb()))
    done = run_cli([command, "--config", path], timeout=TIMEOUT)
    refused(done, path, "YAML aliases")


def test_backends_reads_a_bomb_only_for_its_plugins_policy(tmp_path: Path) -> None:
    """Without plugins the listing needs no settings; with --rdzv-backend it still lists."""
    path = in_file(tmp_path, BOMB_PLACES["plugins.allow"].format(bomb=_bomb()))
    done = run_cli(["backends", "--json", "--config", path], timeout=TIMEOUT)
    assert done.returncode in (0, 2), done.stderr[:500]
    if done.returncode == 2:
        refused(done, path, "YAML aliases")


def test_a_yaml_alias_bomb_is_refused_by_config_json_too(tmp_path: Path) -> None:
    path = in_file(tmp_path, BOMB_PLACES["run_id"].format(bomb=_bomb()))
    refused(run_cli(["config", "--json", "--config", path], timeout=TIMEOUT), "more than")


def test_an_alias_that_contains_itself_is_refused(tmp_path: Path) -> None:
    path = in_file(tmp_path, "run_id: &me [*me]\n")
    refused(cli(["--config", path]), path, "refers to a value containing it")


def test_modest_aliases_keep_working(tmp_path: Path) -> None:
    path = in_file(tmp_path, "x-timeout: &t 60\nconf:\n  join_timeout: *t\n  close_timeout: *t\n")
    done = run_cli(["config", "--config", path], timeout=TIMEOUT)
    assert done.returncode == 2  # x-timeout is not a setting: the aliases themselves passed
    refused(done, "unknown setting 'x-timeout'")
    ok = in_file(tmp_path, "conf: &c {join_timeout: 60}\n", "ok.yaml")
    assert run_cli(["config", "--config", ok], timeout=TIMEOUT).returncode == 0


def test_a_shared_python_structure_given_to_from_dict_is_never_walked() -> None:
    """The Python twin of an alias bomb: 9**10 items by shared references, in a subprocess."""
    program = (
        "from rendezvous_di import RendezvousContainer, ConfigError\n"
        "bomb = ['lol'] * 9\n"
        "for _ in range(9):\n"
        "    bomb = [bomb] * 9\n"
        "for key in ('run_id', 'endpoint', 'nnodes', 'min_nodes', 'local_addr'):\n"
        "    c = RendezvousContainer()\n"
        "    c.environ.override({})\n"
        "    c.config.from_dict({key: bomb})\n"
        "    try:\n"
        "        c.settings()\n"
        "    except ConfigError as error:\n"
        "        assert len(str(error)) < 1500, len(str(error))\n"
        "        print(error.field)\n"
        "c = RendezvousContainer()\n"
        "c.environ.override({})\n"
        "c.config.from_dict({'conf': {'join_timeout': bomb}, 'plugins': {'allow': [bomb]}})\n"
        "try:\n"
        "    c.settings()\n"
        "except ConfigError as error:\n"
        "    print(error.field)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=REPO,
        env=clean_environ(),
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    fields = ["run_id", "endpoint", "nnodes", "min_nodes", "local_addr", "plugins.allow"]
    assert done.stdout.split() == fields


@pytest.mark.parametrize("depth", [5_000, 200_000])
def test_nesting_too_deep_is_refused(tmp_path: Path, depth: int) -> None:
    path = in_file(tmp_path, "run_id: " + "[" * depth + "]" * depth + "\n")
    refused(cli(["--config", path]), path, "nested too deeply")


@pytest.mark.parametrize("kind", ["bomb", "fifo", "directory", "empty path", "not utf-8"])
def test_a_hostile_file_given_to_the_container_is_a_config_file_error(
    tmp_path: Path, kind: str
) -> None:
    """The same refusals in Python, through the container's ``config_file`` provider."""
    from rendezvous_di.errors import ConfigFileError

    if kind == "bomb":
        path = in_file(tmp_path, BOMB_PLACES["run_id"].format(bomb=_bomb()))
    elif kind == "fifo":
        path = str(tmp_path / "fifo")
        os.mkfifo(path)
    elif kind == "directory":
        path = str(tmp_path)
    elif kind == "empty path":
        path = ""
    else:
        path = in_file(tmp_path, b"run_id: \xff\n")
    container = RendezvousContainer()
    container.environ.override({})
    container.config_file.override(path)
    with pytest.raises(ConfigFileError) as caught:
        container.settings()
    assert len(str(caught.value)) < 400


# ---------------------------------------------------------------- non-finite and huge numbers

HUGE = "9" * 100_000


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400", "1e18", HUGE])
@pytest.mark.parametrize(
    ("flags", "field"),
    [
        (["--rdzv-conf", "join_timeout={}"], "conf.join_timeout"),
        (["--rdzv-backend", "static", "--rdzv-conf", "rank=0,timeout={}"], "conf.timeout"),
        (["--nnodes", "{}"], "nnodes"),
        (["--nnodes", "1:{}"], "nnodes"),
    ],
)
def test_non_finite_and_huge_numbers_in_flags(flags: list[str], field: str, value: str) -> None:
    line = refused(cli([f.format(value) for f in flags]), field)
    assert len(line) < 400


@pytest.mark.parametrize("value", ["nan", "inf", "1e400", HUGE])
@pytest.mark.parametrize(
    ("variable", "field"),
    [("PET_NNODES", "nnodes"), ("PET_RDZV_CONF", "conf.join_timeout")],
)
def test_non_finite_and_huge_numbers_in_variables(variable: str, field: str, value: str) -> None:
    text = f"join_timeout={value}" if variable == "PET_RDZV_CONF" else value
    refused(cli([], **{variable: text}), field, f"env {variable}")


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("conf: {join_timeout: .nan}\n", "conf.join_timeout"),
        ("conf: {join_timeout: .inf}\n", "conf.join_timeout"),
        ("conf: {join_timeout: 1.0e+400}\n", "conf.join_timeout"),
        ("conf: {join_timeout: 100000000000000000000}\n", "conf.join_timeout"),
        ("conf: {join_timeout: '1e400'}\n", "conf.join_timeout"),
        ("min_nodes: .inf\n", "min_nodes"),
        ("max_nodes: .nan\n", "max_nodes"),
        ("min_nodes: 100000000000000000000\n", "min_nodes"),
        ("min_nodes: '" + HUGE + "'\n", "min_nodes"),
        ("nnodes: .inf\n", "nnodes"),
    ],
)
def test_non_finite_and_huge_numbers_in_a_file(tmp_path: Path, text: str, field: str) -> None:
    path = in_file(tmp_path, text)
    refused(cli(["--config", path]), field, f"file {path}")


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"conf": {"join_timeout": float("nan")}}, "conf.join_timeout"),
        ({"conf": {"join_timeout": float("inf")}}, "conf.join_timeout"),
        ({"conf": {"join_timeout": 10**100_000}}, "conf.join_timeout"),
        ({"conf": {"join_timeout": 10**15}}, "conf.join_timeout"),
        ({"min_nodes": float("inf")}, "min_nodes"),
        ({"min_nodes": 10**100_000}, "min_nodes"),
        ({"max_nodes": float("nan")}, "max_nodes"),
        ({"nnodes": 10**100_000}, "min_nodes"),
    ],
)
def test_non_finite_and_huge_numbers_from_python(config: dict[str, Any], field: str) -> None:
    error = python_error(config)
    assert error.field == field
    assert "100000 digits" in str(error) or len(str(error)) < 400


# ---------------------------------------------------------------- floats for integer options


@pytest.mark.parametrize(
    ("how", "field"),
    [
        (lambda p: cli(["--config", in_file(p, "conf: {join_timeout: 1.5}\n")]), "join_timeout"),
        (lambda p: cli(["--config", in_file(p, "conf: {join_timeout: 60.0}\n")]), "join_timeout"),
        (lambda p: cli(["--config", in_file(p, "min_nodes: 2.0\n")]), "min_nodes"),
        (lambda p: cli(["--config", in_file(p, "max_nodes: 2.5\n")]), "max_nodes"),
        (lambda p: cli(["--nnodes", "1.5"]), "nnodes"),
        (lambda p: cli(["--nnodes", "1:2.0"]), "nnodes"),
        (lambda p: cli([], PET_NNODES="2.0"), "nnodes"),
        (lambda p: cli(["--rdzv-conf", "join_timeout=1.5"]), "conf.join_timeout"),
        (lambda p: cli([], PET_RDZV_CONF="heartbeat_timeout=2.5"), "conf.heartbeat_timeout"),
    ],
)
def test_a_float_for_an_integer_is_refused_not_truncated(
    tmp_path: Path, how: Callable[[Path], subprocess.CompletedProcess[str]], field: str
) -> None:
    line = refused(how(tmp_path), field)
    assert "is not an integer" in line or "with whole numbers" in line


@pytest.mark.parametrize(
    "config",
    [{"min_nodes": 2.0}, {"max_nodes": 1.5}, {"conf": {"join_timeout": 1.5}}, {"nnodes": 2.0}],
)
def test_a_float_for_an_integer_from_python(config: dict[str, Any]) -> None:
    assert "not" in str(python_error(config))


# ---------------------------------------------------------------- non-text mapping keys


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("1: x\n", ["configuration", "the key 1 is int, not text"]),
        ("~: x\n", ["configuration", "the key None is NoneType"]),
        ("? [a]\n: b\n", ["invalid YAML", "unhashable key"]),
        ("conf: {1: 2}\n", ["conf", "the key 1 is int"]),
        ("conf: {~: 2}\n", ["conf", "the key None"]),
        ("conf:\n  ? [a]\n  : b\n", ["invalid YAML", "unhashable"]),
        ("plugins: {1: x}\n", ["plugins", "the key 1 is int"]),
        ("plugins: {~: x}\n", ["plugins", "the key None"]),
        ("true: x\n", ["configuration", "the key True is bool"]),
    ],
)
def test_non_text_keys_in_a_file(tmp_path: Path, text: str, fragments: list[str]) -> None:
    refused(cli(["--config", in_file(tmp_path, text)]), *fragments)


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({1: "x"}, "configuration"),
        ({None: "x"}, "configuration"),
        ({("a",): "x"}, "configuration"),
        ({"conf": {1: 2}}, "conf"),
        ({"conf": {None: 2}}, "conf"),
        ({"plugins": {2: "x"}}, "plugins"),
    ],
)
def test_non_text_keys_from_python(config: dict[Any, Any], field: str) -> None:
    assert python_error(config).field == field


# ---------------------------------------------------------------- not UTF-8

UNDECODABLE = "h\udcff"  # what os.environ and sys.argv make of the byte 0xff


@pytest.mark.parametrize(
    ("variable", "field"),
    [
        ("PET_RDZV_ENDPOINT", "endpoint"),
        ("PET_RDZV_ID", "run_id"),
        ("PET_RDZV_BACKEND", "backend"),
        ("PET_LOCAL_ADDR", "local_addr"),
        ("PET_RDZV_CONF", "conf"),
    ],
)
def test_a_variable_that_is_not_utf8_names_itself(variable: str, field: str) -> None:
    value = f"join_timeout={UNDECODABLE}" if variable == "PET_RDZV_CONF" else UNDECODABLE
    refused(cli([], **{variable: value}), field, f"env {variable}", "UTF-8")


@pytest.mark.parametrize("flag", ["--rdzv-id", "--rdzv-endpoint", "--local-addr", "--rdzv-conf"])
def test_a_flag_that_is_not_utf8_names_itself(flag: str) -> None:
    value = f"join_timeout={UNDECODABLE}" if flag == "--rdzv-conf" else UNDECODABLE
    refused(cli([flag, value]), f"flag {flag}", "UTF-8")


def test_a_file_reference_to_a_variable_that_is_not_utf8(tmp_path: Path) -> None:
    path = in_file(tmp_path, "run_id: ${JOB}\n")
    refused(cli(["--config", path], JOB=UNDECODABLE), "run_id", "UTF-8")


def test_a_file_that_is_not_utf8_names_the_file_and_line(tmp_path: Path) -> None:
    path = in_file(tmp_path, b"backend: c10d\nrun_id: caf\xe9\n")
    refused(cli(["--config", path]), path, ":2", "not UTF-8", "0xe9")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-8-sig"])
def test_a_file_with_a_byte_order_mark_is_read(tmp_path: Path, encoding: str) -> None:
    text = "run_id: job-7\nconf: {join_timeout: 60}\n"
    raw = text.encode(encoding)
    if encoding == "utf-16-be":
        raw = b"\xfe\xff" + raw
    done = run_cli(["config", "--json", "--config", in_file(tmp_path, raw)], timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert '"run_id": "job-7"' in done.stdout


def test_utf16_without_a_byte_order_mark_is_refused(tmp_path: Path) -> None:
    path = in_file(tmp_path, "run_id: x\n".encode("utf-16-le"))
    refused(cli(["--config", path]), path)


# ---------------------------------------------------------------- special files


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "settings.fifo"
    os.mkfifo(fifo)
    for command in (["config"], ["check"], ["backends", "--rdzv-backend", "c10d"]):
        done = run_cli([*command, "--config", str(fifo)], timeout=TIMEOUT)
        if command[0] == "backends":  # lists without settings when no plugin needs a policy
            assert done.returncode in (0, 2)
            assert "Traceback" not in done.stderr
        else:
            refused(done, str(fifo), "FIFO")


@pytest.mark.parametrize(
    ("path", "fragment"), [("/dev/zero", "device"), ("/dev/urandom", "device")]
)
def test_an_endless_device_is_refused(path: str, fragment: str) -> None:
    refused(cli(["--config", path]), path, fragment)


def test_dev_null_is_an_empty_settings_file() -> None:
    done = run_cli(["config", "--json", "--config", os.devnull], timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr


def test_a_directory_is_refused(tmp_path: Path) -> None:
    refused(cli(["--config", str(tmp_path)]), str(tmp_path), "directory")


def test_a_huge_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as file:
        file.truncate(64 << 20)  # sparse: 64 MiB that cost no disk
    refused(cli(["--config", str(path)]), str(path), "bytes")


def test_a_file_that_grows_past_the_limit_while_read_is_refused(tmp_path: Path) -> None:
    path = in_file(tmp_path, "# " + "x" * (2 << 20) + "\n")
    refused(cli(["--config", path]), path)


# ---------------------------------------------------------------- empty paths


@pytest.mark.parametrize("command", ["config", "backends", "check"])
def test_an_empty_config_path_is_refused(command: str) -> None:
    refused(run_cli([command, "--config", ""], timeout=TIMEOUT), "--config", "empty")


def test_an_empty_container_spec_is_refused() -> None:
    refused(run_cli(["backends", "--container", ""], timeout=TIMEOUT), "--container")


@pytest.mark.parametrize("option", ["ssl_cert", "ssl_cert_key", "ca_cert"])
def test_an_empty_tls_file_path_is_refused(tmp_path: Path, option: str) -> None:
    path = in_file(tmp_path, f"backend: etcd-v2\nconf: {{protocol: https, {option}: ''}}\n")
    refused(cli(["--config", path]), f"conf.{option}", "empty")
    refused(run_cli(["check", "--config", path], timeout=TIMEOUT), f"conf.{option}")


def test_c10d_file_store_needs_a_path(tmp_path: Path) -> None:
    path = in_file(tmp_path, "endpoint: ''\nconf: {store_type: file}\n")
    refused(cli(["--config", path]), "endpoint", "file store")


# ---------------------------------------------------------------- bare IPv6 addresses


@pytest.mark.parametrize(
    ("endpoint", "write"),
    [("::1:29400", "[::1]:29400"), ("fe80::1", "[fe80::1]:<port>"), ("::1", "[::1]:<port>")],
)
@pytest.mark.parametrize("path", ["flag", "env", "file"])
def test_a_bare_ipv6_endpoint_says_how_to_write_it(
    tmp_path: Path, endpoint: str, write: str, path: str
) -> None:
    if path == "flag":
        done = cli(["--rdzv-endpoint", endpoint])
    elif path == "env":
        done = cli([], PET_RDZV_ENDPOINT=endpoint)
    else:
        done = cli(["--config", in_file(tmp_path, f"endpoint: '{endpoint}'\n")])
    refused(done, "endpoint", "without brackets", write)


def test_a_master_addr_with_a_port_says_how_to_write_it() -> None:
    done = run_cli(
        [
            *("run", "--rdzv-backend", "static", "--nnodes", "2"),
            *("--master-addr", "::1:29400", "--node-rank", "0", "x.py"),
        ],
        timeout=TIMEOUT,
    )
    # The address itself is refused, naming the flag: its port goes in --master-port.
    refused(
        done,
        "master_addr",
        "'::1:29400' is a host with a port",
        "--master-addr ::1 --master-port 29400",
    )


@pytest.mark.parametrize(
    ("host", "endpoint"),
    [("::1", "[::1]:29500"), ("fe80::1", "[fe80::1]:29500"), ("head", "head:29500")],
)
def test_an_ipv6_master_addr_is_bracketed_in_the_endpoint(host: str, endpoint: str) -> None:
    """torchrun's --master-addr is a host: a bare IPv6 address there is unambiguous."""
    from rendezvous_di.config.endpoint import host_port, parse_endpoint

    assert host_port(host, 29500) == endpoint
    assert parse_endpoint(endpoint).host == host


def test_brackets_around_something_else_than_ipv6_are_refused() -> None:
    refused(cli(["--rdzv-endpoint", "[head]:29400"]), "endpoint", "not an IPv6 address")


@pytest.mark.parametrize("endpoint", ["[::1]:29400", "[::1]", "[fe80::1]:1"])
def test_bracketed_ipv6_endpoints_keep_working(endpoint: str) -> None:
    done = run_cli(["config", "--json", "--rdzv-endpoint", endpoint], timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(("given", "stored"), [("fe80::1", "fe80::1"), ("[::1]", "::1")])
def test_local_addr_takes_an_ipv6_address(given: str, stored: str) -> None:
    done = run_cli(["config", "--json", "--local-addr", given], timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert f'"local_addr": "{stored}"' in done.stdout


@pytest.mark.parametrize("given", ["::1:29400", "host:29400"])
def test_local_addr_with_a_port_is_refused(given: str) -> None:
    refused(cli(["--local-addr", given]), "local_addr", "without a port")


# ---------------------------------------------------------------- ${VAR} stays one value


@pytest.mark.parametrize("value", ["a: b\nc: [1", "{x: 1}", "[1, 2]", "*alias", "&a x", "- y"])
def test_a_referenced_variable_is_one_literal_value(tmp_path: Path, value: str) -> None:
    path = in_file(tmp_path, "run_id: ${JOB}\nconf: {join_timeout: 60}\n")
    done = run_cli(["config", "--json", "--config", path], env={"JOB": value}, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    import json

    values = json.loads(done.stdout)["values"]
    assert values["run_id"] == value
    assert values["conf"] == {"join_timeout": 60}


def test_a_variable_cannot_add_settings_or_options(tmp_path: Path) -> None:
    path = in_file(tmp_path, "conf:\n  join_timeout: ${T}\n")
    done = cli(["--config", path], T="60\n  bogus: 1")
    refused(done, "conf.join_timeout", "is not an integer")


def test_an_unset_reference_still_leaves_a_setting_unset(tmp_path: Path) -> None:
    path = in_file(tmp_path, "min_nodes: ${NODES}\nrun_id: ${ID:job}\n")
    done = run_cli(["config", "--json", "--config", path], timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert '"min_nodes": 1' in done.stdout
    assert '"run_id": "job"' in done.stdout


# ---------------------------------------------------------------- --container code that fails

BROKEN_CONTAINERS = [
    ('raise RuntimeError("boom")\n', "RuntimeError: boom"),
    ("raise SystemExit(3)\n", "SystemExit: 3"),
    ("import sys\nsys.exit('bye')\n", "SystemExit: bye"),
    ("raise GeneratorExit\n", "GeneratorExit"),
    ("import rdzv_no_such_module_anywhere\n", "No module named 'rdzv_no_such_module_anywhere'"),
    ("def Container(:\n", "SyntaxError"),
    ("\tx = 1\n  y = 2\n", "Error"),
    ("def Container():\n    return 42\n", "42 (int) is neither"),
    ("def Container():\n    return 'x' * 100000\n", "(100000 characters)"),
    ("def Container():\n    raise SystemExit(None)\n", "SystemExit"),
    ("def __getattr__(name):\n    raise ValueError('lookup')\n", "ValueError: lookup"),
    (
        "class Odd:\n    def __getattr__(self, name):\n        raise RuntimeError('attr')\n"
        "Container = Odd()\n",
        "RuntimeError: attr",
    ),
    (
        "class Bad(Exception):\n    def __str__(self):\n        raise ValueError\n"
        "def Container():\n    raise Bad()\n",
        "Bad: <its message cannot be shown>",
    ),
    (
        "class Loud:\n    def __repr__(self):\n        raise RuntimeError\n"
        "def Container():\n    return Loud()\n",
        "<Loud object> (Loud) is neither",
    ),
    ("def Container():\n    raise RuntimeError('x' * 100000)\n", "RuntimeError: xxx"),
]


@pytest.mark.parametrize(
    ("source", "fragment", "command"),
    [(*case, ("backends", "config", "check")[i % 3]) for i, case in enumerate(BROKEN_CONTAINERS)],
)
def test_a_container_module_that_fails_is_a_container_error(
    tmp_path: Path, source: str, fragment: str, command: str
) -> None:
    """Each broken module through one of the commands (each command sees several)."""
    module = tmp_path / "platform_mod.py"
    module.write_text(source)
    done = run_cli([command, "--container", f"{module}:Container"], timeout=TIMEOUT)
    refused(done, "--container", fragment)


def test_a_container_module_interrupting_itself_ends_as_interrupted(tmp_path: Path) -> None:
    module = tmp_path / "platform_mod.py"
    module.write_text("raise KeyboardInterrupt\n")
    done = run_cli(["backends", "--container", f"{module}:Container"], timeout=TIMEOUT)
    assert done.returncode == 130
    assert done.stderr == "error: interrupted\n"


def test_a_missing_container_module_says_it_cannot_be_imported(tmp_path: Path) -> None:
    done = run_cli(["backends", "--container", "rdzv_nowhere.pkg:Container"], timeout=TIMEOUT)
    refused(done, "--container", "cannot import 'rdzv_nowhere.pkg'")


# ---------------------------------------------------------------- closed or full stdout


def _shell(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=REPO,
        env=clean_environ(),
        check=False,
    )


CLI = f"{sys.executable} -m rendezvous_di"


@pytest.mark.parametrize(
    "command", ["backends --json", "backends", "config --json", "config", "--help", "check --json"]
)
def test_a_closed_pipe_ends_quietly(command: str) -> None:
    done = _shell(f"set -o pipefail; {CLI} {command} | head -c1 >/dev/null; echo $?")
    assert done.stderr == ""
    assert done.stdout.strip() in ("0", "1")  # check may find nothing to probe: 1 is its verdict


@pytest.mark.parametrize("command", ["backends --json", "config --json", "config", "check"])
def test_a_full_stdout_is_one_error_line(command: str) -> None:
    done = _shell(f"{CLI} {command} > /dev/full")
    assert done.returncode == 1
    assert done.stderr == "error: cannot write the output: No space left on device\n"


def test_a_closed_stdout_is_one_error_line_not_a_traceback() -> None:
    # Output that is lost is a failure (tests/cli/test_lost_output.py tries every command).
    done = _shell(f"{CLI} backends --json >&-")
    assert done.returncode == 1
    assert done.stderr == "error: cannot write the output: standard output is closed\n"


def test_a_large_listing_into_a_closed_pipe_ends_quietly() -> None:
    done = _shell(f"{CLI} backends --json | true")
    assert done.returncode == 0
    assert done.stderr == ""


# ---------------------------------------------------------------- check --timeout


@pytest.mark.parametrize(
    "value", ["inf", "-inf", "nan", "-1", "0", "1e400", "1e-400", "", "x", "9" * 5000, "86401"]
)
def test_check_refuses_a_timeout_no_probe_can_take(value: str) -> None:
    line = refused(run_cli(["check", "--timeout", value], timeout=TIMEOUT), "--timeout")
    assert len(line) < 400


# ---------------------------------------------------------------- the same through run


@pytest.mark.parametrize(
    "case", ["bomb", "fifo", "float nnodes", "bare ipv6", "not utf-8", "huge option", "empty"]
)
def test_run_refuses_hostile_input_before_starting_anything(tmp_path: Path, case: str) -> None:
    env: dict[str, str] = {}
    if case == "bomb":
        flags = ["--config", in_file(tmp_path, BOMB_PLACES["conf option"].format(bomb=_bomb()))]
    elif case == "fifo":
        os.mkfifo(tmp_path / "fifo")
        flags = ["--config", str(tmp_path / "fifo")]
    elif case == "float nnodes":
        flags = ["--nnodes", "1.5"]
    elif case == "bare ipv6":
        flags = ["--rdzv-endpoint", "fe80::1"]
    elif case == "not utf-8":
        flags, env = [], {"PET_RDZV_ID": UNDECODABLE}
    elif case == "huge option":
        flags = ["--rdzv-conf", "join_timeout=1e400"]
    else:
        flags = ["--config", ""]
    done = run_cli(["run", *flags, "--nproc-per-node", "1", "x.py"], env=env, timeout=TIMEOUT)
    refused(done)
    assert "rendezvous-di: backend=" not in done.stderr  # nothing was started
