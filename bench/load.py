"""Load on the web app: simulated users browsing a real server; page times, errors, memory.

    python -m bench.load --users 50 --seconds 60 [--reps 60] [--workers 1] [--workspace DIR]

Builds a synthetic org in a temporary folder, imports and analyses it, and makes an account per
simulated rep, a manager per top-level team and an admin (with --workspace, a copy of that
workspace is used and the accounts are added to the copy). Starts ``brightspots serve`` as a
subprocess, then runs --users threads for --seconds: each signs in through the login form and
browses its role's pages with 0.2-1 s of think time (reps: home, own meter, own team, stories,
/api/v1/me; managers: coach page, a rep's meter, team page, brief; the admin: /admin and
/api/v1/runs). Every user also fetches /static/app.css now and then: the stack's floor,
measured under the same load. Prints requests, errors, throughput, page-time percentiles
overall and per route, and the server's peak memory. Exits 1 when any request failed.

The load generator runs on the same machine as the server and takes CPU from it: its own CPU
time is printed beside the server's.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

try:
    import httpx2 as httpx
except ImportError:  # pragma: no cover - the older client has the same API
    import httpx  # type: ignore[no-redef]

PASSWORD = "bench-load-password"
DOMAIN = "load.example"
STATIC = "/static/app.css"
STATIC_SHARE = 0.25  # chance of a stylesheet fetch after each page
THINK = (0.2, 1.0)
TIMEOUT = 120.0
START_TIMEOUT = 120.0
LOGIN_ROUTES = ("GET /login", "POST /login")
_TOKEN = re.compile(r'name="token" value="([^"]+)"')
_IDS = re.compile(r"^(/api/v1)?/(reps|teams)/[^/]+")


# ----------------------------------------------------------------------------- the workspace


@dataclass(frozen=True)
class Account:
    email: str
    role: str
    pages: tuple[str, ...]  # what this account browses
    reps: tuple[str, ...] = ()  # a manager's reps: one meter of them per visit to "{rep}"


def build_workspace(folder: Path, reps: int, seed: int) -> Path:
    """A synthetic org of ``reps`` reps over 12 months, imported and analysed in ``folder``/ws."""
    from brightspots import synth
    from brightspots.analysis import analyze
    from brightspots.ingest import import_path
    from brightspots.workspace import init_workspace

    data, root = folder / "data", folder / "ws"
    synth.synthesize(synth.SynthConfig(reps=reps, months=12, seed=seed), data, fmt="parquet")
    with init_workspace(root) as ws:
        import_path(ws, data)
        analyze(ws)
    return root


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def make_accounts(root: Path, n_reps: int) -> tuple[list[Account], list[Account], Account]:
    """Rep accounts (at most ``n_reps``, taken across teams in turn), a manager per top-level
    team and an admin, all with ``PASSWORD``; accounts already there are reused."""
    from brightspots.teams import below
    from brightspots.web.appstate import AppState
    from brightspots.web.users import add_user, find
    from brightspots.workspace import Workspace

    with Workspace.open(root) as ws:
        reps, teams = ws.read("reps"), ws.read("teams")
    parents = {
        str(t): str(p)
        for t, p in zip(teams["team_id"], teams["parent_team_id"], strict=True)
        if isinstance(p, str) and p
    }
    by_team: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for rep_id, team_id in sorted(zip(reps["rep_id"], reps["team_id"], strict=True)):
        by_team[str(team_id)].append((str(rep_id), str(team_id)))
    queues = [list(v) for _, v in sorted(by_team.items())]
    chosen: list[tuple[str, str]] = []  # (rep, team), one team after another
    while queues and len(chosen) < n_reps:
        for q in queues:
            if q and len(chosen) < n_reps:
                chosen.append(q.pop(0))
        queues = [q for q in queues if q]
    state = AppState(root)

    def ensure(email: str, role: str, **kw: object) -> None:
        if find(state, email) is None:
            add_user(state, email, role, PASSWORD, **kw)  # type: ignore[arg-type]

    rep_accounts = []
    for rep_id, team_id in chosen:
        email = f"rep-{_slug(rep_id)}@{DOMAIN}"
        ensure(email, "rep", rep_id=rep_id)
        pages = ("/", f"/reps/{rep_id}", f"/teams/{team_id}", "/stories", "/api/v1/me")
        rep_accounts.append(Account(email, "rep", pages))
    tops = sorted(str(t) for t in teams["team_id"] if str(t) not in parents)
    managers = []
    for team_id in tops:
        email = f"manager-{_slug(team_id)}@{DOMAIN}"
        ensure(email, "manager", teams=[team_id])
        under = below(team_id, parents)
        mine = tuple(sorted(r for t, pairs in by_team.items() if t in under for r, _ in pairs))
        pages = ("/", f"/teams/{team_id}/coach", f"/teams/{team_id}", f"/teams/{team_id}/brief")
        if mine:
            pages += ("{rep}",)
        managers.append(Account(email, "manager", pages, mine))
    admin_email = f"admin@{DOMAIN}"
    ensure(admin_email, "admin")
    return rep_accounts, managers, Account(admin_email, "admin", ("/admin", "/api/v1/runs"))


def cast(users: int, reps: list[Account], managers: list[Account], admin: Account) -> list:
    """Who the ``users`` simulated users are: one admin (from 3 users), about one in ten a
    manager (at least one from 2 users), the rest reps; accounts are shared round-robin when
    there are more users of a role than accounts."""
    n_admin = 1 if users >= 3 else 0
    n_managers = max(1, round(users / 10)) if users >= 2 and managers else 0
    n_reps = users - n_admin - n_managers
    if n_reps and not reps:
        raise SystemExit("the workspace has no reps to sign in as")
    out = [reps[i % len(reps)] for i in range(n_reps)]
    out += [managers[i % len(managers)] for i in range(n_managers)]
    return out + [admin] * n_admin


# ----------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(root: Path, port: int, workers: int, log: Path) -> Iterator[subprocess.Popen]:
    """``brightspots serve`` on ``port`` until the block ends; ready when /login answers."""
    cmd = [sys.executable, "-m", "brightspots.cli", "serve", "-w", str(root)]
    cmd += ["--port", str(port), "--workers", str(workers)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"the server exited ({proc.returncode}):\n{_tail(log)}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/login", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"the server did not answer in {START_TIMEOUT:.0f}s:\n{_tail(log)}"
                )
            time.sleep(0.2)
        yield proc
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGINT, 20), (signal.SIGTERM, 10)):
        proc.send_signal(sig)
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            pass
    os.killpg(proc.pid, signal.SIGKILL)  # its own session: only the server and its workers
    proc.wait()


def _tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


class Watch(threading.Thread):
    """Samples the memory and CPU time of a process and its descendants (Linux /proc; psutil
    elsewhere, when installed, for the resident size only)."""

    def __init__(self, pid: int, every: float = 0.25) -> None:
        super().__init__(daemon=True, name="bench-watch")
        self.pid, self.every = pid, every
        self.hwm: dict[int, int] = {}  # pid -> peak resident bytes (VmHWM, or sampled)
        self.peak_total = 0  # the largest sum of resident bytes seen at one instant
        self.cpu: dict[int, float] = {}  # pid -> CPU seconds, last seen
        self.source = "/proc" if Path("/proc/self/status").is_file() else ""
        if not self.source:
            try:
                import psutil  # noqa: F401

                self.source = "psutil"
            except ImportError:
                pass
        self._halt = threading.Event()

    def tree(self) -> list[int]:
        if self.source == "psutil":
            import psutil

            try:
                p = psutil.Process(self.pid)
                return [self.pid, *(c.pid for c in p.children(recursive=True))]
            except psutil.Error:
                return []
        children: dict[int, list[int]] = defaultdict(list)
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children[ppid].append(int(entry))
        out, frontier = [self.pid], [self.pid]
        while frontier:
            frontier = [c for p in frontier for c in children.get(p, [])]
            out += frontier
        return out

    def sample(self) -> None:
        total = 0
        for pid in self.tree():
            try:
                rss, hwm, cpu = self._read(pid)
            except (OSError, ValueError, IndexError):
                continue
            total += rss
            self.hwm[pid] = max(self.hwm.get(pid, 0), hwm)
            self.cpu[pid] = cpu
        self.peak_total = max(self.peak_total, total)

    def _read(self, pid: int) -> tuple[int, int, float]:
        if self.source == "psutil":
            import psutil

            p = psutil.Process(pid)
            rss, t = p.memory_info().rss, p.cpu_times()
            return rss, rss, t.user + t.system
        fields = {}
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            fields[key] = value
        kib = 1024
        rss = int(fields["VmRSS"].split()[0]) * kib
        hwm = int(fields["VmHWM"].split()[0]) * kib
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return rss, hwm, (int(stat[11]) + int(stat[12])) / ticks

    def cpu_seconds(self) -> float:
        return sum(self.cpu.values())

    def run(self) -> None:
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(self.every)

    def stop(self) -> None:
        self._halt.set()
        self.join()
        self.sample()


# ----------------------------------------------------------------------------- the users


@dataclass
class Sample:
    route: str  # "GET /reps/{id}"
    path: str  # "/reps/R-0001"
    started: float  # time.monotonic()
    status: int  # 0: no answer
    seconds: float
    error: str  # "" when it went well


@dataclass
class User:
    account: Account
    seed: int
    samples: list[Sample] = field(default_factory=list)


def route_of(method: str, path: str) -> str:
    path = path.split("?", 1)[0]
    return f"{method} " + _IDS.sub(r"\1/\2/{id}", path)


def _call(client: httpx.Client, user: User, method: str, path: str, **kw) -> httpx.Response | None:
    route, started = route_of(method, path), time.monotonic()
    t0 = time.perf_counter()
    try:
        r = client.request(method, path, **kw)
    except Exception as e:  # noqa: BLE001 - every failure is a figure, not a crash
        msg = f"{type(e).__name__}: {e}"
        user.samples.append(Sample(route, path, started, 0, time.perf_counter() - t0, msg))
        return None
    seconds = time.perf_counter() - t0
    error = "" if 200 <= r.status_code < 400 else f"{r.status_code} {r.reason_phrase}"
    if not error and r.status_code >= 300 and method == "GET":
        error = f"{r.status_code} to {r.headers.get('location', '?')}"  # pages never redirect
    user.samples.append(Sample(route, path, started, r.status_code, seconds, error))
    return r


def _login(client: httpx.Client, user: User) -> bool:
    form = _call(client, user, "GET", "/login")
    if form is None or form.status_code != 200:
        return False
    found = _TOKEN.search(form.text)
    if not found:
        user.samples[-1].error = "no token field in the login form"
        return False
    data = {"email": user.account.email, "password": PASSWORD, "token": found[1], "next": "/"}
    r = _call(client, user, "POST", "/login", data=data)
    if r is None or r.status_code != 303:
        if r is not None and not user.samples[-1].error:
            user.samples[-1].error = f"{r.status_code}: no redirect after signing in"
        return False
    if "bs_session" not in client.cookies:
        user.samples[-1].error = "signed in without a session cookie"
        return False
    return True


def browse(base: str, user: User, start: float, deadline: float) -> None:
    try:
        _browse(base, user, start, deadline)
    except Exception as e:  # noqa: BLE001 - a broken user is an error in the figures
        user.samples.append(Sample("user", "", time.monotonic(), 0, 0.0, f"crashed: {e!r}"))


def _browse(base: str, user: User, start: float, deadline: float) -> None:
    rng = random.Random(user.seed)
    _pause(start - time.monotonic())
    with httpx.Client(base_url=base, timeout=TIMEOUT, follow_redirects=False) as client:
        signed_in = False
        while time.monotonic() < deadline:
            if not signed_in:
                signed_in = _login(client, user)
            else:
                path = rng.choice(user.account.pages)
                if path == "{rep}":
                    path = f"/reps/{rng.choice(user.account.reps)}"
                _call(client, user, "GET", path)
                if rng.random() < STATIC_SHARE:
                    _call(client, user, "GET", STATIC)
            _pause(min(rng.uniform(*THINK), deadline - time.monotonic()))


def _pause(seconds: float) -> None:
    if seconds > 0:
        time.sleep(seconds)


# ----------------------------------------------------------------------------- the figures


def _ms(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000 if values else float("nan")


def _line(name: str, samples: list[Sample]) -> str:
    t = [s.seconds for s in samples]
    errors = sum(1 for s in samples if s.error)
    return (
        f"  {name:<30} {len(t):>7} {errors:>6} {_ms(t, 50):>8.1f} {_ms(t, 95):>8.1f} "
        f"{_ms(t, 99):>8.1f} {max(t) * 1000 if t else float('nan'):>8.1f}"
    )


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def timeline(pages: list[Sample], static: list[Sample], began: float, elapsed: float) -> None:
    """Page and stylesheet times by when they were asked for: the warm-up (sign-ins, first
    computations of each view) apart from the steady state."""
    slices = 6
    width = elapsed / slices
    print(f"  {'asked at':<14} {'pages':>7} {'p50 ms':>8} {'p95 ms':>8} {'css p50':>8}")
    for i in range(slices):
        lo, hi = i * width, (i + 1) * width
        t = [s.seconds for s in pages if lo <= s.started - began < hi]
        c = [s.seconds for s in static if lo <= s.started - began < hi]
        print(
            f"  {f'{lo:.0f}-{hi:.0f}s':<14} {len(t):>7} {_ms(t, 50):>8.1f} {_ms(t, 95):>8.1f} "
            f"{_ms(c, 50):>8.1f}"
        )


def report(
    users: list[User],
    began: float,
    elapsed: float,
    watch: Watch,
    server_cpu: float,
    client_cpu: float,
) -> int:
    samples = [s for u in users for s in u.samples]
    errors = [s for s in samples if s.error]
    static = [s for s in samples if s.route == f"GET {STATIC}"]
    pages = [s for s in samples if s.route != f"GET {STATIC}" and s.route not in LOGIN_ROUTES]
    print(
        f"requests {len(samples)} in {elapsed:.1f}s: {len(samples) / elapsed:.1f}/s "
        f"(pages {len(pages)}: {len(pages) / elapsed:.1f}/s; stylesheet {len(static)}; "
        f"sign-in steps {len(samples) - len(pages) - len(static)})"
    )
    print(f"errors {len(errors)}")
    for (route, msg), n in Counter((s.route, s.error) for s in errors).most_common(5):
        print(f"  {n} x {route}: {msg[:200]}")
    head = ("route", "n", "errors", "p50 ms", "p95 ms", "p99 ms", "max ms")
    print(f"  {head[0]:<30} {head[1]:>7} {head[2]:>6} " + " ".join(f"{h:>8}" for h in head[3:]))
    print(_line("pages (all but sign-in, css)", pages))
    answered: dict[str, float] = {}  # path -> when its first visit was answered
    first, overlapping, again = [], [], []
    for s in sorted(pages, key=lambda s: s.started):
        if s.path not in answered:
            answered[s.path] = s.started + s.seconds
            first.append(s)
        else:
            (overlapping if s.started < answered[s.path] else again).append(s)
    print(_line("  first visit of a path", first))
    print(_line("  asked again before answered", overlapping))
    print(_line("  later visits (cached)", again))
    by_route: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        by_route[s.route].append(s)
    for route in sorted(by_route):
        print(_line(route, by_route[route]))
    timeline(pages, static, began, elapsed)
    late = began + elapsed * 2 / 3
    for what, p, c in (
        ("whole run", pages, static),
        (
            "last third",
            [s for s in pages if s.started >= late],
            [s for s in static if s.started >= late],
        ),
    ):
        floor, page50 = _ms([s.seconds for s in c], 50), _ms([s.seconds for s in p], 50)
        print(
            f"stack floor, {what}: p50 {STATIC} {floor:.1f} ms, p50 page {page50:.1f} ms: "
            f"page / stylesheet {page50 / floor if floor else float('nan'):.1f}x"
        )
    mib = 1024 * 1024
    if watch.source:
        each = ", ".join(f"{pid}: {b / mib:.0f}" for pid, b in sorted(watch.hwm.items()))
        what = "VmHWM" if watch.source == "/proc" else "sampled RSS"
        print(
            f"server memory: peak resident {watch.peak_total / mib:.0f} MiB summed over "
            f"{len(watch.hwm)} process(es) at one instant; peak per process ({what}, MiB) {each}"
        )
    else:
        print("server memory: unknown (no /proc and no psutil)")
    print(
        f"CPU during the load: server {server_cpu:.1f}s, load generator {client_cpu:.1f}s, "
        f"over {elapsed:.1f}s on {os.cpu_count()} cores; load average at the end {_loadavg()}"
    )
    return 1 if errors else 0


# ----------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=50, help="simulated users at once")
    ap.add_argument("--seconds", type=float, default=60, help="how long they browse")
    ap.add_argument("--reps", type=int, default=60, help="reps in the synthetic org")
    ap.add_argument("--workers", type=int, default=1, help="server worker processes")
    ap.add_argument("--workspace", type=Path, help="use a copy of this workspace instead")
    ap.add_argument("--ramp", type=float, default=5.0, help="seconds over which users arrive")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if args.users < 1 or args.seconds <= 0 or args.workers < 1:
        raise SystemExit("--users, --seconds and --workers must be positive")
    with tempfile.TemporaryDirectory(prefix="bs-load-") as d:
        tmp = Path(d)
        t0 = time.perf_counter()
        if args.workspace:
            root = tmp / "ws"
            shutil.copytree(args.workspace, root)
            print(f"workspace: a copy of {args.workspace} ({time.perf_counter() - t0:.0f}s)")
        else:
            root = build_workspace(tmp, args.reps, args.seed)
            print(
                f"workspace: synthetic org of {args.reps} reps, 12 months, seed {args.seed}, "
                f"imported and analysed ({time.perf_counter() - t0:.0f}s)"
            )
        t0 = time.perf_counter()
        reps, managers, admin = make_accounts(root, args.users)
        people = cast(args.users, reps, managers, admin)
        roles = Counter(a.role for a in people)
        print(
            f"accounts: {len(reps)} reps, {len(managers)} managers, 1 admin "
            f"({time.perf_counter() - t0:.0f}s); users: "
            + ", ".join(f"{n} {r}" for r, n in sorted(roles.items()))
        )
        print(f"machine: {os.cpu_count()} cores, load average before the server {_loadavg()}")
        port, log = free_port(), tmp / "server.log"
        with server(root, port, args.workers, log) as proc:
            watch = Watch(proc.pid)
            watch.sample()
            cpu0 = watch.cpu_seconds()
            rusage0 = resource.getrusage(resource.RUSAGE_SELF)
            watch.start()
            users = [User(a, args.seed * 1000 + i) for i, a in enumerate(people)]
            began = time.monotonic()
            deadline = began + args.seconds
            threads = [
                threading.Thread(
                    target=browse,
                    args=(
                        f"http://127.0.0.1:{port}",
                        u,
                        began + args.ramp * i / len(users),
                        deadline,
                    ),
                    name=f"user-{i}",
                    daemon=True,
                )
                for i, u in enumerate(users)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.monotonic() - began
            rusage1 = resource.getrusage(resource.RUSAGE_SELF)
            watch.stop()
            server_cpu = watch.cpu_seconds() - cpu0
        client_cpu = (rusage1.ru_utime - rusage0.ru_utime) + (rusage1.ru_stime - rusage0.ru_stime)
        print(
            f"load: {len(users)} users for {args.seconds:.0f}s (arriving over {args.ramp:.0f}s), "
            f"server with {args.workers} worker(s) on port {port}"
        )
        code = report(users, began, elapsed, watch, server_cpu, client_cpu)
        text = log.read_text(errors="replace")
        if "Traceback" in text:
            print(f"server log has {text.count('Traceback')} traceback(s); its end:\n{_tail(log)}")
    sys.exit(code)


if __name__ == "__main__":
    main()
