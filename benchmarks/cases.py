"""The benchmark cases. Each returns a :class:`Result`: ours, torch's, and their ratio."""

from __future__ import annotations

import socket
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from .measure import Sample, run_interleaved
from .paired import verdict as paired_verdict

REPO = Path(__file__).resolve().parents[1]
WORKER = str(REPO / "examples" / "allreduce.py")


@dataclass(frozen=True)
class Result:
    """One comparison; ``ratio`` is ours / torch's (lower is better), ``target`` the goal.

    ``low`` and ``high``, when given, are the ratio's 95% interval over paired
    rounds (`benchmarks.paired`), and ``paired`` the ratio itself (the pairs'
    geometric mean, which ``ours`` / ``torch``, two medians, need not equal);
    the verdict then rests on the interval.
    """

    name: str
    unit: str
    ours: float
    torch: float
    target: float | None
    note: str = ""
    baseline: str = "torch"
    paired: float | None = None
    low: float | None = None
    high: float | None = None

    @property
    def ratio(self) -> float:
        return self.paired if self.paired is not None else self.ours / self.torch

    @property
    def verdict(self) -> str:
        """``met``, ``missed``, ``unsettled`` (the interval straddles the target) or ``""``."""
        if self.target is None:
            return ""
        if self.paired is not None:
            return paired_verdict(self.low, self.high, self.target)
        return "met" if self.ratio <= self.target else "missed"

    @property
    def met(self) -> bool | None:
        """True or False for a settled target; None without a target or when unsettled."""
        return {"met": True, "missed": False}.get(self.verdict)

    def to_json(self) -> dict[str, object]:
        return {**asdict(self), "ratio": self.ratio, "met": self.met, "verdict": self.verdict}


OURS_LISTING = textwrap.dedent(
    """
    import rendezvous_di
    from rendezvous_di import describe_backends
    names = [b.name for b in describe_backends(rendezvous_di.RendezvousContainer())]
    """
)
TORCH_LISTING = textwrap.dedent(
    """
    import torch.distributed.elastic.rendezvous as rendezvous
    names = sorted(rendezvous.rendezvous_handler_registry._registry)
    """
)


def cold_start(runs: int) -> list[Result]:
    """``import rendezvous_di`` + a container + the listing, against torch's import + listing."""
    ours, torch, floor, bare = run_interleaved(
        [
            _python(OURS_LISTING),
            _python(TORCH_LISTING),
            _python("import dependency_injector.containers"),
            _python("pass"),
        ],
        runs=runs,
    )
    note = (
        f"python alone {bare.seconds * 1e3:.0f} ms; dependency-injector alone "
        f"{floor.seconds * 1e3:.0f} ms ({floor.seconds / torch.seconds:.1%} of torch)"
    )
    return [
        Result(
            "cold start: import, container, listing",
            "ms",
            ours.seconds * 1e3,
            torch.seconds * 1e3,
            0.12,
            note,
        ),
    ]


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def peak_memory(runs: int) -> list[Result]:
    """Peak RSS of ``rendezvous-di backends`` against importing torch's rendezvous package."""
    ours, torch = run_interleaved(
        [[sys.executable, "-m", "rendezvous_di", "backends"], _python(TORCH_LISTING)],
        runs=runs,
        cwd=str(REPO),
    )
    return [
        Result("peak memory: rendezvous-di backends", "MiB", ours.peak_mib, torch.peak_mib, None)
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_AGENT = textwrap.dedent(
    """
    import sys
    endpoint, run_id, is_host, mode = sys.argv[1:5]
    conf = dict(join_timeout=60, last_call_timeout=1, is_host=is_host == "1")
    if mode == "ours":
        from rendezvous_di import RendezvousContainer
        container = RendezvousContainer()
        container.environ.override({})
        container.config.from_dict(dict(backend="c10d", endpoint=endpoint, run_id=run_id,
                                        nnodes=2, conf=conf))
        handler = container.handler()
    else:
        from torch.distributed.elastic.rendezvous import RendezvousParameters
        from torch.distributed.elastic.rendezvous.registry import get_rendezvous_handler
        handler = get_rendezvous_handler(
            RendezvousParameters("c10d", endpoint, run_id, 2, 2, **conf))
    info = handler.next_rendezvous()
    store = info.store
    store.set(f"done/{info.rank}", "1")
    store.wait([f"done/{r}" for r in range(info.world_size)])
    if is_host == "1":
        store.wait(["left"])
    else:
        store.set("left", "1")
    """
)


def _two_agents(mode: str) -> list[str]:
    endpoint = f"127.0.0.1:{_free_port()}"
    return [
        sys.executable,
        "-c",
        "import subprocess, sys\n"
        f"agents = [subprocess.Popen([sys.executable, '-c', {_AGENT!r}, {endpoint!r}, 'bench', h, "
        f"{mode!r}]) for h in ('1', '0')]\n"
        "sys.exit(max(a.wait() for a in agents))\n",
    ]


def end_to_end(runs: int) -> list[Result]:
    """A 2-agent c10d rendezvous; a 2-worker job, ``rendezvous-di run`` against ``torchrun``.

    Three processes importing torch on two cores vary by ±10% from run to run,
    more than the difference measured, so these take twice the runs.
    """
    runs = 2 * runs + 1
    ours, torch = run_interleaved(
        [lambda: _two_agents("ours"), lambda: _two_agents("torch")], runs=runs, warmup=0
    )
    bin_dir = Path(sys.executable).parent
    job = ["--standalone", "--nproc-per-node", "2", WORKER]
    run_ours, run_torch = run_interleaved(
        [[str(bin_dir / "rendezvous-di"), "run", *job], [str(bin_dir / "torchrun"), *job]],
        runs=runs,
        env={"OMP_NUM_THREADS": "1"},
    )
    return [
        Result("end to end: 2-agent c10d rendezvous", "s", ours.seconds, torch.seconds, 1.05),
        Result(
            "end to end: run vs torchrun, 2 workers", "s", run_ours.seconds, run_torch.seconds, 1.05
        ),
    ]


def bad_input(runs: int) -> list[Result]:
    """``run --nproc-per-node 0``: refused before torch's import, against torchrun's own refusal.

    Both raise an ``AssertionError`` class (ours also a ``ConfigError``: exit 2, one
    line); torchrun raises it after importing torch and hosting its c10d store.
    """
    bin_dir = Path(sys.executable).parent
    job = ["--nproc-per-node", "0", WORKER]
    ours, torch = run_interleaved(
        [[str(bin_dir / "rendezvous-di"), "run", *job], [str(bin_dir / "torchrun"), *job]],
        runs=runs,
        exit_codes=[(2,), (1,)],
    )
    return [
        Result(
            "bad input: run --nproc-per-node 0 vs torchrun",
            "ms",
            ours.seconds * 1e3,
            torch.seconds * 1e3,
            0.25,
            "ours: exit 2, one error line, before torch is imported; torchrun: "
            "AssertionError traceback after its import and its store",
        )
    ]


_RESOLVE_TORCH = textwrap.dedent(
    """
    from benchmarks.measure import per_call
    import torch.distributed.elastic.rendezvous as rendezvous
    from torch.distributed.elastic.rendezvous.registry import get_rendezvous_handler
    params = rendezvous.RendezvousParameters("trivial", "head:1", "r", 1, 1)
    def once():
        get_rendezvous_handler(params).shutdown()
    once()
    print(per_call(once, calls=CALLS, repeats=9))
    """
)
_RESOLVE_OURS = textwrap.dedent(
    """
    from benchmarks.measure import per_call
    from rendezvous_di import RendezvousContainer, install
    container = RendezvousContainer()  # PET_* read from os.environ, as by default
    container.config.from_dict({"backend": "trivial", "endpoint": "head:1", "run_id": "r"})
    def through_handler():
        container.handler()
        container.handler.shutdown()
    through_handler()
    first = per_call(through_handler, calls=CALLS, repeats=9)
    from torch.distributed.elastic.rendezvous import RendezvousParameters
    from torch.distributed.elastic.rendezvous.registry import get_rendezvous_handler
    params = RendezvousParameters("trivial", "head:1", "r", 1, 1)
    install(container, ["trivial"])
    def through_torch():
        get_rendezvous_handler(params).shutdown()
    through_torch()
    bridge = per_call(through_torch, calls=CALLS, repeats=9)

    # dependency-injector's own floor for this shape: a Resource over a Selector of
    # Factories, parameters prebuilt, nothing validated; what any container pays.
    from dependency_injector import containers, providers
    import rdzv_trivial
    def open_handler(handler, backend):
        assert handler.get_backend() == backend
        yield handler
        handler.shutdown()
    class Bare(containers.DeclarativeContainer):
        backend = providers.Object("trivial")
        params = providers.Object(params)
        backends = providers.Selector(
            backend, trivial=providers.Factory(rdzv_trivial.get_handler(), params)
        )
        handler = providers.Resource(open_handler, backends, backend)
    bare = Bare()
    def through_bare():
        bare.handler()
        bare.handler.shutdown()
    through_bare()
    print(first, bridge, per_call(through_bare, calls=CALLS, repeats=9))
    """
)


_RESOLVE_C10D = textwrap.dedent(
    """
    import statistics, time
    from dependency_injector import providers
    from rendezvous_di import RendezvousContainer
    import torch.distributed.elastic.rendezvous as rendezvous
    from torch.distributed.elastic.rendezvous.registry import get_rendezvous_handler

    # Resolution alone: the container's whole path on its defaults (sources read,
    # settings, parameters, Selector, Resource, backend check, shutdown), with
    # the c10d entry answering a made handler instead of hosting a store.
    class Made:
        def get_backend(self):
            return "c10d"
        def shutdown(self):
            return True
    made = Made()
    container = RendezvousContainer()
    def answer(params):
        return made
    container.backends.providers["c10d"].override(
        providers.Factory(answer, params=container.parameters)
    )
    def resolve():
        start = time.perf_counter()
        container.handler()
        container.handler.shutdown()
        return time.perf_counter() - start

    params = rendezvous.RendezvousParameters("c10d", "localhost:0", "r", 1, 1)
    def create():
        start = time.perf_counter()
        handler = get_rendezvous_handler(params)
        took = time.perf_counter() - start
        handler.shutdown()  # not timed
        return took

    resolve(), create()
    mine, theirs = [], []
    for _ in range(REPEATS):  # alternate, so drift on the machine hits both alike
        mine.append(statistics.mean(resolve() for _ in range(50 * CALLS)))
        theirs.append(statistics.mean(create() for _ in range(CALLS)))
    print(statistics.median(mine), statistics.median(theirs))
    """
)


def _python_output(code: str, env: dict[str, str]) -> list[float]:
    import os
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return [float(x) for x in done.stdout.split()]


def resolution(runs: int) -> list[Result]:
    """What resolution adds to creating torch's c10d handler; the bridge on a trivial plugin.

    The target: ``container.handler()`` on the default settings costs at most 5%
    more than torch creating the same c10d handler (both shut down each time).
    """
    import tempfile

    from .plugin_site import TRIVIAL, install

    calls = str(200 * runs)
    with tempfile.TemporaryDirectory(prefix="rdzv-bench-") as root:
        site = Path(root) / "site"
        install(site, "trivial", "rdzv_trivial", TRIVIAL)
        env = {"PYTHONPATH": f"{REPO}:{site}"}
        (torch,) = _python_output(_RESOLVE_TORCH.replace("CALLS", calls), env)
        handler, bridge, floor = _python_output(_RESOLVE_OURS.replace("CALLS", calls), env)
        c10d_code = _RESOLVE_C10D.replace("CALLS", str(4 * runs)).replace(
            "REPEATS", str(2 * runs + 1)
        )
        with_c10d, c10d = _python_output(c10d_code, env)
    return [
        Result(
            "resolution on c10d defaults vs torch creating the c10d handler",
            "µs",
            with_c10d * 1e6,
            c10d * 1e6,
            0.05,
            "ours: container.handler() and its shutdown on the default settings, the c10d "
            "entry answering a made handler; torch: get_rendezvous_handler for c10d on "
            "localhost:0 (hosting its TCPStore), shutdown not timed",
        ),
        Result(
            "resolution: container.handler(), trivial plugin",
            "µs",
            handler * 1e6,
            torch * 1e6,
            None,
            "from configuration to handler, sources re-read on each resolution; "
            f"dependency-injector's floor for a Resource over a Selector of Factories, "
            f"nothing validated: {floor * 1e6:.1f} µs ({floor / torch:.0f}x torch)",
        ),
        Result(
            "resolution: torch launcher through install()",
            "µs",
            bridge * 1e6,
            torch * 1e6,
            None,
            "get_rendezvous_handler with the container's creator",
        ),
    ]


def broken_plugin(runs: int) -> list[Result]:
    """One broken plugin installed: our listing pays nothing, torch logs a traceback."""
    import tempfile

    from .plugin_site import BROKEN, install

    with tempfile.TemporaryDirectory(prefix="rdzv-bench-") as root:
        site = Path(root) / "site"
        install(site, "broken", "rdzv_broken", BROKEN)
        ours, torch = run_interleaved(
            [_python(OURS_LISTING), _python(TORCH_LISTING)],
            runs=runs,
            env={"PYTHONPATH": str(site)},
        )
    return [
        Result(
            "one broken plugin installed: listing",
            "ms",
            ours.seconds * 1e3,
            torch.seconds * 1e3,
            None,
        )
    ]


def plugin_scaling(runs: int) -> list[Result]:
    """``rendezvous-di backends`` with 0, 100, 1000 installed entry points, vs torch's import."""
    import tempfile

    from .plugin_site import install_many

    listing = [sys.executable, "-m", "rendezvous_di", "backends", "--json"]
    ours: dict[int, Sample] = {}
    results = []
    for count in (0, 100, 1000):
        with tempfile.TemporaryDirectory(prefix="rdzv-bench-") as root:
            site = install_many(Path(root) / "site", count)
            ours[count], torch = run_interleaved(
                [listing, _python(TORCH_LISTING)],
                runs=runs,
                env={"PYTHONPATH": str(site)},
                cwd=str(REPO),
            )
        results.append(
            Result(
                f"plugin scaling: backends, {count} plugins",
                "ms",
                ours[count].seconds * 1e3,
                torch.seconds * 1e3,
                None,
            )
        )
    results.append(
        Result(
            "plugin scaling: ours at 1000 / ours at 0",
            "ms",
            ours[1000].seconds * 1e3,
            ours[0].seconds * 1e3,
            2.0,
            "baseline is rendezvous-di with no plugins, not torch",
            baseline="rendezvous-di, 0 plugins",
        )
    )
    return results


def rendezvous_scale(runs: int, out: Path, agents: Sequence[int]) -> list[Result]:
    """Forming a rendezvous of 2, 8 and 16 agents: c10d through the container against torch's
    registry (target 1.03), etcd-v3 against etcd-v2 (target 1.0, no slower); the store's load
    per agent, and its extrapolation, in ``rendezvous_scale.md`` and ``.json`` in ``out``."""
    from . import rendezvous_scale as scale

    summary = scale.measure(runs, sizes=agents)
    command = "python -m benchmarks --only rendezvous_scale"
    if runs != 7:
        command += f" --runs {runs}"
    if tuple(agents) != scale.SIZES:
        command += f" --agents {','.join(map(str, agents))}"
    sys.stderr.write(scale.write(summary, out, command))
    return [Result(**row) for row in scale.results_dict(summary)]


def admission_network(runs: int) -> list[Result]:
    """The ``network`` admission check's cost against one rendezvous round, and detection.

    Needs root and network namespaces (`benchmarks.admission_network`).
    """
    from .admission_network import Unsupported, measure

    try:
        found = measure(runs)
    except Unsupported as error:
        sys.stderr.write(f"admission_network skipped: {error}\n")
        return []
    results = [
        Result(
            f"admission network check, {size} hosts",
            "s",
            cost["check_s"],
            cost["round_s"],
            None,
            note="the check's time against one c10d rendezvous round of the same hosts",
            baseline="one rendezvous round",
        )
        for size, cost in found["cost"].items()
    ]
    results += [
        Result(
            f"admission network check detects a link slowed {factor}x",
            "rate",
            rate,
            1.0,
            None,
            note=f"share of {runs} trials naming the throttled host (4 hosts, max_ratio 3); "
            f"measured slowdown {found['measured_slowdown'].get(factor, 0):.1f}x",
            baseline="every trial",
        )
        for factor, rate in found["detection"].items()
    ]
    return results
