"""fetch_media end to end: real sockets, real TLS, a server on the loopback."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler

import anyio
import pytest

from fluxsocial_mcp.errors import BadRequest, MediaTimeout, MediaTooLarge
from fluxsocial_mcp.media import FetchPolicy, fetch_media

from .support import FakeResolver, TLSServer, mp4_bytes, png_bytes, serve_bytes


def lab_policy(server: TLSServer, **overrides) -> FetchPolicy:
    """A closed lab's policy: loopback allowed, the test CA trusted, the system resolver."""
    values = dict(
        max_image_bytes=1024 * 1024,
        max_video_bytes=4 * 1024 * 1024,
        timeout_seconds=5.0,
        allow_private=True,
        ca_bundle=server.ca_bundle,
    )
    values.update(overrides)
    return FetchPolicy(**values)


@pytest.mark.asyncio
async def test_image_is_fetched_over_tls_with_the_host_name_kept(tls_server: TLSServer) -> None:
    body = png_bytes((64, 64))
    tls_server.state.routes["/photo.png"] = serve_bytes(body, "image/png")

    media = await fetch_media(tls_server.url("/photo.png?sig=s3cr3t"), lab_policy(tls_server))

    assert (media.kind, media.content_type, media.data) == ("image", "image/png", body)
    assert media.final_url == tls_server.url("/photo.png?sig=s3cr3t")
    # The socket went to the pinned IP, but TLS and HTTP still named the host.
    assert tls_server.state.server_names == ["localhost"]
    assert tls_server.state.host_headers == [f"localhost:{tls_server.port}"]


@pytest.mark.asyncio
async def test_redirect_is_followed_over_tls(tls_server: TLSServer) -> None:
    body = mp4_bytes(mdat_size=10_000)
    tls_server.state.routes["/clip.mp4"] = serve_bytes(body, "video/mp4")

    def moved(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", "/clip.mp4")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    tls_server.state.routes["/moved"] = moved

    media = await fetch_media(tls_server.url("/moved"), lab_policy(tls_server))

    assert (media.kind, media.content_type, media.data) == ("video", "video/mp4", body)
    assert media.final_url == tls_server.url("/clip.mp4")


@pytest.mark.asyncio
async def test_certificate_is_checked_against_the_host_name_not_the_pinned_ip(
    tls_server: TLSServer,
) -> None:
    # The certificate is valid for 127.0.0.1, where the connection goes, but not
    # for the name in the URL: that must fail.
    tls_server.state.routes["/photo.png"] = serve_bytes(png_bytes())
    resolver = FakeResolver({"impostor.test": ["127.0.0.1"]})
    policy = lab_policy(tls_server, resolver=resolver)

    with pytest.raises(BadRequest, match="TLS certificate verification"):
        await fetch_media(f"https://impostor.test:{tls_server.port}/photo.png", policy)
    assert tls_server.state.host_headers == []


@pytest.mark.asyncio
async def test_untrusted_certificate_is_refused(tls_server: TLSServer) -> None:
    tls_server.state.routes["/photo.png"] = serve_bytes(png_bytes())
    policy = lab_policy(tls_server, ca_bundle=None)

    with pytest.raises(BadRequest, match="TLS certificate verification"):
        await fetch_media(tls_server.url("/photo.png"), policy)


@pytest.mark.asyncio
async def test_loopback_server_is_refused_by_default(tls_server: TLSServer) -> None:
    tls_server.state.routes["/photo.png"] = serve_bytes(png_bytes())
    policy = lab_policy(tls_server, allow_private=False)

    for host in ("localhost", "127.0.0.1"):
        with pytest.raises(BadRequest, match="loopback"):
            await fetch_media(tls_server.url("/photo.png", host=host), policy)
    assert tls_server.state.host_headers == []


@pytest.mark.asyncio
async def test_endless_body_is_cut_off_at_the_limit(tls_server: TLSServer) -> None:
    chunk, offered = 64 * 1024, 256 * 1024 * 1024
    sent = {"bytes": 0}
    finished = threading.Event()

    def endless(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        handler.end_headers()  # no Content-Length: the body runs until the connection closes
        try:
            handler.wfile.write(png_bytes())
            while sent["bytes"] < offered:
                handler.wfile.write(b"\x00" * chunk)
                sent["bytes"] += chunk
        except OSError:
            pass  # the client hung up, as it should
        finally:
            finished.set()

    tls_server.state.routes["/endless"] = endless
    policy = lab_policy(tls_server, max_image_bytes=256 * 1024)

    with pytest.raises(MediaTooLarge):
        await fetch_media(tls_server.url("/endless"), policy)

    assert await anyio.to_thread.run_sync(finished.wait, 5)
    # What the server got out is the limit plus whatever the kernel buffers held:
    # far from the 256 MB on offer.
    assert sent["bytes"] < 32 * 1024 * 1024


@pytest.mark.asyncio
async def test_server_that_never_sends_the_body_times_out(tls_server: TLSServer) -> None:
    def stalled(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        handler.wfile.write(png_bytes()[:20])
        handler.server.state.stop.wait(10)

    tls_server.state.routes["/stalled"] = stalled

    started = time.monotonic()
    with pytest.raises(MediaTimeout) as caught:
        await fetch_media(tls_server.url("/stalled"), lab_policy(tls_server, timeout_seconds=0.3))
    assert caught.value.status == 408
    assert time.monotonic() - started < 2


@pytest.mark.asyncio
async def test_deadline_covers_the_whole_download_not_each_read(tls_server: TLSServer) -> None:
    # Every read succeeds quickly, so only a deadline for the whole transfer can
    # stop a server that trickles bytes forever.
    def trickle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.end_headers()
        handler.wfile.write(png_bytes())
        while not handler.server.state.stop.wait(0.02):
            handler.wfile.write(b"\x00")

    tls_server.state.routes["/trickle"] = trickle

    started = time.monotonic()
    with pytest.raises(MediaTimeout):
        await fetch_media(tls_server.url("/trickle"), lab_policy(tls_server, timeout_seconds=0.5))
    assert time.monotonic() - started < 2


@pytest.mark.asyncio
async def test_non_success_answer_over_tls(tls_server: TLSServer) -> None:
    with pytest.raises(BadRequest, match="HTTP 404"):
        await fetch_media(tls_server.url("/missing.png"), lab_policy(tls_server))


async def test_a_json_document_is_fetched_with_the_same_guards(tls_server: TLSServer) -> None:
    from fluxsocial_mcp.media import fetch_json

    document = b'{"client_id": "https://app.example/oauth.json", "redirect_uris": ["https://app.example/cb"]}'
    tls_server.state.routes["/client.json"] = serve_bytes(document, "application/json")
    tls_server.state.routes["/big.json"] = serve_bytes(b"[" + b"1," * 40_000 + b"1]", "application/json")
    tls_server.state.routes["/page.html"] = serve_bytes(b"<html></html>", "text/html")

    parsed, headers = await fetch_json(tls_server.url("/client.json"), lab_policy(tls_server))

    assert parsed == {"client_id": "https://app.example/oauth.json", "redirect_uris": ["https://app.example/cb"]}
    assert headers["content-type"] == "application/json"
    with pytest.raises(MediaTooLarge):
        await fetch_json(tls_server.url("/big.json"), lab_policy(tls_server), max_bytes=1024)
    with pytest.raises(BadRequest, match="did not return a JSON document"):
        await fetch_json(tls_server.url("/page.html"), lab_policy(tls_server))
    with pytest.raises(BadRequest, match="loopback"):
        await fetch_json(tls_server.url("/client.json"), lab_policy(tls_server, allow_private=False))
