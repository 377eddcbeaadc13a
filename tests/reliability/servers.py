"""Real servers the outage tests stop and start: a private redis-server and a tiny SMTP sink.

The SMTP sink is a few lines of socket code, no dependency: it speaks just enough SMTP for
Django's smtp backend (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), keeps every accepted message,
and can be told to refuse connections (nothing listens) or to reject mail with a 4xx reply."""
import os
import shutil
import signal
import socket
import socketserver
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager
from email import message_from_bytes, policy


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing answered on port {port} within {timeout}s")


class RedisServer:
    """A redis-server of our own on a free loopback port (never the suite's shared one)."""

    def __init__(self, port=None):
        self.binary = os.environ.get("TEST_REDIS_SERVER") or shutil.which("redis-server") \
            or "/usr/bin/redis-server"
        self.port = port or free_port()
        # Under TEST_REDIS_DIR when there is one: scripts/services.py kills leftovers there.
        self.dir = tempfile.mkdtemp(prefix="redis-", dir=os.environ.get("TEST_REDIS_DIR"))
        self.proc = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)
        return self

    def stop(self):
        """Gone: connections refused at once."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            self.proc.wait(10)

    def pause(self):
        """Hung: the kernel still accepts connections, Redis never answers (SIGSTOP)."""
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class _SmtpHandler(socketserver.StreamRequestHandler):
    timeout = 10

    def reply(self, text):
        self.wfile.write(text.encode() + b"\r\n")

    def handle(self):
        sink = self.server.sink
        self.reply("220 sink ESMTP")
        sender, recipients = None, []
        while True:
            line = self.rfile.readline()
            if not line:
                return
            verb = line.decode(errors="replace").strip().split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 sink")
            elif verb == "MAIL":
                if sink.reject_with:
                    self.reply(sink.reject_with)
                    continue
                sender, recipients = line, []
                self.reply("250 OK")
            elif verb == "RCPT":
                recipients.append(line)
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 go ahead")
                data = []
                while True:
                    chunk = self.rfile.readline()
                    if not chunk or chunk == b".\r\n":
                        break
                    data.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                sink.accept(b"".join(data))
                self.reply("250 queued")
            elif verb in ("RSET", "NOOP"):
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class SmtpSink:
    """Accepts mail on 127.0.0.1:port; `refuse()` stops listening, `reject()` answers 451."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.messages = []
        self.lock = threading.Lock()
        self.reject_with = None
        self._server = None

    def accept(self, raw):
        with self.lock:
            self.messages.append(message_from_bytes(raw, policy=policy.default))

    def start(self):
        self.reject_with = None
        self._server = _Server(("127.0.0.1", self.port), _SmtpHandler)
        self._server.sink = self
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def refuse(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def reject(self, reply="451 4.3.0 try again later"):
        self.reject_with = reply

    def subjects(self):
        with self.lock:
            return [m["Subject"] for m in self.messages]


@contextmanager
def celery_broker(url):
    """Point the Celery app (and its connection pools) at `url` for the duration."""
    from config.celery import app

    def reset_pools():
        # Drop the app's references only: kombu keeps one pool per broker URL for the whole
        # process, and closing it would break every later publish to that URL.
        app._pool = None
        app.amqp._producer_pool = None

    previous = app.conf.broker_url
    app.conf.broker_url = url
    reset_pools()
    try:
        yield app
    finally:
        app.conf.broker_url = previous
        reset_pools()
