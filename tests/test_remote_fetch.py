"""The HTTP GET policy for remote keys: scheme, deadline, size cap, redirects, caching headers."""

from __future__ import annotations

import datetime
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from jwtgate.fetch import FetchError, Response, check_url, fetch, freshness
from jwtgate.testing import TokenFactory
from jwtgate.testing.jwks_server import JWKSServer

from .drip import DripServer


@pytest.fixture
def server() -> Iterator[JWKSServer]:
    with TokenFactory("ES256").serve_jwks() as running:
        yield running


# --- which URLs may be fetched ------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://issuer.example/jwks.json",
        "http://127.0.0.1:8080/jwks.json",
        "http://127.5.6.7/jwks.json",
        "http://localhost/jwks.json",
        "http://[::1]:9000/jwks.json",
    ],
)
def test_https_and_loopback_http_are_allowed(url: str) -> None:
    assert check_url(url) == url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://issuer.example/jwks.json", "must be https"),
        ("http://10.0.0.1/jwks.json", "must be https"),
        ("file:///etc/passwd", "must be an https:// URL"),
        ("ftp://issuer.example/jwks.json", "must be an https:// URL"),
        ("data:application/json,{}", "must be an https:// URL"),
        ("https:///jwks.json", "must be an https:// URL"),
        ("https://user:pw@issuer.example/jwks.json", "must not carry credentials"),
        ("https://issuer.example:99999/jwks.json", "not a valid URL"),
        ("", "must be a URL string"),
        (None, "must be a URL string"),
    ],
)
def test_other_urls_are_refused(url: object, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        check_url(url)


def test_http_to_another_host_needs_the_explicit_opt_in() -> None:
    assert check_url("http://issuer.example/jwks.json", allow_http=True)


def test_fetch_refuses_a_url_the_policy_refuses() -> None:
    with pytest.raises(FetchError, match="must be https"):
        fetch("http://issuer.example/jwks.json")


# --- answers --------------------------------------------------------------------------


def test_a_200_answer_gives_the_body_and_cache_headers(server: JWKSServer) -> None:
    server.cache_control = "public, max-age=120"
    response = fetch(server.url)
    assert response.body.startswith(b'{"keys"')
    assert response.cache_control == "public, max-age=120"
    assert server.paths == ["/jwks.json"]


def test_a_redirect_is_not_followed(server: JWKSServer) -> None:
    server.respond(b"", status=302, headers={"Location": server.discovery_url})
    with pytest.raises(FetchError, match=r"redirects are not followed \(HTTP 302\)"):
        fetch(server.url)
    assert server.paths == ["/jwks.json"]


@pytest.mark.parametrize("status", [404, 500, 204])
def test_any_status_but_200_fails(server: JWKSServer, status: int) -> None:
    server.respond(b"{}", status=status)
    with pytest.raises(FetchError, match=f"HTTP {status}"):
        fetch(server.url)


def test_a_body_over_the_cap_is_refused_from_its_content_length(server: JWKSServer) -> None:
    server.respond(b" " * 2048)
    with pytest.raises(FetchError, match="larger than 1024 bytes"):
        fetch(server.url, max_bytes=1024)


def test_a_body_over_the_cap_is_refused_while_streaming(server: JWKSServer) -> None:
    server.respond(b" " * 300_000, headers={"Content-Length": ""})
    with pytest.raises(FetchError, match="larger than 200000 bytes"):
        fetch(server.url, max_bytes=200_000)


def test_a_body_at_the_cap_is_accepted(server: JWKSServer) -> None:
    server.respond(b" " * 1024, headers={"Content-Length": ""})
    assert len(fetch(server.url, max_bytes=1024).body) == 1024


def test_a_body_shorter_than_announced_fails(server: JWKSServer) -> None:
    server.respond(b'{"keys": []}', headers={"Content-Length": "500"})
    with pytest.raises(FetchError, match="cut short"):
        fetch(server.url)


def test_a_compressed_answer_is_refused(server: JWKSServer) -> None:
    server.respond(b"\x1f\x8b", headers={"Content-Encoding": "gzip"})
    with pytest.raises(FetchError, match="compressed"):
        fetch(server.url)


def test_a_slow_answer_fails_at_the_timeout(server: JWKSServer) -> None:
    server.delay = 2.0
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"no complete answer within 0\.3 s"):
        fetch(server.url, timeout=0.3)
    assert time.monotonic() - started < 1.5


def test_the_deadline_covers_a_body_that_drips() -> None:
    """One deadline for the whole exchange: a byte every 50 ms must not keep it open."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def drip() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            for _ in range(200):
                if stop.wait(0.05):
                    break
                try:
                    conn.sendall(b" ")
                except OSError:
                    break

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    started = time.monotonic()
    try:
        with pytest.raises(FetchError, match="no complete answer"):
            fetch(f"http://127.0.0.1:{port}/jwks.json", timeout=0.4)
        assert time.monotonic() - started < 1.0
    finally:
        stop.set()
        thread.join(5)
        listener.close()


# A server dripping one byte every 50 ms never trips a per-read timeout of 1 s; only a
# deadline on the whole exchange stops it. Each answer would take 15 s or more in full.
DEADLINE = 1.0
DRIP = {"interval": 0.05, "max_bytes": 300}


def _timed_fetch(url: str) -> tuple[str, float]:
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        fetch(url, timeout=DEADLINE)
    return str(info.value), time.monotonic() - started


def _assert_stopped_at_the_deadline(message: str, elapsed: float, server: DripServer) -> None:
    assert message == f"no complete answer within {DEADLINE:g} s"
    # Not before the deadline (it was the deadline that stopped it), and not long after:
    # the slack is for a loaded machine, far below the 15 s the whole answer takes.
    assert DEADLINE * 0.95 <= elapsed < DEADLINE + 1.0, elapsed
    assert server.connections == 1


@pytest.mark.parametrize("mode", ["headers", "chunked"])
def test_a_dripping_answer_fails_at_the_deadline(mode: str) -> None:
    with DripServer(mode=mode, **DRIP) as server:
        message, elapsed = _timed_fetch(server.url)
    _assert_stopped_at_the_deadline(message, elapsed, server)


@pytest.fixture
def trusted_tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A server context for ``localhost`` whose self-signed certificate ``fetch`` trusts."""
    cert_path, key_path = _self_signed(tmp_path)
    client = ssl.create_default_context(cafile=str(cert_path))
    monkeypatch.setattr("jwtgate.fetch._tls_context", client)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_path, key_path)
    return server


def test_a_trusted_https_server_answers(trusted_tls: ssl.SSLContext) -> None:
    """The check that the https drips below fail for the deadline, not for TLS."""
    with DripServer(tls=trusted_tls, drip_connections=0, body=b'{"keys":[]}') as server:
        assert fetch(server.url, timeout=5).body == b'{"keys":[]}'


@pytest.mark.parametrize("mode", ["handshake", "headers", "chunked"])
def test_a_dripping_https_answer_fails_at_the_deadline(
    mode: str, trusted_tls: ssl.SSLContext
) -> None:
    with DripServer(mode=mode, tls=trusted_tls, **DRIP) as server:
        message, elapsed = _timed_fetch(server.url)
    _assert_stopped_at_the_deadline(message, elapsed, server)


def test_a_refused_connection_fails_cleanly() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(FetchError, match=r"request failed \(ConnectionRefusedError\)"):
        fetch(f"http://127.0.0.1:{port}/jwks.json")


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_https_verifies_the_certificate(tmp_path: Path) -> None:
    """An untrusted certificate fails the fetch: TLS is verified, not merely used."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # pragma: no cover - the handshake fails first
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    cert_path, key_path = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.handle_error = lambda *args: None  # type: ignore[method-assign]
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        port = httpd.server_address[1]
        with pytest.raises(FetchError, match="TLS failed"):
            fetch(f"https://localhost:{port}/jwks.json", timeout=2)
    finally:
        httpd.shutdown()
        thread.join(5)
        httpd.server_close()


# --- how long an answer stays fresh ---------------------------------------------------


@pytest.mark.parametrize(
    ("cache_control", "age", "expected"),
    [
        (None, None, 600),  # no header: the default
        ("public", None, 600),
        ("max-age=3600", None, 3600),
        ("public, max-age=3600, must-revalidate", None, 3600),
        ('max-age="300"', None, 300),
        ("MAX-AGE=300", None, 300),
        ("max-age=3600", "600", 3000),  # what a cache in between already used up
        ("max-age=5", None, 60),  # never more often than once a minute
        ("max-age=0", None, 60),
        ("no-cache", None, 60),
        ("no-store, max-age=3600", None, 60),
        ("max-age=604800", None, 86_400),  # never longer than a day
        ("max-age=99999999999999999999", None, 600),  # nonsense: the default
        ("max-age=abc", None, 600),
        ("max-age=-5", None, 600),
        ("max-age=120", "garbage", 120),
    ],
)
def test_freshness_honours_max_age_within_bounds(
    cache_control: str | None, age: str | None, expected: float
) -> None:
    response = Response(b"", cache_control, age)
    assert freshness(response, 600, 60, 86_400) == expected
