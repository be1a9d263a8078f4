"""fetch_media against a fake resolver and an in-memory transport (no sockets)."""

from __future__ import annotations

import logging
import socket

import anyio
import httpx
import pytest

from fluxsocial_mcp.errors import BadRequest, MediaTimeout, MediaTooLarge, UnsupportedMedia
from fluxsocial_mcp.media import FetchPolicy, address_refusal, fetch_media

from .support import (
    PUBLIC_IP,
    PUBLIC_IPV6,
    CountingBody,
    FakeResolver,
    Recorder,
    jpeg_bytes,
    make_policy,
    mp4_bytes,
    png_bytes,
    webm_bytes,
)

URL = "https://media.example.com/photo.png"


def ok(body: bytes, **headers: str):
    # A stream, as a real transport gives: ``content=`` would arrive already read.
    return lambda request: httpx.Response(200, headers=headers, stream=httpx.ByteStream(body))


def never_called(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"no request may be sent, got {request.url}")


# -- addresses ---------------------------------------------------------------------

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.5.6.7", "loopback"),
    ("10.0.0.1", "private"),
    ("172.16.3.4", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "metadata"),
    ("169.254.1.1", "link-local"),
    ("100.64.0.1", "CGNAT"),
    ("100.100.100.200", "metadata"),
    ("0.0.0.0", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:169.254.169.254", "metadata"),
    ("::127.0.0.1", "loopback"),
    ("64:ff9b::7f00:1", "loopback"),  # NAT64 of 127.0.0.1
    ("64:ff9b::a9fe:a9fe", "metadata"),  # NAT64 of 169.254.169.254
    ("2002:7f00:1::1", "loopback"),  # 6to4 of 127.0.0.1
    ("2002:a00:1::1", "private"),  # 6to4 of 10.0.0.1
    ("fd00::1", "private"),
    ("fd00:ec2::254", "metadata"),
    ("fe80::1", "link-local"),
    ("fec0::1", "private"),  # deprecated site-local
    ("ff02::1", "multicast"),
    ("2001:db8::1", "private"),  # documentation range
    ("100::1", "reserved"),  # discard prefix
]


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_address_refusal_names_the_reason(address: str, reason: str) -> None:
    assert reason in address_refusal(address)


@pytest.mark.parametrize(
    "address", [PUBLIC_IP, "8.8.8.8", PUBLIC_IPV6, "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_public_addresses_pass(address: str) -> None:
    assert address_refusal(address) is None


@pytest.mark.asyncio
@pytest.mark.parametrize(("address", "reason"), REFUSED)
async def test_host_resolving_to_refused_address_is_never_contacted(
    address: str, reason: str
) -> None:
    recorder = Recorder(never_called)
    policy = make_policy(FakeResolver({"media.example.com": [address]}))

    with pytest.raises(BadRequest) as caught:
        await fetch_media(URL, policy, transport=recorder.transport)

    assert caught.value.status == 400
    assert "mediaUrl" in caught.value.message
    assert reason.split()[0].lower() in caught.value.message.lower()
    assert recorder.requests == []


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/a.png",
        "https://[::1]/a.png",
        "https://[::ffff:7f00:1]/a.png",
        "https://169.254.169.254/latest/meta-data/",
    ],
)
async def test_literal_private_addresses_are_refused_without_lookup(url: str) -> None:
    resolver = FakeResolver()
    recorder = Recorder(never_called)

    with pytest.raises(BadRequest, match="mediaUrl points to"):
        await fetch_media(url, make_policy(resolver), transport=recorder.transport)

    assert resolver.calls == []
    assert recorder.requests == []


@pytest.mark.asyncio
async def test_one_private_address_among_public_ones_refuses_the_host() -> None:
    resolver = FakeResolver({"media.example.com": [PUBLIC_IP, "10.1.2.3", PUBLIC_IPV6]})
    recorder = Recorder(never_called)

    with pytest.raises(BadRequest, match="private address"):
        await fetch_media(URL, make_policy(resolver), transport=recorder.transport)

    assert recorder.requests == []


@pytest.mark.asyncio
async def test_metadata_host_name_is_refused_even_when_private_hosts_are_allowed() -> None:
    resolver = FakeResolver({"metadata.google.internal": [PUBLIC_IP]})
    policy = make_policy(resolver, allow_private=True)

    with pytest.raises(BadRequest, match="metadata"):
        await fetch_media("https://metadata.google.internal/computeMetadata/v1/", policy)
    with pytest.raises(BadRequest, match="metadata"):
        await fetch_media("https://169.254.169.254/latest/", policy)
    assert resolver.calls == []


@pytest.mark.asyncio
async def test_unresolvable_host_is_a_bad_request() -> None:
    with pytest.raises(BadRequest, match="could not be resolved"):
        await fetch_media("https://nowhere.example.org/a.png", make_policy())


@pytest.mark.asyncio
async def test_default_resolver_uses_the_system_resolver(monkeypatch) -> None:
    answers = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.9.8.7", 443))]

    async def fake_getaddrinfo(host, port, **kwargs):
        assert (host, port) == ("intranet.example.com", 443)
        return answers

    monkeypatch.setattr(anyio, "getaddrinfo", fake_getaddrinfo)
    policy = FetchPolicy(max_image_bytes=10, max_video_bytes=10, timeout_seconds=1)

    with pytest.raises(BadRequest, match="private address"):
        await fetch_media("https://intranet.example.com/a.png", policy)


# -- URLs ------------------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "url",
    [
        "http://media.example.com/photo.png",
        "ftp://media.example.com/photo.png",
        "file:///etc/passwd",
        "gopher://media.example.com/",
        "/relative/photo.png",
        "media.example.com/photo.png",
        "",
    ],
)
async def test_only_https_urls_are_accepted(url: str) -> None:
    with pytest.raises(BadRequest) as caught:
        await fetch_media(url, make_policy(), transport=Recorder(never_called).transport)
    assert caught.value.message.startswith("mediaUrl ")
    assert "https" in caught.value.message


@pytest.mark.asyncio
async def test_error_messages_name_the_given_field() -> None:
    with pytest.raises(BadRequest, match=r"^mediaUrls\[2\] must be an absolute https:// URL$"):
        await fetch_media("http://media.example.com/a.png", make_policy(), field="mediaUrls[2]")


@pytest.mark.asyncio
async def test_credentials_in_the_url_are_refused() -> None:
    with pytest.raises(BadRequest, match="user name or password"):
        await fetch_media("https://user:pw@media.example.com/a.png", make_policy())


@pytest.mark.asyncio
async def test_plain_http_needs_allow_private_and_a_loopback_host() -> None:
    body = png_bytes()
    recorder = Recorder(ok(body))
    resolver = FakeResolver({"media.example.com": [PUBLIC_IP]})

    media = await fetch_media(
        "http://127.0.0.1:8080/a.png",
        make_policy(resolver, allow_private=True),
        transport=recorder.transport,
    )
    assert media.data == body
    with pytest.raises(BadRequest, match="https"):
        await fetch_media(
            "http://media.example.com/a.png",
            make_policy(resolver, allow_private=True),
            transport=recorder.transport,
        )
    assert len(recorder.requests) == 1


# -- pinning and redirects -------------------------------------------------------------


@pytest.mark.asyncio
async def test_connection_is_pinned_to_the_checked_address() -> None:
    # A rebinding resolver: public on the first lookup, loopback afterwards.
    answers = iter([[PUBLIC_IP], ["127.0.0.1"], ["127.0.0.1"]])

    async def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    body = png_bytes()
    recorder = Recorder(ok(body))
    media = await fetch_media(
        "https://media.example.com:8443/p/photo.png?sig=abc",
        make_policy(rebinding),
        transport=recorder.transport,
    )

    (request,) = recorder.requests
    assert request.url.host == PUBLIC_IP
    assert request.url.port == 8443
    assert request.url.raw_path == b"/p/photo.png?sig=abc"
    assert request.headers["Host"] == "media.example.com:8443"
    assert request.extensions["sni_hostname"] == "media.example.com"
    assert request.headers["Accept-Encoding"] == "identity"
    assert media.final_url == "https://media.example.com:8443/p/photo.png?sig=abc"


@pytest.mark.asyncio
async def test_ipv6_address_is_pinned_in_brackets() -> None:
    recorder = Recorder(ok(png_bytes()))
    await fetch_media(
        URL,
        make_policy(FakeResolver({"media.example.com": [PUBLIC_IPV6]})),
        transport=recorder.transport,
    )

    (request,) = recorder.requests
    assert request.url.host == PUBLIC_IPV6
    assert request.headers["Host"] == "media.example.com"


@pytest.mark.asyncio
async def test_next_address_is_tried_when_one_does_not_answer() -> None:
    body = png_bytes()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == PUBLIC_IPV6:
            raise httpx.ConnectError("Network is unreachable", request=request)
        return httpx.Response(200, stream=httpx.ByteStream(body))

    recorder = Recorder(handler)
    resolver = FakeResolver({"media.example.com": [PUBLIC_IPV6, PUBLIC_IP]})
    media = await fetch_media(URL, make_policy(resolver), transport=recorder.transport)

    assert [r.url.host for r in recorder.requests] == [PUBLIC_IPV6, PUBLIC_IP]
    assert media.data == body


@pytest.mark.asyncio
async def test_unreachable_host_is_a_bad_request() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    with pytest.raises(BadRequest, match="could not be reached"):
        await fetch_media(URL, make_policy(), transport=Recorder(handler).transport)


@pytest.mark.asyncio
async def test_redirect_to_a_private_address_is_refused() -> None:
    resolver = FakeResolver(
        {"media.example.com": [PUBLIC_IP], "internal.example.com": ["10.0.0.5"]}
    )
    recorder = Recorder(
        lambda request: httpx.Response(
            302, headers={"Location": "https://internal.example.com/secret.png"}
        )
    )

    with pytest.raises(BadRequest, match="private address"):
        await fetch_media(URL, make_policy(resolver), transport=recorder.transport)

    assert [r.url.host for r in recorder.requests] == [PUBLIC_IP]
    assert [host for host, _ in resolver.calls] == ["media.example.com", "internal.example.com"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "location",
    [
        "https://127.0.0.1/x.png",
        "https://[::1]/x.png",
        "https://169.254.169.254/latest/meta-data/",
        "http://media.example.com/x.png",
    ],
)
async def test_redirects_are_checked_like_the_first_url(location: str) -> None:
    recorder = Recorder(lambda request: httpx.Response(301, headers={"Location": location}))

    with pytest.raises(BadRequest, match="mediaUrl"):
        await fetch_media(URL, make_policy(), transport=recorder.transport)

    assert len(recorder.requests) == 1


@pytest.mark.asyncio
async def test_relative_redirect_stays_on_the_host_name_and_is_resolved_again() -> None:
    body = jpeg_bytes()
    resolver = FakeResolver({"media.example.com": [PUBLIC_IP]})

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/photo.png":
            return httpx.Response(307, headers={"Location": "/cdn/photo.jpg?token=t"})
        return httpx.Response(200, stream=httpx.ByteStream(body))

    recorder = Recorder(handler)
    media = await fetch_media(URL, make_policy(resolver), transport=recorder.transport)

    assert media.final_url == "https://media.example.com/cdn/photo.jpg?token=t"
    assert media.content_type == "image/jpeg"
    assert [r.headers["Host"] for r in recorder.requests] == ["media.example.com"] * 2
    assert len(resolver.calls) == 2


@pytest.mark.asyncio
async def test_redirect_chain_is_bounded() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        hop = int(request.url.path.rsplit("/", 1)[-1]) if "/hop/" in request.url.path else 0
        return httpx.Response(302, headers={"Location": f"/hop/{hop + 1}"})

    recorder = Recorder(handler)
    with pytest.raises(BadRequest, match="more than 3 times"):
        await fetch_media(URL, make_policy(max_redirects=3), transport=recorder.transport)
    assert len(recorder.requests) == 4


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [404, 403, 500, 304])
async def test_non_success_status_is_a_bad_request_naming_it(status: int) -> None:
    recorder = Recorder(lambda request: httpx.Response(status, content=png_bytes()))
    with pytest.raises(BadRequest, match=f"HTTP {status}"):
        await fetch_media(URL, make_policy(), transport=recorder.transport)


# -- size limits -----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_body_without_content_length_is_abandoned_at_the_limit() -> None:
    chunk = 64 * 1024
    body = CountingBody(png_bytes(), b"\x00" * chunk, chunks=10_000)  # ~640 MB on offer
    recorder = Recorder(lambda request: httpx.Response(200, stream=body))
    policy = make_policy(max_image_bytes=256 * 1024, max_video_bytes=4 * 1024 * 1024)

    with pytest.raises(MediaTooLarge) as caught:
        await fetch_media(URL, policy, transport=recorder.transport)

    assert caught.value.status == 413
    assert "256 KB" in caught.value.message
    # The image limit applied as soon as the PNG signature arrived: one chunk past it.
    assert 256 * 1024 < body.pulled <= 256 * 1024 + chunk
    assert body.closed


@pytest.mark.asyncio
async def test_video_may_exceed_the_image_limit_but_not_the_video_limit() -> None:
    video = mp4_bytes(mdat_size=300 * 1024)
    policy = make_policy(max_image_bytes=100 * 1024, max_video_bytes=400 * 1024)

    media = await fetch_media(URL, policy, transport=Recorder(ok(video)).transport)
    assert (media.kind, media.content_type, media.size) == ("video", "video/mp4", len(video))

    streamed = CountingBody(mp4_bytes(), b"\x00" * 65536, chunks=1000)
    with pytest.raises(MediaTooLarge, match="400 KB"):
        await fetch_media(
            URL,
            policy,
            transport=Recorder(lambda r: httpx.Response(200, stream=streamed)).transport,
        )
    assert streamed.pulled <= 400 * 1024 + 65536


@pytest.mark.asyncio
async def test_too_large_content_length_is_refused_before_reading() -> None:
    body = CountingBody(png_bytes(), b"\x00", chunks=1)
    recorder = Recorder(
        lambda request: httpx.Response(
            200, headers={"Content-Length": str(10 * 1024**3)}, stream=body
        )
    )

    with pytest.raises(MediaTooLarge, match="4 MB"):
        await fetch_media(URL, make_policy(), transport=recorder.transport)

    assert body.pulled == 0


@pytest.mark.asyncio
async def test_content_length_is_held_to_the_image_limit_once_bytes_show_an_image() -> None:
    size = 2 * 1024 * 1024  # above the 1 MB image limit, below the 4 MB video limit
    body = CountingBody(png_bytes(), b"\x00" * 65536, chunks=size // 65536)
    recorder = Recorder(
        lambda request: httpx.Response(200, headers={"Content-Length": str(size)}, stream=body)
    )

    with pytest.raises(MediaTooLarge, match="1 MB"):
        await fetch_media(URL, make_policy(), transport=recorder.transport)

    assert body.pulled == len(png_bytes())  # only the first chunk


# -- what the bytes are ------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("body", "kind", "content_type"),
    [
        (png_bytes(), "image", "image/png"),
        (jpeg_bytes(), "image", "image/jpeg"),
        (mp4_bytes(), "video", "video/mp4"),
        (mp4_bytes(brand=b"qt  "), "video", "video/quicktime"),
        (webm_bytes(), "video", "video/webm"),
    ],
)
async def test_type_comes_from_the_bytes_not_the_header(
    body: bytes, kind: str, content_type: str
) -> None:
    recorder = Recorder(ok(body, **{"Content-Type": "text/plain"}))
    media = await fetch_media(URL, make_policy(), transport=recorder.transport)
    assert (media.kind, media.content_type, media.data) == (kind, content_type, body)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE html><html><head><title>Login</title></head><body>Sign in</body></html>",
        b"\x89PNG\r\n\x1a\n" + b"garbage" * 20,  # a PNG signature, then nonsense
        b"\xff\xd8\xff\xe0" + b"\x00" * 100,  # a JPEG start, then nonsense
        mp4_bytes(brand=b"heic"),  # an ISO BMFF still image
        mp4_bytes(handler=b"soun"),  # audio only
        mp4_bytes()[:32],  # ftyp and no moov
        webm_bytes(b"notwebm"),
        b"",
    ],
)
async def test_bytes_that_are_not_real_media_are_unsupported(body: bytes) -> None:
    recorder = Recorder(ok(body, **{"Content-Type": "image/jpeg"}))
    with pytest.raises(UnsupportedMedia) as caught:
        await fetch_media(URL, make_policy(), transport=recorder.transport)
    assert caught.value.status == 415


@pytest.mark.asyncio
async def test_unrecognisable_stream_stops_after_the_first_bytes() -> None:
    body = CountingBody(b"<html>" + b" " * 4096, b" " * 65536, chunks=1000)
    recorder = Recorder(
        lambda request: httpx.Response(200, headers={"Content-Type": "image/jpeg"}, stream=body)
    )

    with pytest.raises(UnsupportedMedia):
        await fetch_media(URL, make_policy(), transport=recorder.transport)
    assert body.pulled == 4096 + 6


# -- time ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_slow_server_times_out() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(10)
        return httpx.Response(200, stream=httpx.ByteStream(png_bytes()))

    with anyio.fail_after(3):  # the test itself must not hang if the deadline is broken
        with pytest.raises(MediaTimeout) as caught:
            await fetch_media(
                URL, make_policy(timeout_seconds=0.2), transport=Recorder(handler).transport
            )
    assert caught.value.status == 408


@pytest.mark.asyncio
async def test_slow_resolver_counts_against_the_deadline() -> None:
    async def slow(host: str, port: int) -> list[str]:
        await anyio.sleep(10)
        return [PUBLIC_IP]

    with anyio.fail_after(3):
        with pytest.raises(MediaTimeout):
            await fetch_media(URL, make_policy(slow, timeout_seconds=0.2))


# -- logging -----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_query_strings_never_reach_the_log(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "X-Amz-Signature=deadbeefcafe"
    resolver = FakeResolver({"media.example.com": [PUBLIC_IP], "evil.example.com": ["10.0.0.1"]})

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/hop":
            return httpx.Response(302, headers={"Location": f"https://evil.example.com/x?{secret}"})
        return httpx.Response(200, stream=httpx.ByteStream(png_bytes()))

    transport = Recorder(handler).transport
    await fetch_media(f"{URL}?{secret}", make_policy(resolver), transport=transport)
    with pytest.raises(BadRequest) as caught:
        await fetch_media(
            f"https://media.example.com/hop?{secret}", make_policy(resolver), transport=transport
        )

    assert "media.example.com/photo.png" in caplog.text
    assert "deadbeefcafe" not in caplog.text
    assert "deadbeefcafe" not in caught.value.message


def test_policy_from_settings() -> None:
    from pathlib import Path

    from fluxsocial_mcp.config import Settings

    settings = Settings(
        media_max_image_bytes=11,
        media_max_video_bytes=22,
        media_fetch_timeout_seconds=3.5,
        media_fetch_allow_private=True,
        media_fetch_ca_bundle=Path("/tmp/ca.pem"),
    )
    policy = FetchPolicy.from_settings(settings)
    assert (policy.max_image_bytes, policy.max_video_bytes, policy.timeout_seconds) == (11, 22, 3.5)
    assert policy.allow_private is True
    assert policy.ca_bundle == Path("/tmp/ca.pem")
    assert policy.max_redirects == 5
