"""A hostile HTTP server on 127.0.0.1 that answers one byte at a time.

Its first ``drip_connections`` connections get an answer dripped a byte
every ``interval`` seconds: the status line and headers (``"headers"``), or
prompt headers then a chunked body whose chunk-size lines carry long chunk
extensions (``"chunked"``), or, over TLS, the server's side of the TLS
handshake itself (``"handshake"``). Each byte comes well within any per-read timeout,
so only a deadline on the whole exchange stops the client. Later connections
get ``body`` at once. With ``tls`` (a server-side ``SSLContext``) it speaks
https. Written on raw sockets because no HTTP server library misbehaves on
purpose; it stops (by its own threads, joined) on exit.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from types import TracebackType

__all__ = ["DripServer"]

_JOIN = 5.0


class DripServer:
    """See the module docstring; ``url``, ``connections`` (accepted so far) and ``drip_times``."""

    def __init__(
        self,
        *,
        mode: str = "headers",
        interval: float = 0.1,
        drip_connections: int = 1,
        body: bytes = b'{"keys": []}',
        max_bytes: int = 4000,
        tls: ssl.SSLContext | None = None,
        path: str = "/jwks.json",
    ) -> None:
        if mode not in ("headers", "chunked", "handshake") or (mode == "handshake" and not tls):
            raise ValueError(mode)
        self.mode = mode
        self.interval = interval
        self.drip_connections = drip_connections
        self.body = body
        self.max_bytes = max_bytes
        self.tls = tls
        self.connections = 0
        #: How long each dripped answer went on before the client hung up (seconds).
        self.drip_times: list[float] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._threads: list[threading.Thread] = []
        port = self._listener.getsockname()[1]
        scheme = "https" if tls is not None else "http"
        host = "localhost" if tls is not None else "127.0.0.1"
        self.url = f"{scheme}://{host}:{port}{path}"

    # --- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> DripServer:
        accept = threading.Thread(target=self._accept, name="drip-accept", daemon=True)
        accept.start()
        self._threads.append(accept)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        for thread in list(self._threads):
            thread.join(_JOIN)
        self._listener.close()

    # --- serving -----------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                drip = self.connections <= self.drip_connections
            worker = threading.Thread(target=self._serve, args=(conn, drip), daemon=True)
            self._threads.append(worker)
            worker.start()

    def _serve(self, conn: socket.socket, drip: bool) -> None:
        try:
            conn.settimeout(_JOIN)
            if drip and self.mode == "handshake":
                assert self.tls is not None
                self._drip_handshake(conn, self.tls)
                return
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            _read_request(conn)
            if drip:
                prompt, dripped = self._dripped_answer()
                conn.sendall(prompt)
                self._drip(conn, dripped)
            else:
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(self.body)}\r\nConnection: close\r\n\r\n".encode()
                    + self.body
                )
        except OSError:
            pass  # the client hung up: what a deadline does
        finally:
            conn.close()

    def _dripped_answer(self) -> tuple[bytes, bytes]:
        """What is sent at once, and what is dripped byte by byte."""
        if self.mode == "headers":
            headers = b"HTTP/1.1 200 OK\r\n" + b"".join(
                b"X-Padding-%d: %s\r\n" % (n, b"a" * 60) for n in range(60)
            )
            return b"", headers + b"Content-Length: 2\r\n\r\n{}"
        prompt = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        chunk = b"1;" + b"x" * 200 + b"\r\n \r\n"
        return prompt, chunk * 20 + b"0\r\n\r\n"

    def _drip_handshake(self, conn: socket.socket, tls: ssl.SSLContext) -> None:
        """Play the server's side of the handshake, sending its bytes one at a time."""
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        session = tls.wrap_bio(incoming, outgoing, server_side=True)
        while not self._stop.is_set():
            try:
                session.do_handshake()
                return
            except ssl.SSLWantReadError:
                pending = outgoing.read()
                if pending:
                    self._drip(conn, pending)
                    return
                data = conn.recv(65536)
                if not data:
                    return
                incoming.write(data)

    def _drip(self, conn: socket.socket, data: bytes) -> None:
        started = time.monotonic()
        try:
            for byte in data[: self.max_bytes]:
                if self._stop.wait(self.interval):
                    return
                conn.sendall(bytes([byte]))
                if _hung_up(conn):
                    return
        finally:
            self.drip_times.append(time.monotonic() - started)


def _read_request(conn: socket.socket) -> None:
    received = b""
    while b"\r\n\r\n" not in received and len(received) < 65536:
        data = conn.recv(4096)
        if not data:
            return
        received += data


def _hung_up(conn: socket.socket) -> bool:
    """True once the client has closed its side (a read would see end of stream)."""
    raw = conn if not isinstance(conn, ssl.SSLSocket) else None
    if raw is None:
        return False  # an SSL socket can't peek; sendall fails soon enough instead
    try:
        conn.setblocking(False)
        try:
            return raw.recv(1, socket.MSG_PEEK) == b""
        finally:
            conn.setblocking(True)
            conn.settimeout(_JOIN)
    except BlockingIOError:
        return False
    except OSError:
        return True
