"""Push endpoints are addresses on the public Internet, never a way into this network (SSRF).

One place decides it, twice: when a browser registers an endpoint (`check_endpoint`: https, a
host that is not a local name and not a literal non-public address) and when the worker sends
to it (`PinnedAdapter`: every address the name resolves to is checked again, the connection
goes to the checked address — so a DNS answer cannot change between check and use — and
redirects are never followed).

`allow_insecure` (setting PUSH_ALLOW_INSECURE_ENDPOINTS, APP_ENV=testing only) lets the
project's own tests use http:// and loopback receivers.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.utils import DEFAULT_CA_BUNDLE_PATH
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util import Timeout

MSG_NOT_HTTPS = "Debe ser una URL https válida"
MSG_NOT_PUBLIC = "Debe ser la URL de un servicio push en una dirección pública"

LOCAL_NAMES = ("localhost", "localdomain")
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".lan")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class EndpointRefused(ValueError):
    """The endpoint is not an https URL of a public address; the message says which."""


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, Teredo, NAT64), if any."""
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: Address) -> bool:
    """Routable on the public Internet: not loopback, private, link-local, multicast,
    unspecified, reserved, shared (CGNAT) or documentation space, in IPv4 or IPv6."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public(embedded)
    return address.is_global and not (
        address.is_multicast
        or address.is_reserved
        or address.is_link_local
        or address.is_loopback
        or address.is_unspecified
        or address.is_private
    )


def _allowed(address: Address, allow_insecure: bool) -> bool:
    return is_public(address) or (allow_insecure and address.is_loopback)


def _literal_address(host: str) -> Address | None:
    """The address a host names literally: dotted, IPv6, or the short/decimal/hex IPv4 forms
    (127.1, 2130706433, 0x7f.0.0.1) that resolvers also accept."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def check_endpoint(url: str, *, allow_insecure: bool = False) -> None:
    """Raise EndpointRefused unless `url` may be registered as a push endpoint."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError as exc:
        raise EndpointRefused(MSG_NOT_HTTPS) from exc
    schemes = {"https", "http"} if allow_insecure else {"https"}
    if parts.scheme not in schemes or not host or parts.username or parts.password:
        raise EndpointRefused(MSG_NOT_HTTPS)
    host = host.rstrip(".").lower()
    literal = _literal_address(host)
    if literal is not None:
        if not _allowed(literal, allow_insecure):
            raise EndpointRefused(MSG_NOT_PUBLIC)
        return
    if "." not in host or host in LOCAL_NAMES or host.endswith(LOCAL_SUFFIXES):
        raise EndpointRefused(MSG_NOT_PUBLIC)


def resolve_checked(host: str, port: int, *, allow_insecure: bool = False) -> str:
    """Resolve `host` and check every address; return the first one to connect to. Raises
    EndpointRefused when any address is not public (or the name does not resolve)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise EndpointRefused(f"{host} does not resolve: {exc}") from exc
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not addresses or not all(_allowed(a, allow_insecure) for a in addresses):
        raise EndpointRefused(f"{host} resolves to a non-public address")
    return str(addresses[0])


class BlockedEndpoint(requests.exceptions.ConnectionError):
    """A send refused before connecting: the endpoint is not (or no longer) public."""


class PinnedAdapter(HTTPAdapter):
    """A requests transport that checks the endpoint, resolves and checks its addresses, and
    connects to the checked address itself (TLS still verifies the endpoint's host name)."""

    def __init__(self, *, allow_insecure: bool = False) -> None:
        super().__init__(max_retries=0)
        self.allow_insecure = allow_insecure

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        try:
            check_endpoint(request.url, allow_insecure=self.allow_insecure)
            parts = urlsplit(request.url)
            https = parts.scheme == "https"
            port = parts.port or (443 if https else 80)
            address = resolve_checked(parts.hostname, port, allow_insecure=self.allow_insecure)
        except EndpointRefused as exc:
            raise BlockedEndpoint(str(exc), request=request) from exc
        pool = self._pool(address, port, parts.hostname, https, timeout, verify)
        headers = {**request.headers, "Host": parts.netloc}
        try:
            response = pool.urlopen(
                request.method,
                request.path_url,
                body=request.body,
                headers=headers,
                redirect=False,
                assert_same_host=False,
                preload_content=False,
                decode_content=False,
                retries=False,
            )
        except Urllib3Error as exc:
            pool.close()
            raise requests.exceptions.ConnectionError(exc, request=request) from exc
        return self.build_response(request, response)

    @staticmethod
    def _pool(address: str, port: int, host: str, https: bool, timeout: Any, verify: Any):
        if isinstance(timeout, tuple):
            timeout = Timeout(connect=timeout[0], read=timeout[1])
        elif not isinstance(timeout, Timeout):
            timeout = Timeout(connect=timeout, read=timeout)
        if not https:
            return HTTPConnectionPool(address, port, timeout=timeout, maxsize=1, retries=False)
        return HTTPSConnectionPool(
            address,
            port,
            timeout=timeout,
            maxsize=1,
            retries=False,
            server_hostname=host,
            assert_hostname=host,
            cert_reqs="CERT_REQUIRED" if verify else "CERT_NONE",
            ca_certs=verify if isinstance(verify, str) else DEFAULT_CA_BUNDLE_PATH,
        )


class GuardedSession(requests.Session):
    """A requests session for push sends: pinned, checked connections; redirects never
    followed; no proxy or netrc from the environment."""

    def __init__(self, *, allow_insecure: bool = False) -> None:
        super().__init__()
        self.trust_env = False
        self.max_redirects = 0
        adapter = PinnedAdapter(allow_insecure=allow_insecure)
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def send(self, request, **kwargs):
        kwargs["allow_redirects"] = False
        return super().send(request, **kwargs)
