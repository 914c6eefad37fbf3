"""The review station's HTTP server: standard library ThreadingHTTPServer on 127.0.0.1 only.

Access: a one-time token printed at start (URL ?token=...) is exchanged for a session cookie (HttpOnly,
SameSite=Strict); every other request without that cookie gets 403. Requests must name the station's own host
(no DNS rebinding) and changes must be JSON POSTs with the X-Medanon header (no cross-site forms).
Files are addressed by id only (items.Catalog); nothing is ever written under OUTPUT.
"""
from __future__ import annotations

import hmac
import json
import re
import secrets
import threading
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..pixels.templates import all_templates, read_template, write_template
from .items import Catalog, Item
from .render import RenderError, blank_preview, frame_view, png
from .store import ReviewError, ReviewStore
from .templates import FORBIDDEN, page

COOKIE = "medanon_review"
_ID = re.compile(r"^[0-9a-f]{16}$")
_IMAGE = re.compile(r"^/image/([0-9a-f]{16})/(before|after)/(\d{1,6})\.png$")
_ITEM = re.compile(r"^/api/items/([0-9a-f]{16})(/review)?$")
_TEMPLATE = re.compile(r"^/api/templates/([A-Za-z0-9._-]{1,120})/decision$")
MAX_BODY = 1 << 20


class Station:
    """State shared by the request threads: catalogue, store, templates folder, token and session."""

    def __init__(self, catalog: Catalog, store: ReviewStore, templates_dir: Path, reviewer: str = ""):
        self.catalog, self.store, self.templates_dir, self.reviewer = catalog, store, templates_dir, reviewer
        self.token = secrets.token_urlsafe(24)
        self.session: str | None = None
        self.lock = threading.Lock()

    def exchange(self, token: str) -> str | None:
        """The one-time token -> the session cookie value (once; a second use is refused)."""
        with self.lock:
            if self.session is None and hmac.compare_digest(token.encode(), self.token.encode()):
                self.session = secrets.token_urlsafe(32)
                return self.session
        return None

    def valid(self, cookie: str | None) -> bool:
        return bool(cookie and self.session and hmac.compare_digest(cookie.encode(), self.session.encode()))

    def templates(self) -> list[dict[str, Any]]:
        return [{"id": p.stem, **t} for p, t in all_templates(self.templates_dir)]

    def template_boxes(self, item: Item) -> list[list[int]]:
        return [r["box"] for t in self.templates() if t["key"] == item.device_key and t["status"] != "rejected"
                for r in t["regions"]]


def make_handler(station: Station) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "medanon-review"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet: paths could identify
            return

        # ---- plumbing
        def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("X-Frame-Options", "DENY")
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header("Content-Security-Policy", "default-src 'self'; img-src 'self'; "
                             "style-src 'unsafe-inline'; script-src 'unsafe-inline'")
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, data: Any, status: int = 200) -> None:
            self._send(status, json.dumps(data).encode(), "application/json")

        def _error(self, status: int, message: str) -> None:
            if status == 403 and not self.path.startswith("/api/"):
                self._send(status, FORBIDDEN, "text/html; charset=utf-8")
            else:
                self._json({"error": message}, status)

        def _host_ok(self) -> bool:
            address = self.server.server_address
            assert isinstance(address, tuple)  # an AF_INET server: (host, port)
            port = address[1]
            return self.headers.get("Host", "") in (f"127.0.0.1:{port}", f"localhost:{port}")

        def _cookie(self) -> str | None:
            c = SimpleCookie()
            try:
                c.load(self.headers.get("Cookie", ""))
            except Exception:
                return None
            return c[COOKIE].value if COOKIE in c else None

        def _authorised(self) -> bool:
            if not self._host_ok():
                self._error(403, "wrong host")
                return False
            if not station.valid(self._cookie()):
                self._error(403, "open the address with the token printed at start")
                return False
            return True

        def _body(self) -> dict[str, Any] | None:
            if self.headers.get("X-Medanon") != "1" or not self.headers.get("Content-Type", "").startswith(
                    "application/json"):
                self._error(403, "changes must come from the station page")
                return None
            try:
                n = int(self.headers.get("Content-Length", "0"))
                if n > MAX_BODY:
                    raise ValueError("body too large")
                data = json.loads(self.rfile.read(n) or b"{}")
                if not isinstance(data, dict):
                    raise ValueError("expected a JSON object")
                return data
            except ValueError as e:
                self._error(400, str(e))
                return None

        def _item(self, item_id: str) -> Item | None:
            return station.catalog.items.get(item_id) if _ID.match(item_id) else None

        # ---- routes
        def do_GET(self) -> None:  # noqa: N802
            url = urlsplit(self.path)
            if url.path == "/" and "token" in parse_qs(url.query):
                if not self._host_ok():
                    return self._error(403, "wrong host")
                session = station.exchange(parse_qs(url.query)["token"][0])
                if session is None:
                    return self._error(403, "token not valid (it can be used once)")
                return self._send(303, b"", "text/plain", {
                    "Location": "/", "Set-Cookie": f"{COOKIE}={session}; HttpOnly; SameSite=Strict; Path=/"})
            if not self._authorised():
                return
            if url.path == "/":
                return self._send(200, page(station.reviewer), "text/html; charset=utf-8")
            if url.path == "/api/items":
                latest = station.store.latest()
                groups = station.catalog.grouped()
                for g in groups:
                    for it in g["items"]:
                        it["review"] = latest[it["id"]].decision if it["id"] in latest else None
                return self._json({"devices": groups, "total": len(station.catalog.items),
                                   "counts": station.store.counts()})
            if url.path == "/api/templates":
                return self._json({"templates": station.templates()})
            m = _ITEM.match(url.path)
            if m and not m.group(2):
                item = self._item(m.group(1))
                if item is None:
                    return self._error(404, "no such file")
                review = station.store.latest().get(item.id)
                valid = review if review is not None and review.digest == item.digest else None
                return self._json({"item": {**item.public(), "regions_by_frame": item.regions_by_frame},
                                   "review": valid.as_dict() if valid else None,
                                   "template": station.template_boxes(item)})
            m = _IMAGE.match(url.path)
            if m:
                return self._image(m.group(1), m.group(2), int(m.group(3)))
            return self._error(404, "not found")

        do_HEAD = do_GET

        def _image(self, item_id: str, which: str, frame: int) -> None:
            item = self._item(item_id)
            if item is None or frame >= max(1, item.frames):
                return self._error(404, "no such file or frame")
            # the paths come from the trail; checked again now (a symlink swapped in since start is refused)
            source = station.catalog.allowed(item.original)
            output = station.catalog.allowed(item.output)
            try:
                if which == "before" or output is None:
                    if source is None:
                        return self._error(404, "the original is not available")
                    view = frame_view(source, frame)
                    if which == "after":
                        review = station.store.latest().get(item.id)
                        added = [list(b[1:]) for b in review.added if b[0] in (-1, frame)] if review else []
                        view = blank_preview(view, item.regions_of(frame) + added)
                else:
                    view = frame_view(output, frame)
            except RenderError as e:
                return self._error(422, str(e))
            self._send(200, png(view), "image/png")

        def do_POST(self) -> None:  # noqa: N802
            if not self._authorised():
                return
            url = urlsplit(self.path)
            m = _ITEM.match(url.path)
            if m and m.group(2):
                item = self._item(m.group(1))
                if item is None:
                    return self._error(404, "no such file")
                body = self._body()
                if body is None:
                    return
                try:
                    review = station.store.save(item.id, item.source, item.digest, str(body.get("decision", "")),
                                                str(body.get("reviewer", "")), body.get("added") or [],
                                                body.get("removed") or [], int(body.get("frame", 0) or 0))
                except (ReviewError, ValueError, TypeError) as e:
                    return self._error(400, str(e))
                return self._json({"review": review.as_dict()})
            if url.path == "/api/templates/learn":
                if self._body() is None:
                    return
                from .learn import learn
                written = learn(station.catalog.audit_dir, station.templates_dir,
                                {r.source: r for r in station.store.latest().values()})
                return self._json({"templates": station.templates(),
                                   "message": f"{len(written)} template(s) proposed" if written else
                                   "no new template: no device has 20 released files that agree"})
            m = _TEMPLATE.match(url.path)
            if m:
                body = self._body()
                if body is None:
                    return
                status = body.get("status")
                path = station.templates_dir / f"{m.group(1)}.yaml"
                known = {p.stem for p, _ in all_templates(station.templates_dir)}
                if m.group(1) not in known or status not in ("accepted", "rejected"):
                    return self._error(404 if m.group(1) not in known else 400, "no such template or status")
                reviewer = str(body.get("reviewer", "")).strip()
                if not reviewer:
                    return self._error(400, "a reviewer name is required")
                import time
                t = read_template(path)
                t.update(status=status, decided_by=reviewer[:200], decided_at=time.strftime("%Y-%m-%dT%H:%M:%S"))
                write_template(path, t)
                return self._json({"templates": station.templates()})
            return self._error(404, "not found")

    return Handler


def serve(station: Station, port: int = 0) -> ThreadingHTTPServer:
    """A bound server on 127.0.0.1 (port 0: a free one); call serve_forever() on it."""
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(station))
    server.daemon_threads = True
    return server
