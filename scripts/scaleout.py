#!/usr/bin/env python3
"""Scale-out check: the product as it runs on several machines, all on loopback.

Two web processes (gunicorn), two Celery workers and two beat processes, against one
PostgreSQL and one Redis. tests/reliability/test_scaleout.py drives it (part of `make test`):
1,000 due orders must each get exactly one deployment email (counted at a local SMTP sink, by
recipient), and a setup wizard begun on one web process must finish on the other.

    make scaleout     # that test alone, on throwaway PostgreSQL and Redis

Stack() below starts and stops the processes; only the standard library is used here. Every
process runs in its own session so that stop() ends it and its children, and no other."""
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Beat's intervals (minutes in production) shortened for the check: tests/reliability/scaleout_celery.py
CELERY_APP = "tests.reliability.scaleout_celery"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    def __init__(self, env, workdir, webs=2, workers=2, beats=2):
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.workdir = Path(workdir)
        self.counts = {"web": webs, "worker": workers, "beat": beats}
        self.procs = []  # (name, Popen, log path)
        self.web_urls = []

    def _spawn(self, name, args):
        log = self.workdir / f"{name}.log"
        proc = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log.open("wb"),
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append((name, proc, log))
        return proc

    def start(self):
        for n in range(1, self.counts["web"] + 1):
            port = free_port()
            self._spawn(f"web{n}", [str(BIN / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{port}",
                                    "-w", "1", "--timeout", "60", "--graceful-timeout", "5"])
            self.web_urls.append(f"http://127.0.0.1:{port}")
        for n in range(1, self.counts["worker"] + 1):
            self._spawn(f"worker{n}", [str(BIN / "celery"), "-A", CELERY_APP, "worker", "-c", "1",
                                       "-n", f"worker{n}@%h", "--without-gossip", "--without-mingle",
                                       "-l", "INFO"])
        for n in range(1, self.counts["beat"] + 1):
            self._spawn(f"beat{n}", [str(BIN / "celery"), "-A", CELERY_APP, "beat", "-l", "INFO",
                                     "-s", str(self.workdir / f"beat{n}-schedule"),
                                     "--pidfile", str(self.workdir / f"beat{n}.pid")])
        return self

    def wait_for_webs(self, timeout=90):
        deadline = time.monotonic() + timeout
        for url in self.web_urls:
            while True:
                self.check_alive()
                try:
                    with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{url} not healthy within {timeout}s\n{self.logs()}")
                time.sleep(0.3)

    def check_alive(self):
        dead = [(name, proc.returncode) for name, proc, _ in self.procs if proc.poll() is not None]
        if dead:
            raise RuntimeError(f"processes exited: {dead}\n{self.logs()}")

    def log_of(self, name):
        return next(log for n, _, log in self.procs if n == name).read_text(errors="replace")

    def logs(self, tail=2000):
        return "\n".join(f"--- {name}\n{log.read_text(errors='replace')[-tail:]}"
                         for name, _, log in self.procs if log.exists())

    def stop(self):
        for _, proc, _ in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for _, proc, _ in self.procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


if __name__ == "__main__":
    # `make scaleout`: the check is the pytest test, on throwaway servers.
    sys.exit(subprocess.call([sys.executable, str(ROOT / "scripts" / "services.py"), "--",
                              sys.executable, "-m", "pytest", "-q",
                              "tests/reliability/test_scaleout.py", *sys.argv[1:]], cwd=ROOT))
