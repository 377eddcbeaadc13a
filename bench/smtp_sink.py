"""A local SMTP sink on loopback: accepts every message, counts it, keeps nothing.

    sink = SmtpSink(); sink.start(); … sink.port, sink.count … sink.stop()

Enough SMTP (RFC 5321 subset: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) for smtplib and
Django's SMTP backend; one thread per connection.
"""
import socketserver
import threading
import time


class _Handler(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        sink = self.server.sink
        self.reply("220 bench-sink ESMTP")
        while True:
            line = self.rfile.readline(65536)
            if not line:
                return
            verb = line[:4].upper()
            if verb == b"EHLO":
                self.wfile.write(b"250-bench-sink\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n")
            elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                self.reply("250 OK")
            elif verb == b"DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                size = 0
                while True:
                    data = self.rfile.readline(1 << 20)
                    if not data or data in (b".\r\n", b".\n"):
                        break
                    size += len(data)
                with sink.lock:
                    if sink.count == 0:
                        sink.first_at = time.perf_counter()
                    sink.count += 1
                    sink.bytes += size
                    sink.last_at = time.perf_counter()
                self.reply("250 OK queued")
            elif verb == b"QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Command not implemented")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class SmtpSink:
    def __init__(self, host="127.0.0.1", port=0):
        self.server = _Server((host, port), _Handler)
        self.server.sink = self
        self.host, self.port = self.server.server_address
        self.lock = threading.Lock()
        self.count = 0
        self.bytes = 0
        self.first_at = None
        self.last_at = None
        self.thread = None

    def start(self):
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def reset(self):
        with self.lock:
            self.count = 0
            self.bytes = 0
            self.first_at = None
            self.last_at = None


if __name__ == "__main__":
    import smtplib

    sink = SmtpSink().start()
    with smtplib.SMTP(sink.host, sink.port) as smtp:
        smtp.sendmail("a@example.com", ["b@example.com"], "Subject: hi\r\n\r\nbody\r\n")
    print("sink received", sink.count, "message(s)")
    sink.stop()
