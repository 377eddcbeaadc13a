#!/usr/bin/env python3
"""Start throwaway PostgreSQL and Redis servers, run a command against them, stop them.

    python scripts/services.py -- pytest -q

Exports DATABASE_URL and REDIS_URL to the command, plus TEST_PG_* and TEST_REDIS_*
so outage tests can stop and restart the real servers, and ALLOW_DEV_SECRET_KEY=1 (the
suite runs with DEBUG off on the public development key, which nothing else may). Works as root (PostgreSQL is
run as the `postgres` user, since initdb refuses root) and as an ordinary user.
Only the standard library is used: this runs before the virtualenv exists.
"""
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

FIX = (
    "Install them with: sudo apt-get install -y postgresql redis-server "
    "(or run `make deps` as root)."
)


def die(message):
    print(f"\n*** services.py: {message}\n*** {FIX}\n", file=sys.stderr)
    sys.exit(2)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bindir():
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0,
    )
    for path in reversed(candidates):
        if os.path.exists(os.path.join(path, "initdb")):
            return path
    initdb = shutil.which("initdb")
    if initdb:
        return os.path.dirname(initdb)
    die("PostgreSQL server binaries (initdb, pg_ctl) were not found.")


def as_pg_user():
    """Command prefix that runs PostgreSQL's tools as a non-root user."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


def wait_for_port(port, what, proc=None, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            die(f"{what} exited at start (code {proc.returncode}).")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    die(f"{what} did not answer on port {port} within {timeout}s.")


class Services:
    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="webex-onb-services-")
        os.chmod(self.root, 0o755)
        self.env = {}
        self.redis_proc = None
        self.pg_data = None

    def start_postgres(self):
        bindir = pg_bindir()
        prefix = as_pg_user()
        data = os.path.join(self.root, "pg")
        os.mkdir(data)
        if prefix:
            shutil.chown(data, "postgres", "postgres")
        port = free_port()
        subprocess.run(
            prefix + [f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "postgres",
                      "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
            check=True, stdout=subprocess.DEVNULL,
        )
        opts = (f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        subprocess.run(
            prefix + [f"{bindir}/pg_ctl", "-D", data, "-o", opts, "-l", f"{data}/log",
                      "-w", "start"],
            check=True, stdout=subprocess.DEVNULL,
        )
        self.pg_data = (prefix, bindir, data)
        self.env.update({
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{port}/postgres",
            "TEST_PG_CTL": " ".join(prefix + [f"{bindir}/pg_ctl", "-D", data, "-o", f"'{opts}'",
                                              "-l", f"{data}/log", "-w"]),
            "TEST_PG_PORT": str(port),
        })

    def start_redis(self):
        server = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not os.path.exists(server):
            die("redis-server was not found.")
        port = free_port()
        args = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", self.root]
        self.redis_proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        wait_for_port(port, "redis-server", self.redis_proc)
        self.env.update({
            "REDIS_URL": f"redis://127.0.0.1:{port}/0",
            "TEST_REDIS_PORT": str(port),
            "TEST_REDIS_SERVER": server,
            "TEST_REDIS_DIR": self.root,
        })

    def stop(self):
        if self.redis_proc and self.redis_proc.poll() is None:
            self.redis_proc.terminate()
            self.redis_proc.wait(10)
        if self.pg_data:
            prefix, bindir, data = self.pg_data
            subprocess.run(prefix + [f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Redis tests may have started their own servers in this folder.
        subprocess.run(["pkill", "-f", f"--dir {self.root}"], stderr=subprocess.DEVNULL)
        shutil.rmtree(self.root, ignore_errors=True)


def main(argv):
    if "--" not in argv:
        print(__doc__)
        return 2
    command = argv[argv.index("--") + 1:]
    services = Services()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        services.start_postgres()
        services.start_redis()
        env = dict(os.environ, **services.env)
        env.setdefault("ALLOW_DEV_SECRET_KEY", "1")
        print(f"services: PostgreSQL {env['DATABASE_URL']}  Redis {env['REDIS_URL']}", flush=True)
        return subprocess.call(command, env=env)
    finally:
        services.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
