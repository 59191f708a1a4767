"""Installed plugins in ``rendezvous-di schema`` and in shell completion.

Real plugin distributions (tests/support/plugin_dists.py): ``tuned`` declares
``rendezvous_options``, ``good`` declares none, ``boom`` fails at import.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from jsonschema import Draft202012Validator

from tests.support.plugin_dists import IMPORT_DELAY_ENV
from tests.support.procs import run_cli

Env = Callable[..., dict[str, str]]


def _conf_of(schema: dict[str, Any], backend: str) -> dict[str, Any] | None:
    for rule in schema["allOf"]:
        if rule.get("if", {}).get("properties", {}).get("backend") == {"const": backend}:
            return rule["then"]["properties"]["conf"]  # type: ignore[no-any-return]
    return None


def test_a_plugin_s_declared_options_are_in_the_schema(pythonpath: Env) -> None:
    done = run_cli(["schema"], env=pythonpath("rdzv-tuned", "rdzv-good", "rdzv-boom"))
    assert done.returncode == 0, done.stderr
    schema = json.loads(done.stdout)
    backends = schema["properties"]["backend"]["anyOf"][0]["enum"]
    assert {"tuned", "good", "boom"} <= set(backends)
    tuned = _conf_of(schema, "tuned")
    assert tuned is not None
    assert set(tuned["properties"]) == {"rounds", "ratio", "mode", "verbose", "timeout"}
    assert tuned["properties"]["mode"]["anyOf"][0] == {"enum": ["fast", "safe"]}
    assert tuned["properties"]["rounds"]["description"] == "rounds to play"
    validator = Draft202012Validator(schema)
    fine = {"rounds": "5", "ratio": 0.25, "mode": " SAFE ", "verbose": "yes"}
    assert validator.is_valid({"backend": "tuned", "endpoint": "x", "conf": fine})
    for bad in ({"rounds": 0}, {"ratio": "half"}, {"mode": "slow"}, {"verbose": "maybe"}):
        assert not validator.is_valid({"backend": "tuned", "conf": bad}), bad
    assert not validator.is_valid({"backend": "tuned", "conf": {"roundz": 1}})
    # Declaring nothing (good) or failing to load (boom): options pass through, as in validation.
    assert _conf_of(schema, "good") is None
    assert _conf_of(schema, "boom") is None
    assert validator.is_valid({"backend": "good", "conf": {"anything": 1}})


def test_a_plugin_s_options_are_completed(pythonpath: Env, tmp_path: Any) -> None:
    from tests.cli.test_completion import complete

    env = pythonpath("rdzv-tuned")
    assert "tuned" in complete("rendezvous-di config --rdzv-backend t", env=env)
    keys = complete("rendezvous-di run --rdzv-backend tuned --rdzv-conf rounds=2,", env=env)
    assert keys == [f"2,{k}=" for k in ("ratio", "mode", "verbose", "timeout")]
    assert complete("rendezvous-di run --rdzv-backend tuned --rdzv-conf mode=", env=env) == [
        "fast",
        "safe",
    ]


def test_a_plugin_whose_import_hangs_is_killed_at_the_timeout(pythonpath: Env) -> None:
    """``schema --timeout S`` bounds loading plugins, as ``backends --load`` does: exit 1, named."""
    env = pythonpath("rdzv-tuned", **{IMPORT_DELAY_ENV: "600"})
    done = run_cli(["schema", "--timeout", "3"], env=env, timeout=300)
    assert done.returncode == 1, (done.stdout, done.stderr)
    first = done.stderr.splitlines()[0]
    assert first.startswith("error:")
    assert "tuned" in first
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert run_cli(["schema", "--timeout", "0"]).returncode == 2
