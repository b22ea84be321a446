"""A webhook receiver for the tests and the benchmark: a small HTTP server that checks every
request's Standard Webhooks signature (the standardwebhooks package) and applies each
webhook-id once, as a careful receiver does. Every request is a line in the record file:
`<webhook-id> applied|repeat|bad|refused`. It can fail on purpose (POST /_control):

  {"mode": "ok"}       apply and answer 204
  {"mode": "500"}      answer 500 without applying
  {"mode": "429", "retry_after": 2}   answer 429 with Retry-After
  {"mode": "410"}      answer 410 Gone
  {"mode": "drop"}     apply, then close the connection without answering (outcome unknown)
  {"secret": "whsec_…"}   the secret to verify with (also --secret)

Run: python -m stack.receiver --port P --record FILE [--secret whsec_…]."""
import argparse
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook


class Receiver(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, port: int, record_path: str, secret: str = ""):
        self.secret = secret
        self.mode = {"mode": "ok"}
        self.applied: set[str] = set()
        self.lock = threading.Lock()
        self.record = open(record_path, "a", buffering=1)
        super().__init__(("127.0.0.1", port), Handler)

    def note(self, webhook_id: str, what: str) -> None:
        self.record.write(f"{webhook_id} {what}\n")


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
            body = json.dumps({"applied": len(self.server.applied), "mode": self.server.mode}).encode()
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
            Webhook(self.server.secret).verify(body, dict(self.headers))
        except Exception as error:  # a bad signature, header or secret: never applied
            self.server.note(webhook_id, "bad")
            return self._answer(401, str(error).encode())
        mode = self.server.mode
        if mode["mode"] in ("500", "429", "410"):
            self.server.note(webhook_id, "refused")
            headers = {"Retry-After": str(mode.get("retry_after", 1))} if mode["mode"] == "429" else {}
            return self._answer(int(mode["mode"]), b"no", headers)
        with self.server.lock:  # apply once: a repeat of an id is acknowledged, not applied again
            repeat = webhook_id in self.server.applied
            self.server.applied.add(webhook_id)
            self.server.note(webhook_id, "repeat" if repeat else "applied")
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
