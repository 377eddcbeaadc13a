import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def clean_environ():
    # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process; production never does.
    return {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}


def run_manage(*args, **env):
    full_env = dict(clean_environ(), **env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=120)


def test_production_settings_pass_check_deploy_without_warning():
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DJANGO_SETTINGS_MODULE="config.settings_production",
        SECRET_KEY="k" * 20 + "-Zq8!vR2#mN7$pL4^tX9&wB3*yH6(cJ1)",
        ALLOWED_HOSTS="onboarding.example", SITE_URL="https://onboarding.example",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {k: v for k, v in clean_environ().items() if k != "SECRET_KEY"}
    env.update(DJANGO_SETTINGS_MODULE="config.settings_production", ALLOWED_HOSTS="x.example")
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_a_malformed_setting_is_a_loud_error():
    result = run_manage("check", DEBUG="maybe-not")
    assert result.returncode != 0
    assert "DEBUG" in result.stderr or "maybe-not" in result.stderr


def test_every_model_change_has_its_migration():
    result = run_manage("makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, "a model changed without a migration:\n" + result.stdout


def test_the_make_run_demo_on_sqlite_prints_a_set_up_now_link_that_opens(tmp_path):
    """`make run`'s default: SQLite and no Redis. The demo order's email goes out and the link
    it prints opens the wizard (the suite itself runs on PostgreSQL, so this is its SQLite check)."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}", "REDIS_URL": "",
           "EMAIL_URL": "consolemail://", "DJANGO_SETTINGS_MODULE": "config.settings"}
    assert run_manage("migrate", "--noinput", "-v0", **env).returncode == 0
    demo = run_manage("load_demo", **env)
    assert demo.returncode == 0, demo.stderr
    token = re.search(r"Set up now:\s+\S+/setup/([\w-]+)/", demo.stdout).group(1)
    check = run_manage("shell", "-c", "from provisioning.links import check_link; "
                       f"print(check_link({token!r}).problem)", **env)
    assert check.stdout.strip().splitlines()[-1] == "None", check.stdout + check.stderr
    page = run_manage("shell", "-c", "from django.test import Client; "
                      f"r = Client(HTTP_HOST='127.0.0.1').get('/setup/{token}/', follow=True); "
                      "print(r.status_code, r.request['PATH_INFO'])", **env)
    status, path = page.stdout.strip().splitlines()[-1].split()
    assert (status, path.startswith("/setup/orders/CCW-DEMO-")) == ("200", True), page.stdout + page.stderr


DASHBOARD_ON_SQLITE = """
import datetime
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone
from orders.models import Order
from provisioning import jobs, lifecycle, selectors
order = Order.objects.get(number__startswith="CCW-DEMO-")
rep = order.account_rep
rep.is_staff = True
rep.save()
rep.groups.add(Group.objects.get_or_create(name=settings.REPS_GROUP)[0])
jobs.flag_stalled_provisioning(timezone.now() + datetime.timedelta(days=3))
lifecycle.mark_contacted(order, "Called the partner", actor=rep)
from provisioning.models import Event
Event.objects.create(order=order, kind=Event.Kind.STALLED, at=timezone.now() - datetime.timedelta(days=2))
Event.objects.create(order=order, kind=Event.Kind.SET_UP, at=timezone.now())
client = Client(HTTP_HOST="127.0.0.1")
client.force_login(rep)
page = client.get("/reps/stalled/")
export = b"".join(client.get("/reps/stalled/", {"format": "csv"}).streaming_content).decode()
row = selectors.stalled_orders(rep)[0:1][0]
chart = selectors.daily_chart(rep)
print(page.status_code, order.number in page.content.decode(), "Called the partner" in page.content.decode(),
      export.count(order.number), type(row.last_event_at).__name__, row.waiting_approval,
      [day["day"] for day in chart if day["stalled"]] == [timezone.localdate() - datetime.timedelta(days=2)],
      sum(day["set_up"] for day in chart), selectors.failing_emails(rep),
      len(selectors.failing_deployment_emails(rep, everyone=True)))
"""


def test_the_rep_dashboard_works_on_sqlite(tmp_path):
    """The dashboard's SQL written once per process, on make run's database: rows, count, export,
    chart and panels (their dates and flags converted as the ORM converts SQLite's text)."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}", "REDIS_URL": "",
           "EMAIL_URL": "consolemail://", "DJANGO_SETTINGS_MODULE": "config.settings"}
    assert run_manage("migrate", "--noinput", "-v0", **env).returncode == 0
    assert run_manage("load_demo", **env).returncode == 0
    result = run_manage("shell", "-c", DASHBOARD_ON_SQLITE, **env)
    assert result.stdout.strip().splitlines()[-1] == "200 True True 1 datetime False True 1 0 0", \
        result.stdout + result.stderr


def test_make_run_twice_in_a_row_on_sqlite_prints_a_link_that_opens_each_time(tmp_path):
    """`make run`, then `make run` again: a fresh link to the same demo order; once that order is
    set up, the next run loads a new demo order rather than printing no link."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}", "REDIS_URL": "",
           "EMAIL_URL": "consolemail://", "DJANGO_SETTINGS_MODULE": "config.settings"}
    assert run_manage("migrate", "--noinput", "-v0", **env).returncode == 0

    def make_run():
        demo = run_manage("load_demo", **env)
        assert demo.returncode == 0, demo.stderr
        assert "Another link: run `make run` again." in demo.stdout
        token = re.search(r"Set up now:\s+\S+/setup/([\w-]+)/", demo.stdout).group(1)
        page = run_manage("shell", "-c", "from django.test import Client; "
                          f"r = Client(HTTP_HOST='127.0.0.1').get('/setup/{token}/', follow=True); "
                          "print(r.status_code, r.request['PATH_INFO'])", **env)
        return demo.stdout, page.stdout.strip().splitlines()[-1]

    first, opened = make_run()
    number = re.search(r"Demo order (CCW-DEMO-\d+) loaded", first).group(1)
    assert opened == f"200 /setup/orders/{number}/"
    _again, opened = make_run()
    assert opened == f"200 /setup/orders/{number}/"
    # What the wizard's Confirm leaves behind, as far as the demo can tell.
    run_manage("shell", "-c", "from django.utils import timezone; "
               "from provisioning.models import Provisioning, Status; "
               "Provisioning.objects.update(set_up_at=timezone.now(), status=Status.SET_UP)", **env)
    after_set_up, opened = make_run()
    assert f"The previous demo order, {number}, is already set up" in after_set_up
    assert opened == f"200 /setup/orders/{number}-2/"


# --- EMAIL_URL=filemail: the folder the README names, from any directory ---------------------

SEND_ONE = ("from django.core.mail import send_mail; "
            "send_mail('Filed', 'Body', 'from@onboarding.example', ['to@partner.example'])")


@pytest.mark.parametrize("form", ["filemail://{folder}", "filemail:///{folder}"],
                         ids=["three slashes, as the README writes it", "django-environ's four"])
def test_filemail_writes_into_the_absolute_folder_named(tmp_path, form):
    folder = tmp_path / "mails"
    elsewhere = tmp_path / "started-here"
    elsewhere.mkdir()
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-c", SEND_ONE], cwd=elsewhere,
        env=dict(clean_environ(), EMAIL_URL=form.format(folder=folder)),
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    [written] = folder.iterdir()
    assert "Subject: Filed" in written.read_text()
    assert not any(elsewhere.iterdir()), "nothing written relative to where the process started"


def test_filemail_without_a_leading_slash_is_in_the_project_folder(tmp_path):
    name = f"test-mails-{tmp_path.name}"
    try:
        result = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "shell", "-c", SEND_ONE], cwd=tmp_path,
            env=dict(clean_environ(), EMAIL_URL=f"filemail://var/{name}"),
            capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert len(list((ROOT / "var" / name).iterdir())) == 1
        assert not any(tmp_path.iterdir())
    finally:
        shutil.rmtree(ROOT / "var" / name, ignore_errors=True)


# --- The public development SECRET_KEY never runs with DEBUG off ------------------------------

def _without_key(**env):
    base = {k: v for k, v in clean_environ().items()
            if k not in ("SECRET_KEY", "ALLOW_DEV_SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE")}
    return dict(base, ALLOWED_HOSTS="onboarding.example", **env)


def _start(code, env):
    """Python started as a production process would, e.g. `import config.wsgi` or Celery's app."""
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


PROCESSES = {
    "manage.py check": "import sys; from django.core.management import execute_from_command_line; "
                       "execute_from_command_line(['manage.py', 'check'])",
    "wsgi": "import config.wsgi",
    "celery": "from config.celery import app; app.loader.import_default_modules(); "
              "from django.conf import settings; settings.SECRET_KEY",
}


@pytest.mark.parametrize("module", ["config.settings", "config.settings_production"])
@pytest.mark.parametrize("key", ["unset", "the development key"])
def test_debug_off_refuses_to_start_without_a_real_secret_key(module, key):
    from config.settings import DEV_SECRET_KEY

    env = _without_key(DJANGO_SETTINGS_MODULE=module)
    if key != "unset":
        env["SECRET_KEY"] = DEV_SECRET_KEY
    result = _start(PROCESSES["manage.py check"], env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SECRET_KEY" in result.stderr


def test_wsgi_and_celery_fall_back_to_settings_that_refuse_the_development_key():
    env = _without_key()  # no DJANGO_SETTINGS_MODULE: config.settings, DEBUG off
    for process in ("wsgi", "celery"):
        result = _start(PROCESSES[process], env)
        assert result.returncode != 0 and "SECRET_KEY" in result.stderr, process


def test_production_refuses_the_development_key_even_when_allowed_elsewhere():
    from config.settings import DEV_SECRET_KEY

    result = _start(PROCESSES["manage.py check"], _without_key(
        DJANGO_SETTINGS_MODULE="config.settings_production", SECRET_KEY=DEV_SECRET_KEY,
        ALLOW_DEV_SECRET_KEY="1"))
    assert result.returncode != 0 and "development key" in result.stderr


@pytest.mark.parametrize("env", [{"DEBUG": "true"}, {"ALLOW_DEV_SECRET_KEY": "1"},
                                 {"SECRET_KEY": "a-real-and-long-random-key-" + "r" * 30}],
                         ids=["make run (DEBUG)", "the test suite", "a real key"])
def test_make_run_the_suite_and_a_real_key_start(env):
    result = _start(PROCESSES["manage.py check"], _without_key(DJANGO_SETTINGS_MODULE="config.settings",
                                                                 **env))
    assert result.returncode == 0, result.stderr
