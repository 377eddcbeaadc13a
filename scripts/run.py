#!/usr/bin/env python
"""`make run`: web server, Celery worker and beat in one terminal. Ctrl-C stops all three."""
import os
import signal
import subprocess
import sys
import time

BIN = os.path.dirname(sys.executable)
env = dict(os.environ)
env.setdefault("DEBUG", "true")
procs = {
    "web": [sys.executable, "manage.py", "runserver", "127.0.0.1:8000", "--noreload"],
    "worker": [f"{BIN}/celery", "-A", "config", "worker", "--loglevel=INFO", "--concurrency=2",
               "--without-gossip", "--without-mingle"],
    "beat": [f"{BIN}/celery", "-A", "config", "beat", "--loglevel=INFO"],
}
running = {name: subprocess.Popen(cmd, env=env) for name, cmd in procs.items()}
print("\n  Webex onboarding is running at http://127.0.0.1:8000  (admin: /admin/)"
      "\n  Web, Celery worker and beat started. Press Ctrl-C to stop them all.\n", flush=True)


def stop(*_):
    for proc in running.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in running.values():
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    sys.exit(0)


signal.signal(signal.SIGINT, stop)
signal.signal(signal.SIGTERM, stop)
while True:
    for name, proc in running.items():
        if proc.poll() is not None:
            print(f"*** {name} exited with code {proc.returncode}; stopping the others.", flush=True)
            stop()
    time.sleep(1)
