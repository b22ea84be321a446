"""A TCP balancer in front of several web servers, as a load balancer would stand in front of
gunicorn on two machines: each new connection goes to the next backend that accepts it, so
one web server down costs its connections in flight, and the next ones go to the other."""
import itertools
import socket
import threading

from .waiting import free_port


class Balancer:
    def __init__(self, backends: list[tuple[str, int]], *, bind: str = "0.0.0.0", port: int | None = None):
        self.backends = backends
        self.port = port or free_port()
        self._next = itertools.cycle(range(len(backends)))
        self._lock = threading.Lock()
        self._listener = socket.create_server((bind, self.port), reuse_port=False, backlog=256)
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _connect(self) -> socket.socket | None:
        with self._lock:
            first = next(self._next)
        for step in range(len(self.backends)):
            address = self.backends[(first + step) % len(self.backends)]
            try:
                return socket.create_connection(address, timeout=3)
            except OSError:
                continue
        return None

    def _serve(self, client: socket.socket):
        upstream = self._connect()
        if upstream is None:
            client.close()  # no web server up: the caller sees its connection closed
            return
        upstream.settimeout(None)
        threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
        _pipe(client, upstream)

    def close(self):
        self._closed = True
        self._listener.close()


def _pipe(source: socket.socket, target: socket.socket):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            target.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, target):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
