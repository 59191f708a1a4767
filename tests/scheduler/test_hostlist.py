"""Slurm's hostlist syntax: our reading compared with the real ``scontrol show hostnames``.

``scontrol`` is Debian's Slurm client (``scripts/setup.sh`` installs it);
``show hostnames`` needs a readable configuration but no controller, so each
test session writes a minimal ``slurm.conf`` and points ``SLURM_CONF`` at it
(without one, scontrol would look its controller up in DNS).
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from rendezvous_di.config.schedulers.hostlist import (
    MAX_RANGE,
    HostlistError,
    count_hosts,
    expand,
    first_host,
)
from tests.support.procs import require

VALID = [
    "n1",
    "node07",
    "n[001-010]",
    "n[1-3,7,9-10]",
    "n[9-11]",
    "n[099-101]",
    "n[1-010]",
    "n[01-3]",
    "n[0001-2]",
    "n[5]",
    "n[0-0]",
    "n[00-00]",
    "[1-2]",
    "N[1-2]",
    "a.b[1-2]",
    "a,b[1-3],c",
    ",n1",
    "n[1-2],",
    "n1 n2",
    "n[1-2] ,n3",
    "n1,n1",
    "n[1-2,2]",
    "n1-3",
    "r[1-2]n[01-02]",
    "n[1-2]x[3]",
    "n[1-2]-[3-4]",
    "a-[01-02]-b[3-4]",
    "n[1-2]x[3-4]y[5-6]",
    "a[1-2]b[3-4]c[5-6]d[7-8]",
    "n[001-003],r[1-2]n[01-02],gpu[1-2]",
    "n[9999999999-10000000000]",
    "n[1-65536]",
]
"""Hostlists scontrol expands: ranges, zero padding, several bracket groups, comma lists."""

REFUSED = [
    "gpu[1-2]-ib",
    "x[1-2]y",
    "n[1-2].ib",
    "n[010-1]",
    "n[3-1]",
    "n[]",
    "n[a-b]",
    "n[-1]",
    "n[1--2]",
    "n[1,,2]",
    "n[1-2]]",
    "n[[1-2]]",
    "n[1-2];x",
    "n[1-65537]",
]
"""Hostlists scontrol refuses (``Invalid hostlist``): we refuse them too."""

QUIRKS = ["n[1-3", "n[+1-2]", "n[ 1-2]", "n[1-]"]
"""Text Slurm never writes, which scontrol still reads (``n[1-3`` as ``n]``, ``n[+1-2]``
as ``n01 n02``): we refuse it rather than copy the accident."""


@pytest.fixture(scope="session")
def scontrol_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    require(shutil.which("scontrol") is not None, "scontrol (Debian's slurm-client) not installed")
    conf = tmp_path_factory.mktemp("slurm") / "slurm.conf"
    conf.write_text(
        "ClusterName=hostlist-test\nSlurmctldHost=localhost\n"
        "NodeName=localhost CPUs=1 State=UNKNOWN\nPartitionName=debug Nodes=localhost Default=YES\n"
    )
    return {**os.environ, "SLURM_CONF": str(conf)}


def scontrol_hostnames(hostlist: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["scontrol", "show", "hostnames", hostlist],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("hostlist", VALID)
def test_expansion_matches_scontrol(hostlist: str, scontrol_env: dict[str, str]) -> None:
    done = scontrol_hostnames(hostlist, scontrol_env)
    theirs = done.stdout.split()
    assert theirs, done.stderr
    assert list(expand(hostlist)) == theirs
    assert first_host(hostlist) == theirs[0]
    assert count_hosts(hostlist) == len(theirs)


@pytest.mark.parametrize("hostlist", REFUSED)
def test_what_scontrol_refuses_is_refused(hostlist: str, scontrol_env: dict[str, str]) -> None:
    done = scontrol_hostnames(hostlist, scontrol_env)
    assert done.stdout == ""
    assert "Invalid hostlist" in done.stderr
    with pytest.raises(HostlistError):
        list(expand(hostlist))
    with pytest.raises(HostlistError):
        first_host(hostlist)


@pytest.mark.parametrize("hostlist", QUIRKS)
def test_scontrols_accidents_are_refused(hostlist: str, scontrol_env: dict[str, str]) -> None:
    done = scontrol_hostnames(hostlist, scontrol_env)
    assert done.stdout.split(), "scontrol now refuses it too: move it to REFUSED"
    with pytest.raises(HostlistError):
        first_host(hostlist)


def test_the_first_host_of_a_huge_list_is_found_without_expanding_it() -> None:
    hostlist = f"r[1-{MAX_RANGE}]n[1-{MAX_RANGE}]"  # 4 billion hosts
    assert first_host(hostlist) == "r1n1"
    assert count_hosts(hostlist) == MAX_RANGE * MAX_RANGE


def test_an_empty_list_names_no_host() -> None:
    for hostlist in ("", " ", ",,"):
        with pytest.raises(HostlistError, match="names no host"):
            first_host(hostlist)


def test_errors_say_what_is_wrong_and_stay_short() -> None:
    with pytest.raises(HostlistError, match=r"'3-1' in 'n\[3-1\]' counts down"):
        first_host("n[3-1]")
    with pytest.raises(HostlistError) as caught:
        first_host("n[" + "x" * 10_000 + "]")
    assert len(str(caught.value)) < 400


def test_a_bad_item_fails_before_any_host_is_given() -> None:
    hosts = expand("good[1-2],bad[2-1]")
    with pytest.raises(HostlistError):
        next(hosts)


def test_host_names_are_ascii() -> None:
    for hostlist in ("n\udcff1", "nö[1-2]"):
        with pytest.raises(HostlistError, match="not ASCII at position 1"):
            first_host(hostlist)
