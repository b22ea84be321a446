"""Requests to addresses people give us (webhooks, other networks), safe against SSRF: the host
is resolved here, every address it resolves to must be public (unless private ones are
allowed), and the connection goes to the address that was checked, so a DNS answer that
changes between the check and the connect (rebinding) cannot reach inside."""
import ipaddress
import socket
import threading
from collections import OrderedDict
from dataclasses import dataclass

import urllib3
from urllib3.exceptions import ConnectTimeoutError, LocationParseError, NewConnectionError, SSLError
from urllib3.exceptions import HTTPError as Urllib3Error

MAX_ANSWER_BYTES = 64 * 1024
# Connections are kept open per checked address (and host name, for TLS), so that a burst to
# one receiver does not pay a connection (and a TLS handshake) per request.
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
    NoAnswer; any HTTP status is an Answer (redirects are not followed)."""
    scheme, host, port, path = url_parts(url, allow_private=allow_private)
    address = host_resolve(host, port, allow_private=allow_private)[0]
    timeout = urllib3.Timeout(connect=connect_timeout, read=total_timeout, total=total_timeout)
    default_port = 443 if scheme == "https" else 80
    headers = {**headers, "Host": host if port == default_port else f"{host}:{port}"}
    pool = _pool(scheme, address, port, host)
    try:
        response = pool.urlopen(
            "POST", path, body=body, headers=headers, redirect=False, retries=False, preload_content=False,
            assert_same_host=False, timeout=timeout,
        )
    except (NewConnectionError, ConnectTimeoutError, SSLError) as error:
        raise NotSent(f"could not connect to {host}:{port} ({error.__class__.__name__})") from None
    except Urllib3Error as error:
        raise NoAnswer(f"no answer from {host}:{port} ({error.__class__.__name__})") from None
    complete = False
    try:
        answer = response.read(MAX_ANSWER_BYTES)
        complete = len(answer) < MAX_ANSWER_BYTES  # read() stops short only at the body's end
    except Urllib3Error:
        answer = b""  # the status is what counts
    if not complete:
        response.close()  # the rest is not read: this connection is not used again
    response.release_conn()
    return Answer(status=response.status, headers=dict(response.headers), body=answer)


def _pool(scheme: str, address: str, port: int, host: str):
    """The kept connections to this checked address (a few hundred pools at most, the least
    recently used closed first)."""
    key = (scheme, address, port, host)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is not None:
            _pools.move_to_end(key)
            return pool
        if scheme == "https":
            pool = urllib3.HTTPSConnectionPool(
                address, port, retries=False, maxsize=POOL_CONNECTIONS, server_hostname=host, assert_hostname=host,
                cert_reqs="CERT_REQUIRED",
            )
        else:
            pool = urllib3.HTTPConnectionPool(address, port, retries=False, maxsize=POOL_CONNECTIONS)
        _pools[key] = pool
        while len(_pools) > MAX_POOLS:
            _, oldest = _pools.popitem(last=False)
            oldest.close()
        return pool
