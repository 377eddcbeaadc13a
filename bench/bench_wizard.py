"""Wizard step throughput under gunicorn against a bare Django FormView, same process, same run.

    .venv/bin/python bench/bench_wizard.py

gunicorn serves the site with the production settings (DEBUG off, PostgreSQL, sessions in the
Redis cache, manifest static files; SECURE_SSL_REDIRECT=false since the bench speaks plain HTTP
on loopback; CONN_MAX_AGE=60 as a production deployment sets it) and BENCH_VIEWS=1, which mounts
bench/views.py's bare FormView at /bench/role/: the wizard's first form (RoleForm), the same
template, the same session engine and the same access check. Each virtual user opened its own
Set up now link (a million-order database behind), then, in interleaved rounds:

  GET  /setup/orders/<number>/        (the wizard's role step)  vs  GET  /bench/role/
  POST /setup/orders/<number>/ role   (the next step)           vs  POST /bench/role/ (the same page)

The load generator (bench/loadgen.py) keeps one keep-alive connection per user, bounded in time and
count. Target: the wizard at ≥ 0.8× the bare view's requests/second on both. Queries and session
writes per request are counted in-process; pyinstrument profiles both views when installed.
"""
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402
from bench.loadgen import Client, run_load  # noqa: E402

USERS = 4
ROUNDS = 10
SECONDS = 2.0
MAX_REQUESTS = 4000
GUNICORN_WORKERS = 2
GUNICORN_THREADS = 2
TARGET = 0.8


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def production_env(port):
    return dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings_production",
                SECRET_KEY=secrets.token_urlsafe(40), ALLOWED_HOSTS="127.0.0.1,localhost",
                SITE_URL=f"http://127.0.0.1:{port}", SECURE_SSL_REDIRECT="false",
                CONN_MAX_AGE="60", BENCH_VIEWS="1", LOG_LEVEL="WARNING", DEBUG="false")


def start_gunicorn(port, log_path):
    env = production_env(port)
    subprocess.run([common.PYTHON, "manage.py", "collectstatic", "--noinput", "-v0"],
                   cwd=common.ROOT, env=env, check=True)
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [str(Path(common.PYTHON).parent / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{port}",
         "--workers", str(GUNICORN_WORKERS), "--worker-class", "gthread",
         "--threads", str(GUNICORN_THREADS), "--keep-alive", "30", "--log-level", "warning"],
        cwd=common.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited; see {log_path}")
        try:
            status, _, _ = Client("127.0.0.1", port).get("/healthz")
            if status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise RuntimeError(f"gunicorn did not answer; see {log_path}")


def worker_cpu_seconds(master_pid):
    """CPU time (user + system) used so far by gunicorn's worker processes. Per request, this is
    what the view costs whatever the neighbours on a shared machine are doing."""
    tick = os.sysconf("SC_CLK_TCK")
    try:
        children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    except OSError:
        return 0.0
    total = 0
    for pid in children:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def setup_links(n):
    """n orders that can be set up (scheduled, window open): a fresh deployment link each."""
    from django.utils import timezone

    from provisioning import links
    from provisioning.models import Provisioning, SetupLink

    rows = (Provisioning.objects.select_related("order")
            .filter(status="scheduled", set_up_at__isnull=True, window_closes_at__gt=timezone.now(),
                    email_due_at__gt=timezone.now())
            .order_by("order_id")[:n])
    return [(p.order, links.issue_link(p.order, p.order.deployment_contact_email,
                                          SetupLink.Purpose.DEPLOYMENT)) for p in rows]


class User:
    def __init__(self, port, order, token):
        self.client = Client("127.0.0.1", port)
        self.order, self.token = order, token
        self.prefix = f"setup_{order.pk}"
        self.url = f"/setup/orders/{order.number}/"
        self.csrf = None

    def open_link(self):
        status, response, _ = self.client.get(f"/setup/{self.token}/")
        assert status == 302, f"opening the link gave HTTP {status}"
        status, _, html = self.client.get(self.url)
        assert status == 200, f"the wizard's first step gave HTTP {status}"
        self.csrf = Client.csrf_token(html)
        return html

    def wizard_get(self):
        return self.client.get(self.url)[0]

    def bare_get(self):
        return self.client.get("/bench/role/")[0]

    def wizard_post(self):
        return self.client.post(self.url, {"csrfmiddlewaretoken": self.csrf,
                                           f"{self.prefix}-current_step": "role",
                                           "role-role": "partner"})[0]

    def bare_post(self):
        return self.client.post("/bench/role/", {"csrfmiddlewaretoken": self.csrf,
                                                 "role-role": "partner"})[0]


def in_process_counts(order, token):
    """Queries and session writes per request, through Django's test client (same code)."""
    from django.conf import settings
    from django.test import Client as DjangoClient

    client = DjangoClient()
    url = f"/setup/orders/{order.number}/"
    client.get(f"/setup/{token}/")
    client.post(url, {f"setup_{order.pk}-current_step": "role", "role-role": "partner"})
    client.get(f"/setup/{token}/")  # back to the first step, setup already begun
    figures = {}
    for name, method, path, data in (
            ("wizard GET", "get", url, None),
            ("bare GET", "get", "/bench/role/", None),
            ("wizard POST", "post", url, {f"setup_{order.pk}-current_step": "role",
                                          "role-role": "partner"}),
            ("bare POST", "post", "/bench/role/", {"role-role": "partner"})):
        if name == "wizard POST":
            client.get(f"/setup/{token}/")
        client.get(url if "wizard" in name else "/bench/role/")  # warm
        if name == "wizard POST":
            client.get(f"/setup/{token}/")
        with common.count_queries() as queries:
            response = getattr(client, method)(path, data) if data else getattr(client, method)(path)
        saved = settings.SESSION_COOKIE_NAME in response.cookies
        figures[name] = {"status": response.status_code, "queries": len(queries),
                         "session_saved": saved, "sql": [sql for sql, _ in queries]}
    return figures


def profile(order, token, results, requests=300):
    try:
        from pyinstrument import Profiler
    except ImportError:
        results.note("pyinstrument is not installed: no profile "
                     "(.venv/bin/pip install pyinstrument)")
        return
    from django.test import Client as DjangoClient

    client = DjangoClient()
    client.get(f"/setup/{token}/")
    url = f"/setup/orders/{order.number}/"
    for name, path in (("wizard GET " + url, url), ("bare GET /bench/role/", "/bench/role/")):
        client.get(path)
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(requests):
            client.get(path)
        profiler.stop()
        text = profiler.output_text(unicode=False, color=False, show_all=False)
        lines = [line for line in text.splitlines() if line.strip()][:45]
        results.block(f"pyinstrument, {requests} × {name} in-process", "\n".join(lines))


def main():
    os.environ["BENCH_VIEWS"] = "1"
    common.start()
    results = common.Results("wizard", "Wizard step throughput under gunicorn vs a bare FormView")
    try:
        import onboarding.wizard  # noqa: F401
    except ImportError:
        results.note("the wizard has not landed: nothing to measure")
        results.save()
        return
    links = setup_links(USERS + 1)
    port = free_port()
    common.OUT_DIR.mkdir(parents=True, exist_ok=True)
    proc = start_gunicorn(port, common.OUT_DIR / "gunicorn.log")
    try:
        users = [User(port, order, token) for order, token in links[:USERS]]
        for user in users:
            user.open_link()
            assert user.bare_get() == 200, "the bare view is not mounted (BENCH_VIEWS=1)"
            assert user.wizard_post() == 200 and user.bare_post() == 200, "a POST failed"
        rps = {name: [] for name in ("wizard_get", "bare_get", "wizard_post", "bare_post")}
        latency = {name: [] for name in rps}
        cpu = {name: [] for name in rps}
        for round_no in range(ROUNDS):
            for user in users:
                user.open_link()  # the wizard back on its first step
            # A B B A: which of the two goes first alternates, so neither always follows the other.
            order = (["wizard_get", "bare_get", "wizard_post", "bare_post"] if round_no % 2 == 0
                     else ["bare_get", "wizard_get", "bare_post", "wizard_post"])
            for name in order:
                cpu0 = worker_cpu_seconds(proc.pid)
                r = run_load(users, getattr(User, name), seconds=SECONDS, max_requests=MAX_REQUESTS)
                cpu[name].append((worker_cpu_seconds(proc.pid) - cpu0) / max(r["requests"], 1))
                if r["errors"]:
                    results.note(f"{name}: {r['errors']} errors, first: {r['first_error']}")
                rps[name].append(r["rps"])
                latency[name].append(r["p50"])
                if name.startswith("wizard_post"):
                    for user in users:
                        user.open_link()
        med = {name: statistics.median(values) for name, values in rps.items()}
        p50 = {name: statistics.median(values) for name, values in latency.items()}
        results.row("gunicorn", f"{GUNICORN_WORKERS} gthread workers × {GUNICORN_THREADS} threads, "
                    f"{USERS} keep-alive clients, {ROUNDS} interleaved rounds of {SECONDS:.0f} s")
        for method in ("get", "post"):
            for who in ("wizard", "bare"):
                name = f"{who}_{method}"
                results.row(f"{who} {method.upper()} requests/s (median)", f"{med[name]:.0f}",
                            f"p50 latency {common.ms(p50[name])}; rounds "
                            + ", ".join(f"{v:.0f}" for v in rps[name]))
            # Each round measures the two back to back: the median of those paired ratios is what
            # a burst of load from a neighbour during one of them moves least.
            per_round = [w / b for w, b in zip(rps[f"wizard_{method}"], rps[f"bare_{method}"]) if b]
            results.row(f"{method.upper()}: ratio in each round", ", ".join(f"{v:.2f}" for v in per_round))
            results.ratio(f"{method.upper()}: wizard / bare FormView, requests/s (median of the "
                          "rounds' ratios)", statistics.median(per_round), 1.0, target=TARGET,
                          higher_is_better=True)
            results.ratio(f"{method.upper()}: the same as a ratio of the two medians",
                          med[f"wizard_{method}"], med[f"bare_{method}"])
            cpu_w = statistics.median(cpu[f"wizard_{method}"])
            cpu_b = statistics.median(cpu[f"bare_{method}"])
            results.row(f"{method.upper()}: gunicorn CPU per request, wizard / bare",
                        f"{common.ms(cpu_w)} / {common.ms(cpu_b)}")
            results.ratio(f"{method.upper()}: wizard / bare, by CPU per request (bare ÷ wizard; "
                          "robust to noisy neighbours)", cpu_b, cpu_w, target=TARGET,
                          higher_is_better=True)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()

    order, token = links[USERS]
    counts = in_process_counts(order, token)
    for name, figure in counts.items():
        results.row(f"{name}: SQL queries, session written", f"{figure['queries']}, "
                    f"{'yes' if figure['session_saved'] else 'no'}", f"HTTP {figure['status']}")
    results.block("SQL of one wizard GET", "\n".join(counts["wizard GET"]["sql"]))
    profile(order, token, results)
    results.save()


if __name__ == "__main__":
    main()
