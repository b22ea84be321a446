"""Requests to addresses people give us (webhooks, other networks), safe against SSRF: the host
is resolved here, every address it resolves to must be public (unless private ones are
allowed), and the connection goes to the address that was checked, so a DNS answer that
changes between the check and the connect (rebinding) cannot reach inside."""
import http.client
import ipaddress
import socket
import ssl
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

import urllib3
from urllib3.exceptions import LocationParseError
from urllib3.util.wait import wait_for_read

MAX_ANSWER_BYTES = 64 * 1024
# Connections are kept open per checked address (and host name, for TLS), so that a burst to
# one receiver does not pay a connection (and a TLS handshake) per request: {key: idle ones}.
MAX_POOLS = 256
POOL_CONNECTIONS = 32
_pools: OrderedDict = OrderedDict()
_pools_lock = threading.Lock()


class AddressRefused(Exception):
    """The URL is not one psched sends to (scheme, or an address that is not public)."""


class NotSent(Exception):
    """No connection was made: the receiver got nothing."""


class NoAnswer(Exception):
    """The request may have reached the receiver, but no answer came back (timeout, reset)."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict
    body: bytes  # at most MAX_ANSWER_BYTES


def address_problem(address: str) -> str:
    """Why an IP address is not a public one ("" when it is): loopback, private, link-local
    (which holds the cloud metadata address 169.254.169.254), shared, reserved, multicast."""
    ip = ipaddress.ip_address(address)
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address (cloud metadata lives there)"
    if ip.is_private:
        return "a private address"
    if ip.is_multicast or not ip.is_global:
        return "not a public address"
    return ""


# A pure function of its arguments, read at every send: kept for the URLs sent to lately.
@lru_cache(maxsize=1024)
def url_parts(url: str, *, allow_private: bool) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of an https URL (http too when allow_private);
    raises AddressRefused saying what is wrong."""
    try:
        parts = urllib3.util.parse_url(url)
    except LocationParseError:
        raise AddressRefused("This is not a URL.") from None
    allowed = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed:
        raise AddressRefused("Use an https:// URL.")
    if not parts.host:
        raise AddressRefused("The URL has no host.")
    if parts.auth:
        raise AddressRefused("Leave user names and passwords out of the URL.")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, parts.host.strip("[]"), port, parts.request_uri


def host_resolve(host: str, port: int, *, allow_private: bool) -> list[str]:
    """The host's addresses, all public (unless allow_private); raises AddressRefused if any is
    not, NotSent if the name does not resolve."""
    try:  # an address is its own answer: no resolver call
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        addresses = None
    if addresses is not None:
        problem = "" if allow_private else address_problem(addresses[0])
        if problem:
            raise AddressRefused(f"{host} is {problem}; psched sends only to public addresses.")
        return addresses
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise NotSent(f"{host} could not be resolved ({error})") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not allow_private:
        for address in addresses:
            problem = address_problem(address)
            if problem:
                raise AddressRefused(f"{host} resolves to {problem}; psched sends only to public addresses.")
    return addresses


def url_check(url: str, *, allow_private: bool) -> None:
    """For a form: the URL's shape and where its host resolves to now (checked again at each send)."""
    _, host, port, _ = url_parts(url, allow_private=allow_private)
    try:
        host_resolve(host, port, allow_private=allow_private)
    except NotSent as error:
        raise AddressRefused(f"{error}; check the host name.") from None


def post(url: str, *, body: bytes, headers: dict, allow_private: bool, connect_timeout: float, total_timeout: float) -> Answer:
    """POSTs body to url, connecting to the checked address. Raises AddressRefused, NotSent or
    NoAnswer; any HTTP status is an Answer (redirects are not followed).

    A plain http.client connection kept open per checked address (urllib3's pool and response
    layers cost about as much CPU per request as everything else of a delivery)."""
    scheme, host, port, path = url_parts(url, allow_private=allow_private)
    address = host_resolve(host, port, allow_private=allow_private)[0]
    default_port = 443 if scheme == "https" else 80
    headers = {**headers, "Host": host if port == default_port else f"{host}:{port}"}
    key = (scheme, address, port, host)
    connection = _connection_take(key)
    if connection is None:
        connection = _connection_new(scheme, address, port, host, timeout=connect_timeout)
        try:
            connection.connect()
        except (OSError, ValueError) as error:  # refused, unreachable, timed out, TLS (a bad certificate)
            connection.close()
            raise NotSent(f"could not connect to {host}:{port} ({error.__class__.__name__})") from None
    connection.sock.settimeout(total_timeout)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
    except (OSError, http.client.HTTPException) as error:
        connection.close()
        raise NoAnswer(f"no answer from {host}:{port} ({error.__class__.__name__})") from None
    try:
        answer = response.read(MAX_ANSWER_BYTES)
    except (OSError, http.client.HTTPException):
        answer = b""  # the status is what counts
    # Kept only when the answer was read to its end and the receiver keeps the connection.
    if response.isclosed() and not response.will_close:
        _connection_give_back(key, connection)
    else:
        connection.close()
    return Answer(status=response.status, headers=dict(response.getheaders()), body=answer)


class _CheckedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to the checked address; TLS verifies the certificate against the host name."""

    def __init__(self, address: str, port: int, *, host: str, timeout: float):
        super().__init__(address, port, timeout=timeout, context=_tls_context())
        self.server_hostname = host

    def connect(self):
        sock = socket.create_connection((self.host, self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self.sock = self._context.wrap_socket(sock, server_hostname=self.server_hostname)
        except BaseException:
            sock.close()
            raise


_tls = {}


def _tls_context() -> ssl.SSLContext:
    if "context" not in _tls:
        _tls["context"] = ssl.create_default_context()  # certificates and host names checked
    return _tls["context"]


def _connection_new(scheme: str, address: str, port: int, host: str, *, timeout: float) -> http.client.HTTPConnection:
    if scheme == "https":
        return _CheckedHTTPSConnection(address, port, host=host, timeout=timeout)
    return http.client.HTTPConnection(address, port, timeout=timeout)


def _connection_take(key) -> http.client.HTTPConnection | None:
    """A kept connection to this checked address that the receiver has not closed meanwhile
    (a closed one reads as ready: its end of file), or None."""
    while True:
        with _pools_lock:
            idle = _pools.get(key)
            if not idle:
                return None
            _pools.move_to_end(key)
            connection = idle.pop()
        try:
            dropped = wait_for_read(connection.sock, timeout=0)
        except OSError:
            dropped = True
        if not dropped:
            return connection
        connection.close()


def _connection_give_back(key, connection: http.client.HTTPConnection) -> None:
    """Keeps the connection for the next request to this address (a few hundred addresses at
    most, the least recently used closed first; POOL_CONNECTIONS kept for each)."""
    closing = []
    with _pools_lock:
        idle = _pools.setdefault(key, [])
        _pools.move_to_end(key)
        if len(idle) < POOL_CONNECTIONS:
            idle.append(connection)
        else:
            closing.append(connection)
        while len(_pools) > MAX_POOLS:
            _, oldest = _pools.popitem(last=False)
            closing.extend(oldest)
    for extra in closing:
        extra.close()
