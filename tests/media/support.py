"""Helpers for the media tests: media builders, fake DNS and network, a local TLS server."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import struct
import threading
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from PIL import Image

from fluxsocial_mcp.media import FetchPolicy

PUBLIC_IP = "93.184.216.34"
PUBLIC_IPV6 = "2606:2800:220:1:248:1893:25c8:1946"


# -- media bytes -------------------------------------------------------------------


def png_bytes(size: tuple[int, int] = (32, 32), colour=(200, 30, 30)) -> bytes:
    out = BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes(size: tuple[int, int] = (32, 32), colour=(30, 30, 200), **save) -> bytes:
    out = BytesIO()
    Image.new("RGB", size, colour).save(out, format="JPEG", **save)
    return out.getvalue()


def iso_box(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4_bytes(*, brand: bytes = b"isom", handler: bytes = b"vide", mdat_size: int = 64) -> bytes:
    ftyp = iso_box(b"ftyp", brand + b"\x00\x00\x02\x00" + b"isomiso2avc1mp41")
    hdlr = iso_box(b"hdlr", b"\x00" * 8 + handler + b"\x00" * 12 + b"Handler\x00")
    moov = iso_box(b"moov", iso_box(b"trak", iso_box(b"mdia", hdlr)))
    return ftyp + iso_box(b"mdat", b"\x00" * mdat_size) + moov


def webm_bytes(doctype: bytes = b"webm") -> bytes:
    elements = (
        b"\x42\x86\x81\x01"  # EBMLVersion 1
        + b"\x42\x82"
        + bytes([0x80 | len(doctype)])
        + doctype
        + b"\x42\x87\x81\x04"  # DocTypeVersion 4
        + b"\x42\x85\x81\x02"  # DocTypeReadVersion 2
    )
    header = b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(elements)]) + elements
    segment = b"\x18\x53\x80\x67" + b"\x01\xff\xff\xff\xff\xff\xff\xff" + b"\xec\x81\x00" * 8
    return header + segment


def png_with_dimensions(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width``×``height`` (a decompression bomb)."""
    data = bytearray(png_bytes((1, 1)))
    ihdr = bytes(data[12:16]) + struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(ihdr))
    return bytes(data)


# -- fake DNS and fake network -----------------------------------------------------


class FakeResolver:
    """Answers from a table and records every lookup."""

    def __init__(self, table: dict[str, list[str]] | None = None) -> None:
        self.table = table or {}
        self.calls: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        if host not in self.table:
            raise OSError(f"unknown host {host}")
        return self.table[host]


class Recorder:
    """An httpx transport that records requests and answers through ``handler``."""

    def __init__(self, handler: Callable[[httpx.Request], httpx.Response]) -> None:
        self.requests: list[httpx.Request] = []
        self._handler = handler
        self.transport = httpx.MockTransport(self._record)

    async def _record(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = self._handler(request)
        if not isinstance(response, httpx.Response):
            response = await response
        return response


class CountingBody(httpx.AsyncByteStream):
    """A response body produced chunk by chunk, counting how much was pulled."""

    def __init__(self, first: bytes, chunk: bytes, chunks: int) -> None:
        self.first, self.chunk, self.chunks = first, chunk, chunks
        self.pulled = 0
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for index in range(self.chunks):
            piece = self.first if index == 0 else self.chunk
            self.pulled += len(piece)
            yield piece

    async def aclose(self) -> None:
        self.closed = True


def make_policy(resolver=None, **overrides) -> FetchPolicy:
    values = dict(
        max_image_bytes=1024 * 1024,
        max_video_bytes=4 * 1024 * 1024,
        timeout_seconds=5.0,
        resolver=resolver or FakeResolver({"media.example.com": [PUBLIC_IP]}),
    )
    values.update(overrides)
    return FetchPolicy(**values)


# -- a real TLS server on loopback -------------------------------------------------


@dataclass
class TLSServer:
    port: int
    ca_bundle: Path
    state: ServerState

    def url(self, path: str, host: str = "localhost") -> str:
        return f"https://{host}:{self.port}{path}"


@dataclass
class ServerState:
    routes: dict[str, Callable[[BaseHTTPRequestHandler], None]] = field(default_factory=dict)
    server_names: list[str | None] = field(default_factory=list)
    host_headers: list[str | None] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


@pytest.fixture(scope="session")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1: (cert, key) PEM paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: a body without Content-Length simply runs until the connection closes.
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        state: ServerState = self.server.state  # type: ignore[attr-defined]
        state.host_headers.append(self.headers.get("Host"))
        route = state.routes.get(urlsplit(self.path).path)
        if route is None:
            self.send_error(404)
            return
        route(self)

    def log_message(self, format: str, *args) -> None:
        pass


class _TLSHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, context: ssl.SSLContext, state: ServerState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.context = context
        self.state = state

    def finish_request(self, request, client_address) -> None:
        # The handshake runs in the request's own thread, so a client that hangs
        # up mid-handshake (a failed certificate check) cannot stall the server.
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        except OSError:
            pass
        finally:
            tls.close()


@pytest.fixture
def tls_server(certificate) -> Iterator[TLSServer]:
    cert_path, key_path = certificate
    state = ServerState()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    context.sni_callback = lambda sock, name, ctx: state.server_names.append(name)
    server = _TLSHTTPServer(context, state)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield TLSServer(port=server.server_address[1], ca_bundle=cert_path, state=state)
    finally:
        state.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def serve_bytes(body: bytes, content_type: str = "application/octet-stream"):
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return route
