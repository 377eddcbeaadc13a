"""Partner pages under gunicorn against a textbook Django FormView, same process, same run.

    .venv/bin/python bench/bench_wizard.py

gunicorn serves the site with the production settings (DEBUG off, PostgreSQL, the sessions'
engine, manifest static files; SECURE_SSL_REDIRECT=false since the bench speaks plain HTTP on
loopback; CONN_MAX_AGE=60 as a production deployment sets it) through bench/wsgi.py, with
BENCH_VIEWS=1 mounting bench/views.py's two baselines:

- the textbook floor, /bench/textbook/: one small form, its own small template, Django's stock
  middleware list only, the same session engine (a GET reads the session, a POST writes it);
- the bare view, /bench/role/: the wizard's first form with the wizard's template, layout and
  access check but no formtools, so wizard ÷ bare isolates formtools.

Each virtual user has its own session: a setup link opened (the wizard's role step; another
user past it, on the installer step), a walked wizard whose done page is its own, a signed-in
partner on a set-up order's service setup, the rep's dashboard. In each round every page is
measured in a slot right beside one of the floor (GET beside its GET, POST beside its POST; floor
first, then page first, alternating); the throughput ratio is the median of these pairs, and the
CPU per request is reported beside it, gunicorn's workers' and the whole machine's (workers,
PostgreSQL, Redis and the load generator: the machine is saturated, so this is what requests/s
follow, and a neighbour's burst on a shared host does not count in it). Target (issue 15): every
partner page at ≥ 0.6× the floor. Queries and in-process time per page are measured through
Django's test client (the floor through the same stock middleware); pyinstrument profiles the
partner pages when installed.
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
ROUNDS = 8
SECONDS = 1.5
MAX_REQUESTS = 4000
GUNICORN_WORKERS = 2
GUNICORN_THREADS = 2
TARGET = 0.6  # of the textbook floor, every partner page
SECRET_KEY = secrets.token_urlsafe(40)  # shared with gunicorn: sessions made here open there


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def production_env(port):
    return dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings_production",
                SECRET_KEY=SECRET_KEY, ALLOWED_HOSTS="127.0.0.1,localhost",
                SITE_URL=f"http://127.0.0.1:{port}", SECURE_SSL_REDIRECT="false",
                CONN_MAX_AGE="60", BENCH_VIEWS="1", LOG_LEVEL="WARNING", DEBUG="false")


def start_gunicorn(port, log_path):
    env = production_env(port)
    subprocess.run([common.PYTHON, "manage.py", "collectstatic", "--noinput", "-v0"],
                   cwd=common.ROOT, env=env, check=True)
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [str(Path(common.PYTHON).parent / "gunicorn"), "bench.wsgi:application", "-b", f"127.0.0.1:{port}",
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
    """n orders that can be set up (scheduled, window open, no partner organisation yet, each
    with its own partner): a fresh deployment link each."""
    from django.utils import timezone

    from onboarding import selectors
    from provisioning import links
    from provisioning.models import Provisioning, SetupLink

    rows = (Provisioning.objects.select_related("order")
            .filter(status="scheduled", set_up_at__isnull=True, window_closes_at__gt=timezone.now(),
                    email_due_at__gt=timezone.now())
            .order_by("order_id")[:n * 20])
    chosen, partners = [], set()
    for p in rows:
        order = p.order
        if order.partner_external_id in partners or selectors.partner_org_for(order) is not None:
            continue
        partners.add(order.partner_external_id)
        chosen.append((order, links.issue_link(order, order.deployment_contact_email,
                                               SetupLink.Purpose.DEPLOYMENT)))
        if len(chosen) == n:
            break
    return chosen


def walk_to_done(order, token):
    """The wizard walked through Confirm in-process (the installer is the link's recipient, so
    no code is needed). Returns the confirming browser's session key and the installer."""
    from django.test import Client as DjangoClient
    from django.test.utils import setup_test_environment, teardown_test_environment

    from orgs.models import User
    from tests.wizard_helpers import open_link, walk

    client = DjangoClient()
    open_link(client, order, raw=token)
    setup_test_environment()  # the helpers read the step from the response's context
    try:
        response = walk(client, order, {
            "installer": {"choice": "self", "name": "Bench Installer",
                          "email": order.deployment_contact_email},
            "customer_admin": {"email": f"admin-{order.pk}@customer.bench.example"}})
    finally:
        teardown_test_environment()
    assert response.status_code == 302 and response["Location"].endswith("/done/"), response
    installer = User.objects.get(email=order.deployment_contact_email.lower())
    return client.cookies["sessionid"].value, installer


def signed_in_session(user):
    from django.test import Client as DjangoClient

    client = DjangoClient()
    client.force_login(user)
    return client.cookies["sessionid"].value


def service_step_of(order):
    """The service setup step after the subscription (reviewed here, so that it is reachable)."""
    from provisioning import webex_setup

    order = webex_setup.load_order(pk=order.pk)
    webex_setup.mark_subscription_reviewed(order)
    return webex_setup.steps_for(order)[1]


CALLING_POST = {"country": "FR", "time_zone": "Europe/Paris", "location_name": "Lyon",
                "main_number": "+33478000000"}


class User:
    """One virtual user: its own connection and sessions, one per kind of page."""

    def __init__(self, port, order, token, second_order, second_token, rep_session):
        self.port = port
        self.order, self.token = order, token
        self.prefix = f"setup_{order.pk}"
        self.url = f"/setup/orders/{order.number}/"
        self.client = Client("127.0.0.1", port)          # the wizard's role step
        self.installer_client = Client("127.0.0.1", port)  # the wizard's installer step
        self.installer_url = f"/setup/orders/{second_order.number}/"
        self.second_order, self.second_token = second_order, second_token
        self.textbook = Client("127.0.0.1", port)
        self.done_client = Client("127.0.0.1", port)
        self.service_client = Client("127.0.0.1", port)
        self.rep_client = Client("127.0.0.1", port)
        self.rep_client.cookies["sessionid"] = rep_session
        self.csrf = self.textbook_csrf = self.service_csrf = None

    def open_link(self):
        status, _, _ = self.client.get(f"/setup/{self.token}/")
        assert status == 302, f"opening the link gave HTTP {status}"
        status, _, html = self.client.get(self.url)
        assert status == 200, f"the wizard's first step gave HTTP {status}"
        self.csrf = Client.csrf_token(html)

    def prepare(self, done_order, done_session, service_order, service_session, service_step):
        self.open_link()
        installer = self.installer_client
        assert installer.get(f"/setup/{self.second_token}/")[0] == 302
        csrf = Client.csrf_token(installer.get(self.installer_url)[2])
        status, _, html = installer.post(self.installer_url, {
            "csrfmiddlewaretoken": csrf, f"setup_{self.second_order.pk}-current_step": "role",
            "role-role": "partner"})
        assert status == 200 and b'name="installer-' in html, "the role step did not lead on"
        self.done_url = f"/setup/orders/{done_order.number}/done/"
        self.done_client.cookies["sessionid"] = done_session
        self.service_url = f"/orders/{service_order.number}/services/{service_step}/"
        self.service_client.cookies["sessionid"] = service_session
        status, _, html = self.service_client.get(self.service_url)
        assert status == 200, f"the service step gave HTTP {status}"
        self.service_csrf = Client.csrf_token(html)
        status, _, html = self.textbook.get("/bench/textbook/")
        assert status == 200, f"the textbook floor gave HTTP {status}"
        self.textbook_csrf = Client.csrf_token(html)
        # A session to read from now on, as the wizard's users have.
        assert self.textbook_post() == 200 and "sessionid" in self.textbook.cookies

    # GET
    def textbook_get(self):
        return self.textbook.get("/bench/textbook/")[0]

    def bare_get(self):
        return self.client.get("/bench/role/")[0]

    def wizard_get(self):
        return self.client.get(self.url)[0]

    def installer_get(self):
        return self.installer_client.get(self.installer_url)[0]

    def done_get(self):
        return self.done_client.get(self.done_url)[0]

    def service_get(self):
        return self.service_client.get(self.service_url)[0]

    def dashboard_get(self):
        return self.rep_client.get("/reps/stalled/")[0]

    def healthz_get(self):
        return self.textbook.get("/healthz")[0]

    # POST
    def textbook_post(self):
        return self.textbook.post("/bench/textbook/", {"csrfmiddlewaretoken": self.textbook_csrf,
                                                       "name": "Inès", "email": "ines@example.com"})[0]

    def bare_post(self):
        return self.client.post("/bench/role/", {"csrfmiddlewaretoken": self.csrf,
                                                 "role-role": "partner"})[0]

    def wizard_post(self):
        return self.client.post(self.url, {"csrfmiddlewaretoken": self.csrf,
                                           f"{self.prefix}-current_step": "role",
                                           "role-role": "partner"})[0]

    def service_post(self):
        return self.service_client.post(self.service_url, {
            "csrfmiddlewaretoken": self.service_csrf, **CALLING_POST})[0]


# (name, label, floor): each page is compared with the floor of its method.
GET_PAGES = [
    ("textbook_get", "textbook FormView GET (the floor)"),
    ("bare_get", "bare view GET (wizard layout, no formtools)"),
    ("wizard_get", "wizard GET, role step"),
    ("installer_get", "wizard GET, installer step"),
    ("done_get", "done page GET (password form)"),
    ("service_get", "service setup GET, calling step"),
    ("dashboard_get", "rep dashboard GET (a million orders)"),
    ("healthz_get", "/healthz GET"),
]
POST_PAGES = [
    ("textbook_post", "textbook FormView POST (the floor)"),
    ("bare_post", "bare view POST"),
    ("wizard_post", "wizard POST, role → installer"),
    ("service_post", "service setup POST, calling step (302 to the next)"),
]
PARTNER_PAGES = {"wizard_get", "installer_get", "done_get", "service_get", "wizard_post",
                 "service_post"}
EXPECT = {"service_post": (302,)}


def in_process(users_data, requests=60):
    """Queries and median time of each page through Django's test client, in this process (the
    floor through the stock middleware, as gunicorn serves it)."""
    from django.test import Client as DjangoClient

    from bench.wsgi import StockClientHandler

    order, token, done, service, rep_session = users_data
    figures = {}

    def client_with(session=None):
        client = DjangoClient()
        if session:
            client.cookies["sessionid"] = session
        return client

    wizard = client_with()
    wizard.get(f"/setup/{token}/")
    url = f"/setup/orders/{order.number}/"
    wizard_post = {f"setup_{order.pk}-current_step": "role", "role-role": "partner"}
    textbook = client_with()
    textbook.handler = StockClientHandler(enforce_csrf_checks=False)
    pages = [
        ("textbook_post", textbook, "post", "/bench/textbook/", {"name": "Inès", "email": "i@e.com"}),
        ("textbook_get", textbook, "get", "/bench/textbook/", None),  # with the session just made
        ("bare_get", wizard, "get", "/bench/role/", None),
        ("bare_post", wizard, "post", "/bench/role/", {"role-role": "partner"}),
        ("wizard_get", wizard, "get", url, None),
        # The POSTs leave the wizard on the installer step, which the next GET shows.
        ("wizard_post", wizard, "post", url, wizard_post),
        ("installer_get", wizard, "get", url, None),
        ("done_get", client_with(done[1]), "get", f"/setup/orders/{done[0].number}/done/", None),
        ("service_get", client_with(service[1]), "get", service[0], None),
        ("service_post", client_with(service[1]), "post", service[0], CALLING_POST),
        ("dashboard_get", client_with(rep_session), "get", "/reps/stalled/", None),
        ("healthz_get", client_with(), "get", "/healthz", None),
    ]
    for name, client, method, path, data in pages:
        call = getattr(client, method)
        args = (path, data) if data is not None else (path,)
        call(*args)  # warm
        with common.count_queries() as queries:
            response = call(*args)
        times = []
        for _ in range(requests if name != "dashboard_get" else 5):
            t0 = time.perf_counter()
            call(*args)
            times.append(time.perf_counter() - t0)
        figures[name] = {"status": response.status_code, "queries": len(queries),
                         "ms": statistics.median(times) * 1000, "sql": [sql for sql, _ in queries]}
    return figures


def profile(users_data, results, requests=200):
    try:
        from pyinstrument import Profiler
    except ImportError:
        results.note("pyinstrument is not installed: no profile "
                     "(.venv/bin/pip install pyinstrument)")
        return
    from django.test import Client as DjangoClient

    order, token, done, service, _rep = users_data
    url = f"/setup/orders/{order.number}/"
    wizard = DjangoClient()
    wizard.get(f"/setup/{token}/")
    done_client, service_client = DjangoClient(), DjangoClient()
    done_client.cookies["sessionid"] = done[1]
    service_client.cookies["sessionid"] = service[1]
    wizard_post = {f"setup_{order.pk}-current_step": "role", "role-role": "partner"}
    for name, client, method, path, data in (
            ("wizard GET, role step", wizard, "get", url, None),
            ("wizard POST, role → installer", wizard, "post", url, wizard_post),
            ("done page GET", done_client, "get", f"/setup/orders/{done[0].number}/done/", None),
            ("service setup GET, calling step", service_client, "get", service[0], None)):
        if name.startswith("wizard GET"):
            wizard.get(f"/setup/{token}/")
        call = getattr(client, method)
        args = (path, data) if data is not None else (path,)
        call(*args)
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(requests):
            call(*args)
        profiler.stop()
        text = profiler.output_text(unicode=False, color=False, show_all=False)
        lines = [line for line in text.splitlines() if line.strip()][:45]
        results.block(f"pyinstrument, {requests} × {name} in-process", "\n".join(lines))


def machine_cpu_seconds():
    """CPU time the whole machine has used so far (every process: the workers, PostgreSQL, Redis,
    the load generator; not idle, I/O wait or time stolen by the host). The machine is saturated
    during a measurement, so requests/s follow this per request."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def measure(proc, users, pages, results, rounds):
    """Each round measures every page right beside a slot of the floor (pages[0]): floor then
    page, or page then floor, alternating, so that a slower minute of a shared machine falls on
    both sides of a ratio. Returns {name: {"rps", "p50", "cpu", "machine": [...], "floor_rps":
    [the floor's slot beside each]}}."""
    figures = {name: {"rps": [], "p50": [], "cpu": [], "machine": [], "floor_rps": []}
               for name, _ in pages}
    floor = pages[0][0]

    def slot(name):
        cpu0, machine0 = worker_cpu_seconds(proc.pid), machine_cpu_seconds()
        r = run_load(users, getattr(User, name), seconds=SECONDS, max_requests=MAX_REQUESTS,
                     expect=EXPECT.get(name, (200,)))
        requests = max(r["requests"], 1)
        figures[name]["cpu"].append((worker_cpu_seconds(proc.pid) - cpu0) / requests)
        figures[name]["machine"].append((machine_cpu_seconds() - machine0) / requests)
        if r["errors"]:
            results.note(f"{name}: {r['errors']} errors, first: {r['first_error']}")
        figures[name]["rps"].append(r["rps"])
        figures[name]["p50"].append(r["p50"])
        return r["rps"]

    for round_no in range(rounds):
        names = [name for name, _ in pages[1:]]
        if round_no % 2:
            names.reverse()
        for name in names:
            if round_no % 2:
                page_rps = slot(name)
                floor_rps = slot(floor)
            else:
                floor_rps = slot(floor)
                page_rps = slot(name)
            figures[name]["floor_rps"].append(floor_rps)
            if name == "wizard_post":
                for user in users:
                    user.open_link()  # the role step again for the next GET
    return figures


def report(results, pages, figures, counts):
    floor_name, floor_label = pages[0]
    floor = figures[floor_name]
    floor_cpu = statistics.median(floor["cpu"])
    floor_machine = statistics.median(floor["machine"])
    results.row(f"{floor_label}: requests/s (median), CPU per request (workers; machine)",
                f"{statistics.median(floor['rps']):.0f}, {common.ms(floor_cpu)}; "
                f"{common.ms(floor_machine)}",
                f"p50 latency {common.ms(statistics.median(floor['p50']))}; "
                f"{counts[floor_name]['queries']} queries, {counts[floor_name]['ms']:.1f} ms "
                "in-process")
    for name, label in pages[1:]:
        fig = figures[name]
        per_round = [s / f for s, f in zip(fig["rps"], fig["floor_rps"]) if f]
        cpu, machine = statistics.median(fig["cpu"]), statistics.median(fig["machine"])
        ratio = statistics.median(per_round)
        target = ""
        if name in PARTNER_PAGES:
            target = f"; target ≥ {TARGET}: {'met' if ratio >= TARGET else 'NOT met'}"
        results.row(f"{label}: ÷ floor, requests/s (median of paired slots); by CPU per request "
                    "(workers; machine)",
                    f"{ratio:.2f}×; {floor_cpu / cpu:.2f}×; {floor_machine / machine:.2f}×"
                    if cpu and machine else f"{ratio:.2f}×",
                    f"{statistics.median(fig['rps']):.0f} req/s, CPU {common.ms(cpu)} "
                    f"(machine {common.ms(machine)}), "
                    f"p50 {common.ms(statistics.median(fig['p50']))}; "
                    f"{counts[name]['queries']} queries, {counts[name]['ms']:.1f} ms in-process; "
                    "slots " + ", ".join(f"{v:.2f}" for v in per_round) + target)


def main():
    os.environ["BENCH_VIEWS"] = "1"
    os.environ["SECRET_KEY"] = SECRET_KEY
    common.start()
    results = common.Results("wizard", "Partner pages under gunicorn vs a textbook FormView")
    try:
        import onboarding.wizard  # noqa: F401
    except ImportError:
        results.note("the wizard has not landed: nothing to measure")
        results.save()
        return
    from orgs.models import User as Person

    # Per virtual user: a link on the role step, one on the installer step, one walked to done;
    # and one more of each for the in-process figures.
    links = setup_links(3 * (USERS + 1))
    role_links, installer_links, done_links = (links[i::3] for i in range(3))
    walked = []
    for order, token in done_links:
        session, installer = walk_to_done(order, token)
        walked.append((order, session, signed_in_session(installer), service_step_of(order)))
    rep = Person.objects.filter(email__startswith="bench-rep").order_by("pk").first()
    rep_session = signed_in_session(rep)
    port = free_port()
    common.OUT_DIR.mkdir(parents=True, exist_ok=True)
    proc = start_gunicorn(port, common.OUT_DIR / "gunicorn.log")
    try:
        users = []
        for i in range(USERS):
            user = User(port, *role_links[i], *installer_links[i], rep_session)
            user.prepare(walked[i][0], walked[i][1], walked[i][0], walked[i][2], walked[i][3])
            users.append(user)
        for name, _ in GET_PAGES + POST_PAGES:
            status = getattr(User, name)(users[0])
            assert status in EXPECT.get(name, (200,)), f"{name} gave HTTP {status}"
        users[0].open_link()
        get_figures = measure(proc, users, GET_PAGES, results, ROUNDS)
        post_figures = measure(proc, users, POST_PAGES, results, ROUNDS)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()

    order, token = role_links[USERS]
    done_order, done_session, service_session, service_step = walked[USERS]
    service_url = f"/orders/{done_order.number}/services/{service_step}/"
    users_data = (order, token, (done_order, done_session), (service_url, service_session),
                  rep_session)
    counts = in_process(users_data)
    results.row("gunicorn", f"{GUNICORN_WORKERS} gthread workers × {GUNICORN_THREADS} threads, "
                f"{USERS} keep-alive clients, {ROUNDS} rounds; each page's {SECONDS} s slot beside "
                "one of the floor")
    report(results, GET_PAGES, get_figures, counts)
    report(results, POST_PAGES, post_figures, counts)
    for name in ("wizard_get", "wizard_post", "done_get", "service_get"):
        results.block(f"SQL of one {name.replace('_', ' ')}", "\n".join(counts[name]["sql"]))
    profile(users_data, results)
    results.save()


if __name__ == "__main__":
    main()
