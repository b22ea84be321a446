"""A TCP proxy in front of MariaDB that can lose the answer to a COMMIT on purpose: the COMMIT
reaches the server and is applied, and the client sees its connection drop before the
answer, as when a network or a database failover breaks the connection at that moment. The
client cannot know whether its transaction committed.

It reads the client's side of the MySQL protocol (packets: a 3-byte length, a sequence
byte, then the payload; a query is command 0x03 followed by its text) and passes the rest
through untouched. No TLS, no compression: the test servers use neither."""
import socket
import threading

from .waiting import free_port

COM_QUERY = 0x03


class SqlProxy:
    def __init__(self, target_port: int, *, target_host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self.port = free_port()
        self.pattern: bytes | None = None
        self.dropped = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", self.port), backlog=128)
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def lose_commit_answer_after(self, pattern: bytes):
        """Once: on the first connection that sends a query containing `pattern`, the answer to
        its next COMMIT is lost (the connection is closed instead)."""
        with self._lock:
            self.pattern = pattern

    def _accept(self):
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            connection = _Connection(self, client, server)
            threading.Thread(target=connection.client_to_server, daemon=True).start()
            threading.Thread(target=connection.server_to_client, daemon=True).start()

    def _take(self, query: bytes) -> bool:
        """Whether this query primes its connection (and disarms the proxy)."""
        with self._lock:
            if self.pattern is not None and self.pattern in query:
                self.pattern = None
                return True
            return False

    def close(self):
        self._closed = True
        self._listener.close()


class _Connection:
    def __init__(self, proxy: SqlProxy, client: socket.socket, server: socket.socket):
        self.proxy, self.client, self.server = proxy, client, server
        self.primed = False  # the next COMMIT's answer is to be lost
        self.lose_answer = threading.Event()

    def client_to_server(self):
        buffer = b""
        try:
            while True:
                data = self.client.recv(65536)
                if not data:
                    break
                buffer += data
                # Whole packets only, so that a query is seen in one piece.
                while len(buffer) >= 4:
                    length = int.from_bytes(buffer[:3], "little")
                    if len(buffer) < 4 + length:
                        break
                    packet, buffer = buffer[:4 + length], buffer[4 + length:]
                    payload = packet[4:]
                    if payload[:1] == bytes([COM_QUERY]):
                        query = payload[1:]
                        if not self.primed and self.proxy._take(query):
                            self.primed = True
                        elif self.primed and query.strip().upper() == b"COMMIT":
                            self.lose_answer.set()
                    self.server.sendall(packet)
        except OSError:
            pass
        self._close()

    def server_to_client(self):
        try:
            while True:
                data = self.server.recv(65536)
                if not data:
                    break
                if self.lose_answer.is_set():
                    with self.proxy._lock:
                        self.proxy.dropped += 1
                    break  # the COMMIT was applied; its answer goes nowhere
                self.client.sendall(data)
        except OSError:
            pass
        self._close()

    def _close(self):
        for sock in (self.client, self.server):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
