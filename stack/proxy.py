"""An HTTP proxy in front of a server (gunicorn, a PDS) that can fail on purpose."""
import http.client
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .waiting import free_port


class FaultProxy:
    """Forwards HTTP to the server on target_port, or fails on purpose, by `mode`:
    "forward"; "503" (answers 503 itself); "refuse" (closes the connection unread); "drop"
    (forwards the request, lets the server act on it, and closes the connection instead of
    relaying the answer: the client cannot know the outcome). "drop" applies to the methods in
    `drop_methods` (POST: the writes), every `drop_every`-th of them; the others are forwarded."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.mode = "forward"
        self.drop_methods = {"POST"}
        self.drop_every = 1
        self.port = free_port()
        self.seen = {"forward": 0, "503": 0, "refuse": 0, "drop": 0}
        self.dropped = 0
        self._lock = threading.Lock()
        proxy = self

        def drops(method: str) -> bool:
            if method not in proxy.drop_methods:
                return False
            with proxy._lock:
                proxy.seen["drop"] += 1
                if proxy.seen["drop"] % proxy.drop_every:
                    return False
                proxy.dropped += 1
                return True

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _relay(self):
                mode = proxy.mode
                if mode != "drop":
                    proxy.seen[mode] += 1
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if mode == "refuse":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if mode == "503":
                    payload = b'{"detail": "unavailable"}'
                    self.send_response(503)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.target_port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                    data = response.read()
                except OSError:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                finally:
                    upstream.close()
                if mode == "drop" and drops(self.command):
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = _relay

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
