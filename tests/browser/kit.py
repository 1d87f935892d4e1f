"""What the browser tests drive and read: a tiny site of pages, the app's access log, the browser.

- ``Site``: a server on 127.0.0.1 of pages the tests write. Reached as
  ``http://localhost:PORT`` it is another *site* than the apps on
  ``http://127.0.0.1`` (no registrable domain in common: cross-site); reached
  as ``http://127.0.0.1:PORT`` it is another *origin* of the apps' site
  (ports do not make sites: same-site).
- ``AccessLog``: gunicorn's access log, read for what the app answered to a
  request the page could not read (a cross-origin ``fetch``).
- ``Browser``: one Chromium context per test; the URLs it requested are
  kept, and screenshots of the key steps are written out when the test fails.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

#: The host name under which the site is another site than the apps'.
CROSS_SITE = "localhost"
#: The host name under which the site is another origin of the apps' own site.
SAME_SITE = "127.0.0.1"
WAIT = 10.0  # seconds: a bound on every wait, generous for a loaded machine


# --- the site of pages the tests write -------------------------------------------------------


class Site:
    """Pages served from 127.0.0.1 on a port of their own, each at a fresh path."""

    def __init__(self) -> None:
        self._pages: dict[str, tuple[bytes, list[tuple[str, str]]]] = {}
        pages = self._pages

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                page = pages.get(self.path.partition("?")[0])
                if page is None:
                    self.send_error(404)
                    return
                body, headers = page
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                for name, value in headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def page(self, html: str, *, headers: Iterable[tuple[str, str]] = ()) -> str:
        """Serve ``html`` (and ``headers``) at a new path, and return the path."""
        path = f"/p/{uuid.uuid4().hex}"
        self._pages[path] = (html.encode(), list(headers))
        return path

    def url(self, path: str, *, host: str) -> str:
        return f"http://{host}:{self.port}{path}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=WAIT)


# --- gunicorn's access log ------------------------------------------------------------------


@dataclass(frozen=True)
class Logged:
    """One request as the app received it (see ``access_log.FORMAT``)."""

    method: str
    path: str
    status: int
    fetch_site: str  # the Sec-Fetch-Site header, "-" when absent
    fetch_mode: str  # the Sec-Fetch-Mode header, "-" when absent
    origin: str  # the Origin header, "-" when absent
    token_cookie: bool  # whether an nf_jwt cookie came with it


class AccessLog:
    """The lines gunicorn wrote to ``path``, found by the probe in their query string."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def lines(self, probe: str) -> list[Logged]:
        """Each request whose query string was ``probe=…``, in order."""
        if not self.path.exists():
            return []
        found = []
        for line in self.path.read_text().splitlines():
            method, path, query, status, site, mode, origin, cookie = line.split(" ")
            if query == f"probe={probe}":
                found.append(Logged(method, path, int(status), site, mode, origin, cookie != "-"))
        return found

    def wait(self, probe: str, method: str) -> Logged:
        """The ``method`` request of ``probe``, once the app has answered it."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            for logged in self.lines(probe):
                if logged.method == method:
                    return logged
            time.sleep(0.05)
        raise AssertionError(f"the app logged no {method} for probe {probe}: {self.lines(probe)}")


def probe() -> str:
    """A fresh marker for one request's query string, to find it in the logs."""
    return uuid.uuid4().hex[:12]


# --- the browser ------------------------------------------------------------------------------


@dataclass
class Browser:
    """One browser context (a fresh cookie jar) and what it sent."""

    context: Any
    requests: list[Any] = field(default_factory=list, repr=False)
    socket_errors: list[tuple[str, str]] = field(default_factory=list)
    steps: list[tuple[str, bytes]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.context.set_default_timeout(WAIT * 1000)
        self.context.on("request", self._keep)
        self.context.on("page", self._watch_websockets)

    def _keep(self, request: Any) -> None:
        self.requests.append(request)

    def _watch_websockets(self, page: Any) -> None:
        def watch(ws: Any) -> None:
            ws.on("socketerror", lambda message: self.socket_errors.append((ws.url, message)))

        page.on("websocket", watch)

    def new_page(self) -> Any:
        return self.context.new_page()

    def step(self, page: Any, name: str, note: Any = None) -> None:
        """Remember what ``page`` shows now (with ``note`` shown on it): written out on failure."""
        if note is not None:
            page.evaluate(_SHOW_NOTE, f"{name}: {note}")
        self.steps.append((name, page.screenshot(full_page=True)))

    def urls(self, pattern: str) -> list[str]:
        """The URLs of the requests it sent that match ``pattern`` (a regular expression)."""
        return [r.url for r in self.requests if re.search(pattern, r.url)]

    def cookie(self, name: str) -> dict[str, Any] | None:
        found = [c for c in self.context.cookies() if c["name"] == name]
        return found[0] if found else None

    def save(self, folder: Path) -> list[Path]:
        """Write the steps' screenshots and one of every open page to ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for number, (name, png) in enumerate(self.steps, 1):
            path = folder / f"{number:02d}-{_slug(name)}.png"
            path.write_bytes(png)
            written.append(path)
        for number, page in enumerate(self.context.pages, 1):
            path = folder / f"zz-open-page-{number}-{_slug(page.url)[-60:]}.png"
            try:
                page.screenshot(path=str(path), full_page=True, timeout=5000)
            except Exception as exc:  # a crashed or closed page: say so, keep the rest
                path.with_suffix(".txt").write_text(f"{page.url}: no screenshot: {exc}\n")
                continue
            written.append(path)
        return written


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-") or "page"


# --- scripts the pages run ---------------------------------------------------------------------

#: Shows a line of text at the end of the page, for its screenshot.
_SHOW_NOTE = """
(text) => {
  const note = document.createElement("pre");
  note.style.cssText = "background: #fee; padding: .5em; white-space: pre-wrap";
  note.textContent = text;
  document.body.append(note);
}
"""

#: Opens a websocket, sends one message and reports what came back, or how it closed.
WEBSOCKET_ROUND_TRIP = """
([url, text]) => new Promise((resolve) => {
  const events = [];
  const finish = (result) => resolve(Object.assign({events}, result));
  const ws = new WebSocket(url);
  ws.onopen = () => { events.push("open"); ws.send(text); };
  ws.onmessage = (event) => { events.push("message"); finish({message: event.data}); ws.close(); };
  ws.onerror = () => events.push("error");
  ws.onclose = (event) => {
    events.push("close");
    finish({code: event.code, reason: event.reason, clean: event.wasClean});
  };
  setTimeout(() => finish({timeout: true}), 8000);
})
"""

#: A ``fetch`` that reports its status, final URL and headers, or the error when the page may
#: not read them.
FETCH = """
async ([url, options]) => {
  try {
    const response = await fetch(url, options);
    return {
      status: response.status,
      type: response.type,
      url: response.url,
      redirected: response.redirected,
      headers: Object.fromEntries(response.headers.entries()),
      body: await response.text(),
    };
  } catch (error) {
    return {error: String(error)};
  }
}
"""
