"""The rendezvous-scale benchmark: its counting proxy, its extrapolation, and a short real run.

No speed is asserted (the suite reports speed, tests do not decide it); what
is asserted is that the figures are measured: requests really pass through
the proxy and are counted, and a short run yields every variant's row.
"""

from __future__ import annotations

import base64
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks import report
from benchmarks.cases import Result
from benchmarks.counting_proxy import counting_proxy, is_state_read, is_write
from benchmarks.paired import paired_ratio
from benchmarks.rendezvous_scale import extrapolate, fit
from tests.support.etcd_server import EtcdServer, etcd_available
from tests.support.procs import REPO, require, run_process


@pytest.fixture(scope="module")
def etcd() -> Iterator[EtcdServer]:
    require(etcd_available(), "etcd is not installed (scripts/setup.sh installs etcd-server)")
    with EtcdServer() as server:
        yield server


def _request(url: str, data: bytes | None = None, method: str | None = None) -> bytes:
    request = urllib.request.Request(url, data=data, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return bytes(response.read())


def test_the_proxy_forwards_to_etcd_and_counts_requests_writes_and_write_bytes(
    etcd: EtcdServer,
) -> None:
    with counting_proxy(("127.0.0.1", etcd.client_port)) as proxy:
        url = f"http://{proxy.endpoint}"
        before = proxy.snapshot()
        body = b"value=" + b"x" * 100
        _request(f"{url}/v2/keys/bench/a", body, "PUT")  # a v2 write
        assert json.loads(_request(f"{url}/v2/keys/bench/a"))["node"]["value"] == "x" * 100
        key = base64.b64encode(b"/bench/run/state").decode()
        put = json.dumps({"key": key, "value": base64.b64encode(b"y").decode()}).encode()
        _request(f"{url}/v3/kv/put", put)  # a v3 write
        answer = json.loads(_request(f"{url}/v3/kv/range", json.dumps({"key": key}).encode()))
        assert base64.b64decode(answer["kvs"][0]["value"]) == b"y"
        counted = proxy.snapshot() - before
        # Compare-and-set: a v3 txn on the wrong revision, then on the right one.
        for revision in (1, int(answer["kvs"][0]["mod_revision"])):
            compare = [{"key": key, "target": "MOD", "result": "EQUAL", "mod_revision": revision}]
            txn = {"compare": compare, "success": [{"request_put": json.loads(put)}]}
            _request(f"{url}/v3/kv/txn", json.dumps(txn).encode())
        # A v2 write on the wrong index: 412.
        with pytest.raises(urllib.error.HTTPError, match="412"):
            _request(f"{url}/v2/keys/bench/a?prevIndex=1", body, "PUT")
        cas = proxy.snapshot() - before - counted
        # A txn that compares another key (etcd-v3's "is anybody in line?") and takes its
        # else branch: a choice, not a lost race.
        queue = base64.b64encode(b"/bench/run/events/turnstile/").decode()
        asks = {"key": queue, "target": "CREATE", "result": "EQUAL", "create_revision": "5"}
        _request(f"{url}/v3/kv/txn", json.dumps({"compare": [asks], "success": []}).encode())
        choice = proxy.snapshot() - before - counted - cas
    assert counted.requests == 4
    assert counted.writes == 2
    assert counted.write_body_bytes == len(body) + len(put)
    assert counted.bytes_total > counted.write_body_bytes
    assert counted.conflicts == 0
    assert (cas.requests, cas.writes, cas.conflicts) == (3, 3, 2)
    assert (choice.requests, choice.conflicts) == (1, 0)


def test_the_proxy_relays_a_watch_stream_as_it_comes_and_counts_it_once(
    etcd: EtcdServer,
) -> None:
    """etcd-v3's store watches through the gateway's chunked stream: buffering it would
    hang the watcher; counting it per line would inflate the requests."""
    from rendezvous_di.backends.etcd_v3 import parse_endpoints
    from rendezvous_di.backends.etcd_v3.client import EtcdClient
    from rendezvous_di.backends.etcd_v3.watch import watch

    with counting_proxy(("127.0.0.1", etcd.client_port)) as proxy:
        client = EtcdClient(parse_endpoints(proxy.endpoint), timeout=10)
        revision = int(client.range(b"/bench/watched")["header"]["revision"])
        before = proxy.snapshot()
        key = base64.b64encode(b"/bench/watched").decode()
        put = json.dumps({"key": key, "value": base64.b64encode(b"seen").decode()}).encode()
        _request(f"http://127.0.0.1:{etcd.client_port}/v3/kv/put", put)  # not through the proxy
        changes = watch(client, b"/bench/watched", None, revision + 1, timeout=60)
        assert next(changes) == (b"/bench/watched", b"seen")
        changes.close()  # the client ends the stream: the proxy's relay ends with it
        deadline = time.monotonic() + 30
        while (proxy.snapshot() - before).requests == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        counted = proxy.snapshot() - before
        client.close()
    assert counted.requests == 1
    assert counted.writes == 0
    assert counted.bytes_total > 100  # the created and event lines relayed


def test_paired_ratios_settle_a_target_only_when_the_interval_is_on_one_side() -> None:
    steady = paired_ratio([1.01, 1.02, 0.99, 1.00] * 5, [1.0, 1.0, 1.0, 1.0] * 5)
    assert steady.ratio == pytest.approx(1.005, abs=0.001)
    assert steady.low < steady.ratio < steady.high < 1.03
    assert steady.verdict(1.03) == "met"
    noisy = paired_ratio([0.7, 1.4, 1.0, 1.3], [1.0, 1.0, 1.0, 1.0])
    assert noisy.verdict(1.03) == "unsettled"
    assert paired_ratio([2.0] * 6, [1.0] * 6).verdict(1.03) == "missed"
    one = paired_ratio([3.0], [1.5])
    assert (one.ratio, one.low, one.high, one.verdict(1.0)) == (2.0, None, None, "unsettled")
    with pytest.raises(ValueError, match="equal"):
        paired_ratio([1.0], [])


def test_the_report_says_which_targets_are_met_missed_or_unsettled() -> None:
    rows = [
        Result("settled", "s", 1.0, 1.0, 1.03, paired=1.004, low=0.99, high=1.02),
        Result("straddles", "s", 1.0, 1.0, 1.03, paired=1.01, low=0.95, high=1.08),
        Result("over", "s", 2.0, 1.0, 1.0, paired=1.5, low=1.2, high=1.8),
    ]
    assert [r.verdict for r in rows] == ["met", "unsettled", "missed"]
    assert [r.met for r in rows] == [True, None, False]
    sentence = report.targets_sentence(rows)
    assert sentence.startswith("Targets met: 1 of 3. Missed: over (ratio 1.500, 95% 1.200")
    assert "Not settled by this run: straddles (ratio 1.010, 95% 0.950 to 1.080" in sentence
    assert "| 1.004 (0.990-1.020) | <= 1.03 | met |" in report.markdown(rows)


def test_an_agent_seeds_torchs_pacing_from_its_command() -> None:
    """Both variants of a pair draw torch's first-join delay from the same seed."""
    code = (
        "import json, random, sys\n"
        "from benchmarks import rendezvous_agent as agent\n"
        "agent.create = lambda command: (_ for _ in ()).throw(SystemExit(0))\n"
        "random.seed(99)\n"
        "sys.stdin = __import__('io').StringIO(json.dumps({'op': 'round', 'seed': 7}) + '\\n')\n"
        "try:\n"
        "    agent.main()\n"
        "finally:\n"
        "    print(random.random())\n"
    )
    done = run_process([sys.executable, "-c", code], timeout=120)
    import random

    assert done.stdout.strip().splitlines()[-1] == str(random.Random(7).random())


def test_writes_are_v2_key_changes_and_v3_txn_put_delete() -> None:
    assert is_write("PUT", "/v2/keys/torch/rdzv?prevIndex=3")
    assert not is_write("GET", "/v2/keys/torch/rdzv")
    assert is_write("POST", "/v3/kv/txn")
    assert not is_write("POST", "/v3/kv/range")
    assert not is_write("POST", "/v3/lease/grant")


def test_the_extrapolation_is_linear_in_requests_and_quadratic_in_bytes() -> None:
    assert fit([(2, 10.0), (8, 40.0), (16, 80.0)]).at(1024) == pytest.approx(5120.0)

    def row(n: int) -> dict[str, object]:
        def v(label: str) -> dict[str, object]:
            return {
                "label": label,
                "requests_per_agent_per_interval": 2.0,
                "writes_per_agent_per_interval": 1.0,
                "bytes_per_write": 300.0 + 100.0 * n,
            }

        return {"agents": n, "variants": [v("etcd-v2"), v("etcd-v3 poll"), v("etcd-v3 event")]}

    # Measured at a 1 s keep-alive: 1 write and 1 read per agent per second.
    summary = {"sizes": [row(2), row(8), row(16)], "keep_alive_interval_s": 1}
    (v2_1k, v2_4k, *_) = extrapolate(summary, nodes=(1024, 4096), interval=5.0)
    # At a 5 s keep-alive: still a read a second (the agent's polls), a write per 5 s.
    assert v2_1k["reads_per_s"] == pytest.approx(1024)
    assert v2_1k["writes_per_s"] == pytest.approx(1024 / 5)
    assert v2_1k["requests_per_s"] == pytest.approx(1024 + 1024 / 5)
    assert v2_1k["state_bytes"] == pytest.approx(300 + 100 * 1024)
    assert v2_4k["write_bytes_per_s"] == pytest.approx(4096 / 5 * (300 + 100 * 4096))


def test_merging_keeps_the_published_rows_and_replaces_re_measured_ones() -> None:
    old = [Result("a", "s", 1, 1, None), Result("b", "s", 2, 2, None)]
    new = [Result("b", "s", 3, 3, None), Result("c", "s", 4, 4, None)]
    assert [(r.name, r.ours) for r in report.merge(old, new)] == [("a", 1), ("b", 3), ("c", 4)]


@pytest.mark.slow
def test_state_reads_are_answers_that_carry_the_rendezvous_state() -> None:
    def kv(key: bytes, value: bytes | None = b"s") -> dict[str, str]:
        found = {"key": base64.b64encode(key).decode()}
        if value is not None:
            found["value"] = base64.b64encode(value).decode()
        return found

    state = b"/torch/elastic/rendezvous/run/state"
    ticket = b"/torch/elastic/rendezvous/run/events/turnstile/7"

    def v3(path: str, answer: object) -> bool:
        return is_state_read(path, json.dumps(answer).encode())

    assert v3("/v3/kv/range", {"kvs": [kv(state)]})
    assert not v3("/v3/kv/range", {"kvs": [kv(state, None)]})  # keys only: no state
    assert not v3("/v3/kv/range", {"count": "0"})
    txn = {"responses": [{"response_put": {}}, {"response_range": {"kvs": [kv(state)]}}]}
    assert v3("/v3/kv/txn", txn)
    assert not v3("/v3/kv/txn", {"responses": [{"response_range": {"kvs": [kv(ticket)]}}]})
    assert not v3("/v3/lease/grant", {"kvs": [kv(state)]})
    v2 = json.dumps({"node": {"key": "/torch/elastic/rendezvous/run", "value": "s"}}).encode()
    assert is_state_read("/v2/keys/torch/elastic/rendezvous/run?wait=true", v2)
    assert not is_state_read("/v2/keys/torch/elastic/rendezvous/run/extra", v2)
    assert not is_state_read("/v2/keys/torch/elastic/rendezvous/run", b'{"node": {}}')
    assert not is_state_read("/v2/keys/torch/elastic/rendezvous/run", b"not json")


def test_a_short_run_measures_every_variant_and_writes_its_table(tmp_path: Path) -> None:
    require(etcd_available(), "etcd is not installed (scripts/setup.sh installs etcd-server)")
    readme = REPO / "README.md"
    readme_before = readme.read_text()
    args = ["--only", "rendezvous_scale", "--runs", "1", "--agents", "2", "--out", str(tmp_path)]
    done = run_process([sys.executable, "-m", "benchmarks", *args], timeout=600)
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "rendezvous_scale.json").read_text())
    (size,) = summary["sizes"]
    assert size["agents"] == 2
    labels = [v["label"] for v in size["variants"]]
    assert labels == [
        "c10d event",
        "c10d poll",
        "c10d torch",
        "etcd-v3 event",
        "etcd-v3 poll",
        "etcd-v2",
    ]
    for variant in size["variants"]:
        assert variant["rounds"] == 1
        assert variant["seconds"] > 0
        # Every store, etcd or TCPStore, is counted: joining takes at least a read and a
        # write each; idle agents keep writing and reading.
        assert variant["requests_per_agent_per_rendezvous"] >= 2
        assert variant["bytes_read_per_agent_per_rendezvous"] > 100
        assert variant["bytes_read_per_agent_per_interval"] > 0
        if variant["label"].endswith("event"):  # beats in keys: no steady write of the state
            # c10d sets a beat key of a few dozen bytes; etcd keeps a lease alive (no write).
            written = variant["bytes_per_write"]
            assert written is None or written < 100, variant
        else:  # torch's beats: each rewrites the whole state
            assert variant["writes_per_agent_per_interval"] > 0
            assert variant["bytes_per_write"] > 100
        # Every node reads the state at least once to join, and a polling one every second.
        assert variant["state_reads_per_agent_per_rendezvous"] >= 1
        assert variant["state_reads_per_agent_per_interval"] > 0
    # Extrapolated where steady writes were measured: every variant beating in the state,
    # and c10d's beat keys (etcd-v3 keeps leases alive: no write to extrapolate).
    extrapolated: dict[str, list[int]] = {}
    for row in summary["extrapolation"]:
        extrapolated.setdefault(row["backend"], []).append(row["nodes"])
    assert {"c10d poll", "c10d torch", "etcd-v3 poll", "etcd-v2"} <= set(extrapolated)
    assert "etcd-v3 event" not in extrapolated
    assert all(nodes == [1024, 4096] for nodes in extrapolated.values())
    table = (tmp_path / "rendezvous_scale.md").read_text()
    assert "python -m benchmarks --only rendezvous_scale --runs 1 --agents 2" in table
    names = [r["name"] for r in json.loads((tmp_path / "results.json").read_text())["results"]]
    assert names == [
        "rendezvous of 2 agents: c10d, event vs torch's registry",
        "rendezvous of 2 agents: etcd-v3, event vs poll",
    ]
    assert readme.read_text() == readme_before


@pytest.mark.slow
def test_simulated_agents_form_in_every_variant_and_count_their_writes() -> None:
    """Four simulated agents in two host processes: every variant forms, each agent's join
    is one compare-and-set (nothing else writes), and the table names every variant."""
    from benchmarks import rendezvous_simulated as simulated

    require(etcd_available(), "etcd is not installed (scripts/setup.sh installs etcd-server)")
    original = simulated.AGENTS_PER_HOST
    simulated.AGENTS_PER_HOST = 2
    try:
        summary = simulated.measure(1, (4,))
    finally:
        simulated.AGENTS_PER_HOST = original
    (row,) = simulated.summarize(summary)
    for backend, mode in simulated.VARIANTS:
        label = f"{backend} {mode}"
        assert row["medians"][label] is not None, summary["sizes"][0]["errors"]
        assert row["writes_per_agent"][label] >= 1
        assert row["reads_per_agent"][label] >= 1  # every join reads the state first
    table = simulated.markdown(summary, "python -m benchmarks.rendezvous_simulated 1 4")
    assert "| 4 |" in table


@pytest.mark.parametrize("args", [["--runs", "0"], ["--runs", "abc"], ["--agents", "2,0"]])
def test_counts_that_would_measure_nothing_are_refused(args: list[str], tmp_path: Path) -> None:
    done = run_process(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--only",
            "rendezvous_scale",
            *args,
            "--out",
            str(tmp_path),
        ],
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("python -m benchmarks: error: argument")
    assert "expected a whole number of at least 1" in done.stderr
    assert "Traceback" not in done.stderr
