"""A webhook receiver for the tests and the benchmark: a small HTTP server that checks every
request's Standard Webhooks signature (the standardwebhooks package) and applies each
webhook-id once, as a careful receiver does (the ids it applied survive its restart: it reads
them back from its record). Every request is a line in the record file:
`<webhook-id> <post id or -> applied|repeat|bad|refused`. It can fail on purpose (POST /_control):

  {"mode": "ok"}       apply and answer 204
  {"mode": "500"}      answer 500 without applying
  {"mode": "429", "retry_after": 2}   answer 429 with Retry-After
  {"mode": "410"}      answer 410 Gone
  {"mode": "drop"}     apply, then close the connection without answering (outcome unknown)
  {"mode": "slow", "seconds": 2}   wait, then apply and answer 204
  {"secret": "whsec_…"}   the secret to verify with (also --secret)

Run: python -m stack.receiver --port P --record FILE [--secret whsec_…]."""
import argparse
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook


class Receiver(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, port: int, record_path: str, secret: str = ""):
        self.secret = secret
        self.mode = {"mode": "ok"}
        self.applied: set[str] = set()
        try:
            with open(record_path) as record:
                self.applied = {line.split()[0] for line in record if line.rstrip().endswith(" applied")}
        except FileNotFoundError:
            pass
        self.lock = threading.Lock()
        self.in_flight = 0  # requests being handled in slow mode
        self.record = open(record_path, "a", buffering=1)
        super().__init__(("127.0.0.1", port), Handler)

    def note(self, webhook_id: str, what: str, post="-") -> None:
        self.record.write(f"{webhook_id} {post} {what}\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Receiver

    def log_message(self, *args):
        pass

    def _answer(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with self.server.lock:
            body = json.dumps({
                "applied": len(self.server.applied), "mode": self.server.mode, "in_flight": self.server.in_flight,
            }).encode()
        self._answer(200, body, {"Content-Type": "application/json"})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/_control":
            change = json.loads(body)
            with self.server.lock:
                if "secret" in change:
                    self.server.secret = change.pop("secret")
                if change:
                    self.server.mode = change
            return self._answer(204)
        webhook_id = self.headers.get("webhook-id") or "-"
        try:
            event = Webhook(self.server.secret).verify(body, dict(self.headers))
        except Exception as error:  # a bad signature, header or secret: never applied
            self.server.note(webhook_id, "bad")
            return self._answer(401, str(error).encode())
        post = event.get("data", {}).get("post", "-")
        mode = self.server.mode
        if mode["mode"] == "slow":
            with self.server.lock:
                self.server.in_flight += 1
            time.sleep(float(mode.get("seconds", 2)))
            with self.server.lock:
                self.server.in_flight -= 1
        if mode["mode"] in ("500", "429", "410"):
            self.server.note(webhook_id, "refused", post)
            headers = {"Retry-After": str(mode.get("retry_after", 1))} if mode["mode"] == "429" else {}
            return self._answer(int(mode["mode"]), b"no", headers)
        with self.server.lock:  # apply once: a repeat of an id is acknowledged, not applied again
            repeat = webhook_id in self.server.applied
            self.server.applied.add(webhook_id)
            self.server.note(webhook_id, "repeat" if repeat else "applied", post)
        if mode["mode"] == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._answer(204)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--record", required=True)
    parser.add_argument("--secret", default="")
    args = parser.parse_args()
    server = Receiver(args.port, args.record, args.secret)
    print(f"receiver on 127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()


class ReceiverProcess:
    """The receiver as a process of a Stack (started, killed and restarted like the others),
    its record in the stack's logs folder."""

    def __init__(self, stack, secret: str = ""):
        from .waiting import free_port

        self.stack = stack
        self.port = free_port()
        self.secret = secret
        self.record = stack.logs / "receiver.record"
        self.url = f"http://127.0.0.1:{self.port}/hook"

    def start(self):
        import sys

        from .waiting import port_open, wait_for

        self.stack.spawn("receiver", [
            sys.executable, "-m", "stack.receiver", "--port", str(self.port), "--record", str(self.record),
            "--secret", self.secret,
        ])
        wait_for(lambda: port_open(self.port), 60, what="webhook receiver")
        return self

    def kill(self):
        import signal

        self.stack.kill("receiver", signal.SIGKILL)

    def control(self, **change):
        import urllib.request

        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/_control", data=json.dumps(change).encode(), method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10):
            pass

    def state(self) -> dict:
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=10) as response:
            return json.loads(response.read())

    def lines(self) -> list[tuple[str, str, str]]:
        """(webhook-id, post id, what) for every request received so far."""
        if not self.record.exists():
            return []
        return [tuple(line.split()) for line in self.record.read_text().splitlines() if line.strip()]
