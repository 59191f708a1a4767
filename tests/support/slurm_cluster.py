"""A real Slurm cluster (Debian's slurm-wlm 22.05 and munge) on the network-namespace test hosts.

Layout, all of it started by the test and inside the hosts of one `TestNetwork`::

    host 1: munged (socket in the cluster's temp dir), slurmctld, slurmd rdzs1
    host I: slurmd rdzsI (I = 2..N)

Every daemon runs as root in the foreground (``-D``/``-F``), with every path
it writes (state, spool, pid files, logs, the munge key and socket) in the
temp dir and ``slurm.conf`` given by ``-f``/``SLURM_CONF``: the machine's
/etc/slurm, /etc/munge and services are never used. What it took to make
Slurm run there, each point found by trying:

- The hosts share the hostname, and slurmctld refuses to start on a host that
  is not its ``SlurmctldHost`` ("This host (vm/vm) not a valid controller").
  So every daemon and client runs in its own UTS namespace named after its
  node (``hostname rdzsI``): job steps see a real cluster's distinct
  hostnames, which torch's c10d agents rely on to tell which host holds the
  store.
- Node names must resolve inside the hosts (the first node of
  SLURM_JOB_NODELIST is the c10d endpoint). Each daemon runs in a private
  mount namespace with the cluster's own hosts file bind-mounted on
  /etc/hosts; its job steps inherit it. The machine's /etc is never written.
- ``ip netns exec`` mounts the namespace's own sysfs on /sys, which hides
  /sys/fs/cgroup, and slurmd 22.05 always initialises a cgroup plugin
  ("No filesystem mounted on /sys/fs/cgroup ... slurmd initialization
  failed"); 22.05 has no ``CgroupPlugin=disabled``. cgroup.conf names the
  v1 plugin with an empty mount point in the temp dir: it only records the
  path, and nothing uses cgroups (``proctrack/linuxproc``, ``task/none``,
  no accounting), so the cluster does not depend on the machine's cgroups.
- munged refuses a socket in a directory not executable by all ("Socket is
  inaccessible: execute permissions for all required"): the temp dir is 0755.
  A unix socket is reached from every network namespace (one file system).
- ``SlurmdParameters=config_overrides``: the nodes are what slurm.conf says,
  whatever this machine's CPU layout, so a node is never drained as invalid.

Each host has its own network namespace, so Slurm's default ports (6817,
6818) are free on every host by construction. Clean-up is by construction
too: every process here runs in a host namespace, and `TestNetwork.destroy`
kills everything there (job steps included) and removes the temp dir.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.netns import IFNAME, Host, HostProcess, TestNetwork
from tests.support.procs import clean_environ

NODE_PREFIX = "rdzs"
# What a node offers jobs, as slurm.conf says (config_overrides: not this machine's count).
CPUS_PER_NODE = 2
PROGRAMS = (
    *("munged", "mungekey", "slurmctld", "slurmd"),  # the daemons, and munge's key
    *("srun", "salloc", "sinfo", "scontrol", "scancel"),  # what the harness and tests run
)
# Run ARGS as the node: its own hostname, and the cluster's hosts file as /etc/hosts.
_AS_NODE = 'mount --bind "$1" /etc/hosts && hostname "$2" && shift 2 && exec "$@"'


def slurm_available() -> tuple[bool, str]:
    """Whether Debian's Slurm and munge are installed (scripts/setup.sh installs them)."""
    missing = [name for name in PROGRAMS if shutil.which(name) is None]
    if missing:
        return False, f"not installed: {', '.join(missing)} (scripts/setup.sh installs them)"
    return True, ""


def node_name(host: Host) -> str:
    return f"{NODE_PREFIX}{host.index}"


@dataclass
class SlurmCluster:
    """A controller and one node daemon per host of ``network``; `start` returns when every
    node is idle. `TestNetwork.destroy` (the network's owner) removes all of it."""

    network: TestNetwork
    daemons: list[HostProcess] = field(default_factory=list)

    __test__ = False  # not a pytest test class

    @property
    def dir(self) -> Path:
        return self.network.workdir

    @property
    def conf(self) -> Path:
        return self.dir / "slurm.conf"

    @property
    def controller(self) -> Host:
        return self.network.hosts[0]

    @property
    def nodes(self) -> list[str]:
        return [node_name(host) for host in self.network.hosts]

    def environ(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """What a user's shell on the cluster has: SLURM_CONF, gloo on the hosts' link, and
        none of this test process's PET_*, RENDEZVOUS_DI_* or SLURM_* variables."""
        env = clean_environ({"SLURM_CONF": str(self.conf), "GLOO_SOCKET_IFNAME": IFNAME})
        env = {k: v for k, v in env.items() if not k.startswith("SLURM_") or k == "SLURM_CONF"}
        env.update(extra or {})
        return env

    def command(self, host: Host, args: Sequence[str]) -> list[str]:
        """``args`` run on ``host`` as its node: own hostname and /etc/hosts."""
        hosts_file, name = str(self.dir / "hosts"), node_name(host)
        inner = ["unshare", "--mount", "--uts", "sh", "-c", _AS_NODE, "sh", hosts_file, name]
        return host.command([*inner, *args])

    def start_on(
        self, host: Host, args: Sequence[str], *, log_name: str, env: Mapping[str, str]
    ) -> HostProcess:
        """Start ``args`` on ``host`` as its node, output to a log (killed by the network)."""
        log = self.dir / f"h{host.index}-{log_name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                self.command(host, args),
                stdout=out,
                stderr=subprocess.STDOUT,
                env=dict(env),
                start_new_session=True,
            )
        handle = HostProcess(host, process, log)
        self.network.processes.append(handle)
        return handle

    def run(
        self, args: Sequence[str], *, timeout: float = 60, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """A client command (``srun``, ``sinfo``, ...) on the controller's host, as a user of
        the cluster runs it there; the caller asserts on the exit code."""
        return subprocess.run(
            self.command(self.controller, args),
            env=self.environ(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.dir,
        )

    def cancel_all(self) -> None:
        """End every job on the cluster (after a test gave up on one), so the nodes are free."""
        self.run(["scancel", "--full", "--user=root"], timeout=30)

    def start(self, timeout: float = 90) -> SlurmCluster:
        os.chmod(self.dir, 0o755)  # munged: its socket's directory must be executable by all
        self._write_files()
        env = self.environ()
        key = self.dir / "munge.key"
        subprocess.run(["mungekey", "--create", "--keyfile", str(key)], check=True, timeout=30)
        munged = ["munged", "--foreground", f"--socket={self.dir / 'munge.sock'}"]
        munged += [f"--key-file={key}", f"--pid-file={self.dir / 'munged.pid'}"]
        munged += [f"--seed-file={self.dir / 'munged.seed'}"]
        munged += [f"--log-file={self.dir / 'munged.log'}"]
        self.daemons.append(self.start_on(self.controller, munged, log_name="munged", env=env))
        self._wait(lambda: (self.dir / "munge.sock").exists(), timeout, "munged's socket")
        ctld = ["slurmctld", "-D", "-f", str(self.conf)]
        self.daemons.append(self.start_on(self.controller, ctld, log_name="slurmctld", env=env))
        for host in self.network.hosts:
            slurmd = ["slurmd", "-D", "-f", str(self.conf)]
            self.daemons.append(self.start_on(host, slurmd, log_name="slurmd", env=env))
        self._wait(self._all_idle, timeout, f"nodes {','.join(self.nodes)} to be idle")
        return self

    def node_states(self) -> dict[str, str]:
        """``sinfo``'s state of every node (``idle``, ``alloc``, ``down*``, ...)."""
        listing = self.run(["sinfo", "--Node", "--noheader", "--format=%N %t"], timeout=30)
        pairs = (line.split() for line in listing.stdout.splitlines())
        return {pair[0]: pair[1] for pair in pairs if len(pair) == 2}

    def _all_idle(self) -> bool:
        states = self.node_states()
        return all(states.get(name) == "idle" for name in self.nodes)

    def _wait(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            dead = [d for d in self.daemons if d.process.poll() is not None]
            if dead or time.monotonic() > deadline:
                why = f"{dead[0].log.name} exited" if dead else f"timed out after {timeout}s"
                raise RuntimeError(f"slurm cluster: {why} waiting for {what}\n{self.logs()}")
            time.sleep(0.3)

    def logs(self, tail: int = 3000) -> str:
        """The tail of every daemon's log: what a failure message shows."""
        parts = []
        for log in sorted(self.dir.glob("*.log")):
            parts.append(f"--- {log.name}:\n{log.read_text(errors='replace')[-tail:]}")
        return "\n".join(parts)

    def _write_files(self) -> None:
        hosts = [f"{host.address} {node_name(host)}" for host in self.network.hosts]
        (self.dir / "hosts").write_text("\n".join(["127.0.0.1 localhost", *hosts]) + "\n")
        for sub in ("state", "cgroup", *(f"spool-{name}" for name in self.nodes)):
            (self.dir / sub).mkdir()
        self.conf.write_text(self._slurm_conf())
        (self.dir / "plugstack.conf").write_text("")  # no SPANK plugins (not /etc/slurm's)
        # Read from slurm.conf's directory; see the module docstring for why v1 at a temp dir.
        cgroup = ["CgroupPlugin=cgroup/v1", f"CgroupMountpoint={self.dir / 'cgroup'}"]
        (self.dir / "cgroup.conf").write_text("\n".join([*cgroup, "CgroupAutomount=no", ""]))

    def _slurm_conf(self) -> str:
        d, ctl = self.dir, self.controller
        lines = [
            "ClusterName=rdzs",
            f"SlurmctldHost={node_name(ctl)}({ctl.address})",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={d / 'munge.sock'}",
            "MailProg=/bin/true",
            f"StateSaveLocation={d / 'state'}",
            f"SlurmdSpoolDir={d}/spool-%n",
            f"SlurmctldPidFile={d / 'slurmctld.pid'}",
            f"SlurmdPidFile={d}/slurmd-%n.pid",
            f"SlurmctldLogFile={d / 'slurmctld.log'}",
            f"SlurmdLogFile={d}/slurmd-%n.log",
            f"PlugStackConfig={d / 'plugstack.conf'}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_CPU",
            "SlurmdParameters=config_overrides",
            "MpiDefault=none",
            "ReturnToService=2",
            # A step being torn down gets SIGKILL 2 s after SIGTERM (not 30 s).
            "KillWait=2",
            # Only backfill starts a heterogeneous job: every second, not every 30 s.
            "SchedulerParameters=bf_interval=1",
            *(
                f"NodeName={node_name(h)} NodeAddr={h.address} CPUs={CPUS_PER_NODE} State=UNKNOWN"
                for h in self.network.hosts
            ),
            "PartitionName=main Nodes=ALL Default=YES MaxTime=10 State=UP",
        ]
        return "\n".join([*lines, ""])


def processes_of(cluster_dir: Path) -> list[str]:
    """Processes still running for the cluster in ``cluster_dir``: a daemon naming a path
    there, or anything (slurmstepd, a job step) with its slurm.conf as SLURM_CONF."""
    marker, conf = str(cluster_dir).encode(), f"SLURM_CONF={cluster_dir}/slurm.conf".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue  # exited meanwhile, or a kernel thread
        if marker in cmdline or conf in environ.split(b"\0"):
            words = cmdline.replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{proc.name} {words}")
    return found
