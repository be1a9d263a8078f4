"""Downloading user-supplied media URLs without becoming an SSRF proxy.

``fetch_media`` is handed a URL by an API caller and must fetch it from *our*
network position, so it takes care never to reach anything the caller could not
reach themselves:

* only ``https`` is spoken;
* the host name is resolved here, and the fetch is refused if *any* address it
  resolves to is private, loopback, link-local, multicast, reserved, shared
  (CGNAT) or a cloud metadata endpoint — including those hidden inside IPv6
  forms (IPv4-mapped, 6to4, NAT64);
* the connection goes to the very address that was checked (the URL is pinned to
  the IP, while the ``Host`` header, TLS SNI and certificate verification keep
  using the host name), so a DNS answer that changes between check and connect
  ("DNS rebinding") gains nothing;
* redirects are followed by hand and every hop is checked the same way;
* the body is streamed and abandoned as soon as it outgrows its size limit, and
  the whole download runs under one deadline.

What arrived is then judged by its bytes alone (``process.verify_image`` /
``process.verify_video``), whatever ``Content-Type`` the server claimed.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn

import anyio
import anyio.to_thread
import certifi
import httpx

from ..errors import BadRequest, MediaTimeout, MediaTooLarge, UnsupportedMedia
from .process import SNIFF_BYTES, sniff_image, sniff_video, verify_image, verify_video

if TYPE_CHECKING:
    from ..config import Settings

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""``async (host, port) -> addresses``: how a host name becomes IP address strings."""

USER_AGENT = "FluxSocial-MediaFetcher/1.0"

_DEFAULT_PORTS = {"https": 443, "http": 80}

# Instance metadata services hand out cloud credentials to whoever asks from
# inside the machine. They are refused even when private addresses are allowed.
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean...
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS over IPv6
        "100.100.100.200",  # Alibaba Cloud
    )
)
_METADATA_HOSTNAMES = frozenset({"metadata.google.internal", "metadata.goog", "metadata"})

_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # CGNAT, RFC 6598
_NAT64_PREFIXES = (
    ipaddress.ip_network("64:ff9b::/96"),  # well-known prefix, RFC 6052
    ipaddress.ip_network("64:ff9b:1::/48"),  # local-use prefix, RFC 8215
)
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated ::a.b.c.d form

_METADATA_REASON = "a cloud metadata address"


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve ``host`` with the system resolver, in a worker thread."""
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # Keep the resolver's preference order, without duplicates.
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class FetchPolicy:
    """The limits one media download runs under."""

    max_image_bytes: int
    max_video_bytes: int
    timeout_seconds: float
    # Lets fetches reach private and loopback hosts, and plain http on loopback.
    # For tests and closed labs only: it turns off the SSRF protection.
    allow_private: bool = False
    # Extra PEM bundle trusted on top of the public CAs.
    ca_bundle: Path | None = None
    max_redirects: int = 5
    resolver: Resolver = field(default=system_resolver, repr=False, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchPolicy:
        return cls(
            max_image_bytes=settings.media_max_image_bytes,
            max_video_bytes=settings.media_max_video_bytes,
            timeout_seconds=settings.media_fetch_timeout_seconds,
            allow_private=settings.media_fetch_allow_private,
            ca_bundle=settings.media_fetch_ca_bundle,
        )


@dataclass(frozen=True)
class FetchedMedia:
    data: bytes = field(repr=False)
    kind: Literal["image", "video"]
    # Recognised from the bytes, never taken from the server's Content-Type.
    content_type: str
    # Where the bytes finally came from, after redirects.
    final_url: str

    @property
    def size(self) -> int:
        return len(self.data)


async def fetch_media(
    url: str,
    policy: FetchPolicy,
    *,
    field: str = "mediaUrl",
    transport: httpx.AsyncBaseTransport | None = None,
) -> FetchedMedia:
    """Download the image or video at ``url`` under ``policy``.

    ``field`` names the request field the URL came from, for error messages.
    ``transport`` replaces the network for tests; address checks and pinning
    still apply in front of it.

    Raises ``BadRequest`` (bad or refused URL, unreachable host, non-2xx answer,
    too many redirects), ``MediaTooLarge``, ``MediaTimeout`` or
    ``UnsupportedMedia`` (the bytes are neither a real image nor a real video).
    """
    target = _parse_url(url, policy, field)
    try:
        with anyio.fail_after(policy.timeout_seconds):
            async with _transport(policy, transport) as network:
                data, final_url, _ = await _download(network, target, policy, field)
    except (TimeoutError, httpx.TimeoutException):
        logger.info("media fetch timed out: %s", _redact(target))
        raise MediaTimeout(
            f"Downloading {field} took longer than {policy.timeout_seconds:g} seconds"
        ) from None
    except httpx.HTTPError as exc:
        logger.info("media fetch failed: %s: %s", _redact(target), type(exc).__name__)
        raise BadRequest(f"{field} could not be downloaded: the connection failed") from None

    # Pillow and the container walk are CPU work; keep them off the event loop.
    if sniff_image(data[:SNIFF_BYTES]):
        kind: Literal["image", "video"] = "image"
        content_type = await anyio.to_thread.run_sync(verify_image, data)
    else:
        kind = "video"
        content_type = await anyio.to_thread.run_sync(verify_video, data)
    logger.info("fetched %s: %s, %d bytes", _redact(final_url), content_type, len(data))
    return FetchedMedia(data=data, kind=kind, content_type=content_type, final_url=str(final_url))


_JSON_HEADERS = {"User-Agent": USER_AGENT, "Accept": "application/json", "Accept-Encoding": "identity"}


async def fetch_json(
    url: str,
    policy: FetchPolicy,
    *,
    max_bytes: int = 64 * 1024,
    field: str = "url",
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[Any, httpx.Headers]:
    """Download and parse the small JSON document at ``url``, under the same guards as media.

    Used for documents the server fetches on a client's say-so, such as OAuth
    Client ID Metadata Documents: https only, public addresses only, pinned,
    redirects re-checked, at most ``max_bytes``, one deadline.

    Raises ``BadRequest`` (refused URL, failed download, not JSON), ``MediaTooLarge``
    or ``MediaTimeout``.
    """
    target = _parse_url(url, policy, field)

    async def read(response: httpx.Response, _: FetchPolicy) -> bytes:
        _check_declared_length(response, max_bytes)
        body = bytearray()
        async for chunk in response.aiter_raw():
            body += chunk
            if len(body) > max_bytes:
                raise MediaTooLarge(f"{field} exceeds {_human_size(max_bytes)}")
        return bytes(body)

    try:
        with anyio.fail_after(policy.timeout_seconds):
            async with _transport(policy, transport) as network:
                data, _, headers = await _download(network, target, policy, field, read, _JSON_HEADERS)
    except (TimeoutError, httpx.TimeoutException):
        raise MediaTimeout(f"Downloading {field} took longer than {policy.timeout_seconds:g} seconds") from None
    except httpx.HTTPError:
        raise BadRequest(f"{field} could not be downloaded: the connection failed") from None
    try:
        return json.loads(data), headers
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequest(f"{field} did not return a JSON document") from None


def address_refusal(address: str | IPAddress) -> str | None:
    """Why a fetch must not connect to ``address``, or ``None`` if it is public."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if ip in _METADATA_ADDRESSES:
        return _METADATA_REASON
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        # An IPv6 form that reaches an IPv4 host is exactly as safe as that host.
        return address_refusal(embedded)
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip in _SHARED_ADDRESS_SPACE:
        return "a shared (CGNAT) address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local):
        return "a private address"
    if not ip.is_global:
        return "a non-public address"
    return None


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in prefix for prefix in _NAT64_PREFIXES):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:  # "::" and "::1" are IPv6's own
        return ipaddress.IPv4Address(int(ip))
    return None


# -- URLs and addresses ----------------------------------------------------------


def _parse_url(url: str, policy: FetchPolicy, field: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        raise BadRequest(f"{field} is not a valid URL") from None
    _check_url(parsed, policy, field)
    return parsed


def _check_url(url: httpx.URL, policy: FetchPolicy, field: str) -> None:
    schemes = {"https", "http"} if policy.allow_private else {"https"}
    if url.scheme not in schemes or not url.host:
        raise BadRequest(f"{field} must be an absolute https:// URL")
    if url.userinfo:
        # Credentials in a URL are a classic way to disguise its real host.
        raise BadRequest(f"{field} must not contain a user name or password")


async def _vetted_addresses(url: httpx.URL, policy: FetchPolicy, field: str) -> list[str]:
    """The addresses ``url`` may be fetched from; raises if any of them is off limits."""
    host = url.raw_host.decode("ascii")
    if host.rstrip(".").lower() in _METADATA_HOSTNAMES:
        _refuse(url, host, _METADATA_REASON, field)
    ips = await _resolve(host, url.port or _DEFAULT_PORTS[url.scheme], policy, field)

    # One bad address is enough to refuse: the resolver's order is not ours to
    # trust, and an attacker can mix a public decoy with an internal target.
    for ip in ips:
        reason = address_refusal(ip)
        if reason and (reason == _METADATA_REASON or not policy.allow_private):
            _refuse(url, str(ip), reason, field)
    if url.scheme == "http" and not all(ip.is_loopback for ip in ips):
        # Plain http is only ever tolerated for a test server on this machine.
        raise BadRequest(f"{field} must be an absolute https:// URL")
    return [str(ip) for ip in ips]


async def _resolve(host: str, port: int, policy: FetchPolicy, field: str) -> list[IPAddress]:
    try:
        # A literal address needs no lookup (and must not be handed to a resolver).
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        ips = [ipaddress.ip_address(address) for address in await policy.resolver(host, port)]
    except (OSError, UnicodeError, ValueError):  # socket.gaierror is an OSError
        ips = []
    if not ips:
        raise BadRequest(f"The host of {field} could not be resolved")
    return ips


def _refuse(url: httpx.URL, address: str, reason: str, field: str) -> NoReturn:
    logger.warning("refused media fetch of %s: %s is %s", _redact(url), address, reason)
    raise BadRequest(f"{field} points to {reason}, which media downloads may not reach")


def _redact(url: httpx.URL) -> str:
    """``url`` without its query string and fragment, which may carry signatures."""
    return str(url.copy_with(query=None, fragment=None))


# -- HTTP --------------------------------------------------------------------------


_HEADERS = {
    "User-Agent": USER_AGENT,
    "Accept": "image/*, video/*;q=0.9",
    # Media is compressed already; a compressed transfer would only hide the
    # real size from the byte limit (a "zip bomb").
    "Accept-Encoding": "identity",
}


@asynccontextmanager
async def _transport(
    policy: FetchPolicy, injected: httpx.AsyncBaseTransport | None
) -> AsyncIterator[httpx.AsyncBaseTransport]:
    """The httpx transport requests go through.

    Requests are sent on the transport, not through an ``AsyncClient``: the client
    logs every request's full URL at INFO, and media URLs often carry signatures
    in their query string. The client's other services (redirects, cookies, auth,
    proxies from the environment) are exactly what must not happen here anyway.
    """
    if injected is not None:
        yield injected  # owned, and closed, by whoever passed it in
        return
    async with httpx.AsyncHTTPTransport(
        verify=_ssl_context(policy.ca_bundle),
        # Proxy variables would route around the address pinning.
        trust_env=False,
        # Connections are pooled by (scheme, IP, port). Reusing one for a second
        # host name on the same IP would skip that name's certificate check.
        limits=httpx.Limits(max_keepalive_connections=0),
    ) as transport:
        yield transport


@lru_cache(maxsize=8)
def _ssl_context(ca_bundle: Path | None) -> ssl.SSLContext:
    # Loading the CA store is slow and the context is safe to share.
    context = ssl.create_default_context(cafile=certifi.where())
    if ca_bundle is not None:
        context.load_verify_locations(cafile=ca_bundle)
    return context


BodyReader = Callable[[httpx.Response, FetchPolicy], Awaitable[bytes]]


async def _download(
    network: httpx.AsyncBaseTransport,
    url: httpx.URL,
    policy: FetchPolicy,
    field: str,
    read: BodyReader | None = None,
    headers: dict[str, str] = _HEADERS,
) -> tuple[bytes, httpx.URL, httpx.Headers]:
    for _ in range(policy.max_redirects + 1):
        addresses = await _vetted_addresses(url, policy, field)
        async with _pinned_get(network, url, addresses, policy, field, headers) as response:
            if response.has_redirect_location:
                url = _redirect_target(url, response, policy, field)
                continue
            if not response.is_success:
                raise BadRequest(
                    f"Downloading {field} failed: the server answered HTTP {response.status_code}"
                )
            return await (read or _read_capped)(response, policy), url, response.headers
    raise BadRequest(f"{field} redirected more than {policy.max_redirects} times")


@asynccontextmanager
async def _pinned_get(
    network: httpx.AsyncBaseTransport,
    url: httpx.URL,
    addresses: Sequence[str],
    policy: FetchPolicy,
    field: str,
    headers: dict[str, str],
) -> AsyncIterator[httpx.Response]:
    """GET ``url`` from the first of ``addresses`` that accepts a connection.

    The request goes to the IP itself, so no second DNS lookup happens; the
    ``Host`` header and the TLS server name (SNI and certificate check) stay the
    URL's host name.
    """
    tls_failed = False
    for address in addresses:
        request = httpx.Request(
            "GET",
            url.copy_with(host=address),
            headers={**headers, "Host": url.netloc.decode("ascii")},
            extensions={
                "sni_hostname": url.raw_host.decode("ascii"),
                "timeout": httpx.Timeout(policy.timeout_seconds).as_dict(),
            },
        )
        try:
            response = await network.handle_async_request(request)
        except httpx.ConnectError as exc:
            tls_failed = tls_failed or _caused_by(exc, ssl.SSLError)
            logger.info("media host %s unreachable at %s: %s", url.host, address, exc)
            continue
        response.request = request
        try:
            yield response
        finally:
            await response.aclose()
        return
    if tls_failed:
        raise BadRequest(f"The server of {field} failed TLS certificate verification")
    raise BadRequest(f"The server of {field} could not be reached")


def _redirect_target(
    url: httpx.URL, response: httpx.Response, policy: FetchPolicy, field: str
) -> httpx.URL:
    try:
        # Relative to the URL as the caller wrote it, not to the pinned IP.
        target = url.join(response.headers["Location"])
    except httpx.InvalidURL:
        raise BadRequest(f"{field} redirected to an invalid URL") from None
    _check_url(target, policy, field)
    return target


async def _read_capped(response: httpx.Response, policy: FetchPolicy) -> bytes:
    """The response body, abandoned as soon as it exceeds its size limit.

    Until the first bytes show what the file is, the larger (video) limit holds;
    once they show an image, the image limit does. Bytes that are neither stop
    the download at once.
    """
    limit = max(policy.max_image_bytes, policy.max_video_bytes)
    _check_declared_length(response, limit)
    body = bytearray()
    recognised = False
    async for chunk in response.aiter_raw():
        body += chunk
        if not recognised and len(body) >= SNIFF_BYTES:
            limit = _limit_for(bytes(body[:SNIFF_BYTES]), policy)
            _check_declared_length(response, limit)
            recognised = True
        if len(body) > limit:
            raise MediaTooLarge(f"The media exceeds the size limit of {_human_size(limit)}")
    if not recognised:  # a file shorter than the sniffing window
        _limit_for(bytes(body), policy)
    return bytes(body)


def _limit_for(head: bytes, policy: FetchPolicy) -> int:
    if sniff_image(head):
        return policy.max_image_bytes
    if sniff_video(head):
        return policy.max_video_bytes
    raise UnsupportedMedia(
        "The file is neither a supported image (JPEG, PNG, GIF, WebP) "
        "nor a supported video (MP4, MOV, WebM)"
    )


def _check_declared_length(response: httpx.Response, limit: int) -> None:
    try:
        declared = int(response.headers.get("Content-Length", ""))
    except ValueError:
        return
    if declared > limit:
        raise MediaTooLarge(f"The media exceeds the size limit of {_human_size(limit)}")


def _human_size(size: int) -> str:
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} bytes"


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
