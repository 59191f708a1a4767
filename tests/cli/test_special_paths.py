"""Special files wherever a path is read: refused by what they are, never waited on.

A FIFO given as a TLS file used to hang ``run --dry-run`` and ``check``
forever (opening it waits for a writer); a directory or a device was called
"does not exist". Every path option is now looked at with ``stat`` first and
refused with exit code 2 naming what the path actually is. Each subprocess
has a timeout: a hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from rendezvous_di.paths import directory_problem, file_problem, open_regular_text
from tests.support.contract import refused
from tests.support.procs import run_cli

TIMEOUT = 60  # a hang is what it catches, not slowness
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def fifo(tmp_path: Path) -> tuple[str, str]:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return str(path), "FIFO"


def directory(tmp_path: Path) -> tuple[str, str]:
    return str(tmp_path), "is a directory"


def device(tmp_path: Path) -> tuple[str, str]:
    return "/dev/zero", "device"  # never ends: reading it whole would never return


def socket_file(tmp_path: Path) -> tuple[str, str]:
    import socket

    path = str(tmp_path / "sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.close()  # the socket file stays
    return path, "a socket"


def dangling(tmp_path: Path) -> tuple[str, str]:
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "nowhere")
    return str(link), "symbolic link to nothing"


def missing(tmp_path: Path) -> tuple[str, str]:
    return str(tmp_path / "absent.pem"), "does not exist"


KINDS: list[Callable[[Path], tuple[str, str]]] = [fifo, directory, device, socket_file, dangling]


@pytest.mark.parametrize("kind", [*KINDS, missing], ids=lambda k: k.__name__)
def test_file_problem_says_what_the_path_is(
    kind: Callable[[Path], tuple[str, str]], tmp_path: Path
):
    path, what = kind(tmp_path)
    problem = file_problem(path)
    assert problem is not None
    assert what in problem
    if kind is not missing:
        assert "does not exist" not in problem  # it exists: never called missing


def test_a_regular_readable_file_has_no_problem(tmp_path: Path) -> None:
    path = tmp_path / "ca.pem"
    path.write_text(PEM)
    assert file_problem(str(path)) is None
    assert open_regular_text(str(path), 10) == PEM[:10]


def test_open_regular_text_never_waits_on_a_fifo(tmp_path: Path) -> None:
    path, _ = fifo(tmp_path)
    with pytest.raises(OSError, match="FIFO"):
        open_regular_text(path, 10)


def test_a_directory_to_write_in_is_checked_by_creating_in_it(tmp_path: Path) -> None:
    assert directory_problem(str(tmp_path)) is None
    assert directory_problem(str(tmp_path / "new" / "deeper")) is None
    assert not (tmp_path / "new").exists()  # asking created nothing
    assert list(tmp_path.iterdir()) == []
    a_file = tmp_path / "file"
    a_file.write_text("")
    assert "is a regular file, not a directory" in (directory_problem(str(a_file)) or "")
    assert "not a directory" in (directory_problem(str(a_file / "below")) or "")
    # /proc refuses new entries, even to root (whom access() would let write anywhere).
    assert "nothing can be created" in (directory_problem("/proc/rendezvous-di-logs") or "")


# etcd-v2 for most (its settings need no torch; etcd-v3's import it, seconds each), etcd-v3
# for the reported case (a FIFO as ca_cert hung run --dry-run), the legacy etcd's own names.
TLS_CASES = [("etcd-v2", "ca_cert", kind) for kind in KINDS] + [
    ("etcd-v2", "ssl_cert", fifo),
    ("etcd-v3", "ca_cert", fifo),
    ("etcd", "cacert", device),
]


@pytest.mark.parametrize(
    ("backend", "option", "kind"), TLS_CASES, ids=lambda v: getattr(v, "__name__", str(v))
)
def test_a_tls_file_that_is_not_a_regular_file_is_refused_by_what_it_is(
    backend: str, option: str, kind: Callable[[Path], tuple[str, str]], tmp_path: Path
) -> None:
    path, what = kind(tmp_path)
    conf = f"protocol=https,{option}={path}"
    done = run_cli(
        ["run", "--dry-run", "--rdzv-backend", backend, "--rdzv-endpoint", "etcd:2379",
         "--rdzv-conf", conf, "train.py"],
        timeout=TIMEOUT,
    )  # fmt: skip
    line = refused(done, f"conf.{option}", what)
    assert "does not exist" not in line


@pytest.mark.parametrize(
    ("command", "backend", "kind"),
    [
        (["config"], "etcd-v2", fifo),
        (["config"], "etcd-v2", missing),
        (["check", "--timeout", "5"], "etcd-v3", fifo),  # the reported hang
    ],
    ids=["config-fifo", "config-missing", "check-fifo"],
)
def test_config_and_check_read_the_tls_files_too(
    command: list[str], backend: str, kind: Callable[[Path], tuple[str, str]], tmp_path: Path
) -> None:
    # `config` used to show a missing TLS file without complaint, and `run` then failed.
    path, what = kind(tmp_path)
    done = run_cli(
        [*command, "--rdzv-backend", backend, "--rdzv-endpoint", "etcd:2379",
         "--rdzv-conf", f"protocol=https,ca_cert={path}"],
        timeout=TIMEOUT,
    )  # fmt: skip
    refused(done, "conf.ca_cert", what)


def test_a_pem_file_passes_config(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text(PEM)
    done = run_cli(
        ["config", "--rdzv-backend", "etcd-v2", "--rdzv-endpoint", "etcd:2379",
         "--rdzv-conf", f"protocol=https,ca_cert={ca}"],
        timeout=TIMEOUT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("kind", [fifo, socket_file], ids=lambda k: k.__name__)
def test_a_c10d_file_store_path_that_is_not_a_file_is_refused(
    kind: Callable[[Path], tuple[str, str]], tmp_path: Path
) -> None:
    path, what = kind(tmp_path)
    done = run_cli(
        ["run", "--dry-run", "--rdzv-backend", "c10d", "--rdzv-conf", "store_type=file",
         "--rdzv-endpoint", path, "train.py"],
        timeout=TIMEOUT,
    )  # fmt: skip
    refused(done, "endpoint", what)


@pytest.mark.parametrize("kind", [fifo, device], ids=lambda k: k.__name__)
def test_a_log_dir_that_is_not_a_directory_is_refused(
    kind: Callable[[Path], tuple[str, str]], tmp_path: Path
) -> None:
    path, what = kind(tmp_path)
    refused(run_cli(["run", "--dry-run", "--log-dir", path, "train.py"]), "log_dir", what)


def test_a_log_dir_where_nothing_can_be_created_is_refused() -> None:
    done = run_cli(["run", "--dry-run", "--log-dir", "/proc/rdzv-logs", "train.py"])
    refused(done, "log_dir", "'/proc/rdzv-logs' does not exist and cannot be created")


@pytest.mark.parametrize("kind", [device, socket_file, dangling], ids=lambda k: k.__name__)
def test_the_config_file_is_refused_by_what_it_is(
    kind: Callable[[Path], tuple[str, str]], tmp_path: Path
) -> None:
    # (A FIFO and a directory: tests/cli/test_hostile_input.py.)
    path, _ = kind(tmp_path)
    done = run_cli(["config", "--config", path], timeout=TIMEOUT)
    line = refused(done, "config file")
    mode = os.stat(path).st_mode if os.path.exists(path) else None
    if mode is not None:
        assert "no such file" not in line
        assert not stat.S_ISREG(mode)


def test_a_platform_module_path_that_is_not_a_file_is_refused_by_what_it_is(
    tmp_path: Path,
) -> None:
    path = tmp_path / "platform.py"
    os.mkfifo(path)  # importing it would wait for a writer
    done = run_cli(["config", "--container", f"{path}:Container"], timeout=TIMEOUT)
    refused(done, "--container", "is a FIFO")


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: (os.mkfifo(p / "out.json"), p / "out.json")[1], "FIFO (named pipe) that nobody"),
        (lambda p: p, "is a directory"),
        (lambda p: p / "missing" / "out.json", "its directory"),
    ],
    ids=["fifo", "directory", "missing-directory"],
)
def test_schema_output_is_refused_naming_the_path_and_what_it_is(
    make: Callable[[Path], Path], words: str, tmp_path: Path
) -> None:
    target = make(tmp_path)
    done = run_cli(["schema", "--output", str(target)], timeout=TIMEOUT)
    refused(done, "--output", repr(str(target)), words)
