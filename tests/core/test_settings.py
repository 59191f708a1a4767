"""Settings: every source, precedence, provenance, and a clear error for every bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from rendezvous_di import ConfigError, ConfigFileError, UnknownBackendError, UnknownOptionError
from rendezvous_di.config.settings import resolve_settings
from rendezvous_di.config.sources import from_config_file, from_environ, from_flags, from_mapping
from rendezvous_di.registry.catalog import builtin_catalog


def resolve(*layers_or_mapping: object, **kwargs: object):  # type: ignore[no-untyped-def]
    layers = [from_mapping(x) if isinstance(x, dict) else x for x in layers_or_mapping]
    kwargs.setdefault("catalog", builtin_catalog())
    return resolve_settings(layers, **kwargs)  # type: ignore[arg-type]


def write(tmp_path: Path, text: str, name: str = "rdzv.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_defaults_are_a_single_node_c10d_job_on_an_embedded_store() -> None:
    settings = resolve()
    assert (settings.backend, settings.endpoint) == ("c10d", "localhost:0")
    assert (settings.min_nodes, settings.max_nodes) == (1, 1)
    assert len(settings.run_id) == 32
    assert settings.source_of("backend") == "default"
    assert settings.plugins.autoload is True


def test_a_fresh_run_id_is_stable_when_the_resolver_is_given_one() -> None:
    assert resolve(fresh_run_id="abc").run_id == "abc"
    assert resolve().run_id != resolve().run_id


def test_several_nodes_share_torchruns_default_run_id() -> None:
    # A random id per node would split the job into separate rendezvous.
    assert resolve({"nnodes": "2:4"}).run_id == "none"


def test_precedence_file_then_environment_then_explicit_then_flags(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "backend: static\nendpoint: file-host:1\nrun_id: from-file\nnnodes: 3\n"
        "conf: {rank: 1, timeout: 30}\n",
    )
    env = {"PET_RDZV_ENDPOINT": "env-host:2", "PET_RDZV_ID": "from-env", "PET_NNODES": "2:3"}
    settings = resolve(
        from_config_file(path),
        from_environ(env),
        from_mapping({"run_id": "explicit"}),
        from_flags({"conf": "timeout=60"}),
    )
    assert settings.backend == "static"
    assert settings.endpoint == "env-host:2"
    assert settings.run_id == "explicit"
    assert (settings.min_nodes, settings.max_nodes) == (2, 3)
    assert settings.conf == {"rank": 1, "timeout": 60}  # merged key by key, converted to int
    assert settings.sources == {
        "backend": f"file {path}",
        "endpoint": "env PET_RDZV_ENDPOINT",
        "run_id": "explicit",
        "min_nodes": "env PET_NNODES",
        "max_nodes": "env PET_NNODES",
        "conf.rank": f"file {path}",
        "conf.timeout": "flag --rdzv-conf",
    }


def test_every_pet_variable_is_read() -> None:
    env = {
        "PET_RDZV_BACKEND": "etcd-v2",
        "PET_RDZV_ENDPOINT": "etcd:2379",
        "PET_RDZV_ID": "job",
        "PET_RDZV_CONF": "join_timeout=30, protocol=http",
        "PET_NNODES": "1:4",
        "PET_LOCAL_ADDR": "10.0.0.7",
        "RENDEZVOUS_DI_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PET_ADMISSION": "disk,disk.min_free_mb=5",
    }
    settings = resolve(from_environ(env))
    assert settings.to_dict() == {
        "backend": "etcd-v2",
        "endpoint": "etcd:2379",
        "run_id": "job",
        "min_nodes": 1,
        "max_nodes": 4,
        "local_addr": "10.0.0.7",
        "conf": {"join_timeout": 30, "protocol": "http"},
        "plugins": {"autoload": False, "allow": [], "deny": [], "override_builtins": []},
        "scheduler": "none",
        "admission": {"disk": {"min_free_mb": "5"}},
    }


def test_empty_environment_variables_count_as_unset() -> None:
    assert resolve(from_environ({"PET_RDZV_BACKEND": "", "PET_NNODES": " "})).backend == "c10d"


def test_standalone_means_c10d_on_a_free_local_port_with_a_fresh_id() -> None:
    settings = resolve(
        from_mapping({"backend": "etcd", "endpoint": "x:1", "run_id": "given"}),
        from_environ({"PET_STANDALONE": "1"}),
        fresh_run_id="fresh",
    )
    assert (settings.backend, settings.endpoint, settings.run_id) == (
        "c10d",
        "localhost:0",
        "fresh",
    )
    assert settings.source_of("endpoint") == "env PET_STANDALONE"


def test_backend_default_endpoints_follow_torch() -> None:
    assert resolve({"backend": "etcd-v2"}).endpoint == "localhost:2379"
    assert resolve({"backend": "static", "conf": {"rank": 0}}).endpoint == "127.0.0.1:29500"


def test_yaml_expands_environment_references_like_dependency_injector(tmp_path: Path) -> None:
    path = write(tmp_path, "endpoint: ${RDZV_HOST}:${RDZV_PORT:29400}\n")
    layer = from_config_file(path, environ={"RDZV_HOST": "head"})
    assert resolve(layer).endpoint == "head:29400"


def test_options_are_converted_to_the_types_torch_reads() -> None:
    settings = resolve({"conf": {"join_timeout": "300", "is_host": "yes", "store_type": "TCP"}})
    assert settings.conf == {"join_timeout": 300, "is_host": True, "store_type": "tcp"}
    assert settings.as_torchrun_conf() == "join_timeout=300,is_host=true,store_type=tcp"


def test_options_torchs_launcher_adds_itself_are_accepted() -> None:
    assert resolve({"conf": {"timeout": "900"}}).conf == {"timeout": 900}
    static = resolve({"backend": "static", "endpoint": "h:1", "conf": {"rank": "0"}})
    assert static.conf == {"rank": 0}


def test_c10d_file_store_takes_a_path_as_endpoint() -> None:
    settings = resolve({"endpoint": "/tmp/rdzv-store", "conf": {"store_type": "file"}})
    assert settings.endpoint == "/tmp/rdzv-store"


def test_c10d_file_store_without_a_path_is_refused() -> None:
    with pytest.raises(ConfigError, match="file store needs the path of its file") as caught:
        resolve({"endpoint": " ", "conf": {"store_type": "file"}})
    assert caught.value.field == "endpoint"


def test_node_counts_read_from_text_as_pet_variables_give_them() -> None:
    settings = resolve({"min_nodes": " 2", "max_nodes": "4", "run_id": "job"})
    assert (settings.min_nodes, settings.max_nodes) == (2, 4)


def test_plugin_policy_accepts_lists_or_comma_separated_text() -> None:
    settings = resolve({"plugins": {"allow": "a,b", "deny": ["c"], "override_builtins": []}})
    assert settings.plugins.allow == ("a", "b")
    assert settings.plugins.deny == ("c",)


@pytest.mark.parametrize(
    ("given", "field", "fragments"),
    [
        (
            {"backend": "c10"},
            "backend",
            ["'c10'", "c10d, etcd, etcd-v2, static", "did you mean 'c10d'"],
        ),
        ({"endpoint": "host:port"}, "endpoint", ["'port'", "0 and 65535"]),
        ({"endpoint": "host:70000"}, "endpoint", ["'70000'"]),
        ({"endpoint": "bad host!:1"}, "endpoint", ["'bad host!'"]),
        ({"min_nodes": 3, "max_nodes": 2}, "max_nodes", [">= min_nodes (3)"]),
        ({"min_nodes": 0}, "min_nodes", ["0 must be >= 1"]),
        ({"nnodes": "a:b"}, "nnodes", ["'a:b'", "MIN:MAX"]),
        ({"nnodes": "1:2:3"}, "nnodes", ["'1:2:3'"]),
        ({"nnodes": 2, "min_nodes": 1}, "nnodes", ["not both"]),
        ({"min_nodes": "two"}, "min_nodes", ["'two'", "integer"]),
        ({"min_nodes": True}, "min_nodes", ["boolean"]),
        ({"conf": "join_timeout"}, "conf", ["'join_timeout' is not <key>=<value>"]),
        ({"conf": {"join_timeout": "soon"}}, "conf.join_timeout", ["'soon' is not an integer"]),
        ({"conf": {"join_timeout": 0}}, "conf.join_timeout", [">= 1"]),
        ({"conf": {"is_host": "maybe"}}, "conf.is_host", ["'maybe'", "true"]),
        ({"conf": {"store_type": "redis"}}, "conf.store_type", ["'redis'", "tcp, file"]),
        ({"backend": "static", "endpoint": "h"}, "endpoint", ["explicit port"]),
        ({"backnd": "c10d"}, "backnd", ["did you mean 'backend'"]),
        ({"plugins": {"autolod": True}}, "plugins.autolod", ["did you mean 'autoload'"]),
        ({"plugins": {"autoload": "sometimes"}}, "plugins.autoload", ["'sometimes'"]),
        ({"run_id": ""}, "run_id", ["at least 1 character"]),
        ({"run_id": 7}, "run_id", ["7 is not text", "quote it"]),
        ({"min_nodes": 1.5}, "min_nodes", ["1.5 is not an integer"]),
        ({"plugins": {"allow": {"a": 1}}}, "plugins.allow", ["not a name or a list of names"]),
        ({"plugins": {"deny": [3]}}, "plugins.deny", ["3 is not a name"]),
    ],
)
def test_bad_input_names_the_field_and_what_is_valid(
    given: dict[str, object], field: str, fragments: list[str]
) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve(given)
    assert caught.value.field == field
    assert isinstance(caught.value, ValueError)
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_unknown_option_suggests_the_option_torch_really_reads() -> None:
    with pytest.raises(UnknownOptionError) as caught:
        resolve({"conf": {"heartbeat": 10}})
    assert caught.value.backend == "c10d"
    assert "did you mean 'heartbeats' or 'heartbeat_timeout'" in str(caught.value)


def test_unknown_backend_error_lists_the_choices() -> None:
    with pytest.raises(UnknownBackendError) as caught:
        resolve(from_environ({"PET_RDZV_BACKEND": "etc"}))
    assert caught.value.choices == ("c10d", "etcd", "etcd-v2", "static")
    assert caught.value.source == "env PET_RDZV_BACKEND"


def test_missing_config_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigFileError) as caught:
        from_config_file(missing)
    assert str(missing) in str(caught.value)
    assert "no such file" in str(caught.value)


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "backend: c10d\nconf:\n  join_timeout: [1\nrun_id: x\n")
    with pytest.raises(ConfigFileError) as caught:
        from_config_file(path)
    assert caught.value.line is not None
    assert f"{path}:{caught.value.line}" in str(caught.value)


def test_yaml_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="expected a mapping"):
        from_config_file(write(tmp_path, "- c10d\n"))


def test_a_node_range_in_yaml_is_not_read_as_a_base_60_number(tmp_path: Path) -> None:
    # PyYAML's YAML 1.1 resolver reads 1:4 as 64; torchrun users mean one to four nodes.
    settings = resolve(
        from_config_file(
            write(
                tmp_path,
                "backend: c10d\nendpoint: head:1\nnnodes: 1:4\nconf: {join_timeout: 1_0}\n",
            )
        )
    )
    assert (settings.min_nodes, settings.max_nodes) == (1, 4)
    assert settings.conf == {"join_timeout": 10}


def test_a_wrong_value_in_a_file_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "nnodes: 4:2\n")
    with pytest.raises(ConfigError) as caught:
        resolve(from_config_file(path))
    assert caught.value.source == f"file {path}"


@pytest.mark.parametrize(
    ("word", "meaning"),
    [
        *[("1", True), ("TRUE", True), ("t", True), ("Yes", True), ("y", True)],
        *[("0", False), ("False", False), ("F", False), ("no", False), ("N", False)],
    ],
)
def test_one_boolean_grammar_for_settings_policy_and_options(word: str, meaning: bool) -> None:
    # torch's get_as_bool reads these words; a setting and an option read them the same way.
    settings = resolve(
        {"standalone": word, "plugins": {"autoload": word}, "conf": {"is_host": word}}
    )
    assert settings.plugins.autoload is meaning
    assert settings.conf == {"is_host": meaning}
    # --standalone sets the backend itself when true; otherwise it stays the default.
    assert settings.source_of("backend") == ("explicit" if meaning else "default")


@pytest.mark.parametrize("where", ["standalone", "plugins.autoload", "conf.is_host"])
def test_a_word_torch_would_not_read_as_a_boolean_is_refused_alike(where: str) -> None:
    key, _, inner = where.partition(".")
    mapping = {key: {inner: "on"}} if inner else {key: "on"}
    with pytest.raises(ConfigError) as caught:
        resolve(mapping)
    assert caught.value.field == where
    assert caught.value.choices == ("1", "true", "t", "yes", "y", "0", "false", "f", "no", "n")
