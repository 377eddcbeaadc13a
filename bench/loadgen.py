"""A bounded HTTP load generator for loopback: threads, one keep-alive connection each.

Each virtual user is a `Client` (cookies, CSRF token, its own connection). `run_load` drives a
callable per user for at most `seconds` or `max_requests`, whichever comes first, and returns
requests/second and latency percentiles. Loopback only: it refuses any other host.
"""
import http.client
import re
import threading
import time
from urllib.parse import urlencode

CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


class Client:
    def __init__(self, host, port):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the load generator only talks to loopback")
        self.host, self.port = host, port
        self.conn = http.client.HTTPConnection(host, port, timeout=30)
        self.cookies = {}

    def _headers(self, extra=None):
        headers = {"Host": f"{self.host}:{self.port}", "Connection": "keep-alive",
                   "Accept-Language": "en"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers.update(extra or {})
        return headers

    def request(self, method, path, body=None, headers=None):
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=self._headers(headers))
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed an idle keep-alive connection: reconnect once.
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                if attempt == 2:
                    raise
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
        return response.status, response, data

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, fields, referer=None):
        body = urlencode(fields)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if referer:
            headers["Referer"] = referer
        return self.request("POST", path, body=body, headers=headers)

    @staticmethod
    def csrf_token(html):
        match = CSRF_INPUT.search(html)
        return match.group(1).decode() if match else None

    def close(self):
        self.conn.close()


def run_load(users, step, seconds=10.0, max_requests=5000, expect=(200,)):
    """Call `step(user)` (which makes ONE request and returns its status) in one thread per user,
    until `seconds` pass or `max_requests` are done. Returns rps and latency figures."""
    lock = threading.Lock()
    latencies, errors = [], []
    deadline = time.perf_counter() + seconds
    done = [0]

    def worker(user):
        while True:
            with lock:
                if done[0] >= max_requests:
                    return
                done[0] += 1
            if time.perf_counter() > deadline:
                return
            t0 = time.perf_counter()
            try:
                status = step(user)
            except Exception as exc:  # counted, not fatal: the figure says how many failed
                errors.append(repr(exc))
                continue
            elapsed = time.perf_counter() - t0
            with lock:
                latencies.append(elapsed)
                if status not in expect:
                    errors.append(f"HTTP {status}")

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else 0.0

    return {"requests": len(latencies), "seconds": wall, "rps": len(latencies) / wall if wall else 0,
            "p50": pct(0.50), "p95": pct(0.95), "errors": len(errors),
            "first_error": errors[0] if errors else None}
