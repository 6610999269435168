"""The review station's web application (Starlette): server-rendered pages
(Jinja2, every value escaped) with a little plain JavaScript, and the JSON API
scripts use too. Every request needs the station's token; state changes are
POST only, JSON only, and same-origin only."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from extract import errors
from extract.review import RISK

from . import fields
from .pages import Pages, RenderError
from .sources import SourceError, Sources
from .store import ActionError, Store, UNRESOLVED

HERE = Path(__file__).parent
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".png": "image/png", ".svg": "image/svg+xml"}
PAGE_SIZE = 100  # queue rows per page
GROUP_SIZE = 120  # tiles per group page
FILTERS = ("reason", "record", "field", "kind", "status")
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
REASON_TEXT = {
    "check_failed": "a consistency check failed", "disagreement": "two reads disagree",
    "not_normalized": "printed, but not readable as its type", "template_mismatch": "no form template fits",
    "suspect_value": "holds another label's or cell's text", "low_confidence": "read with low confidence",
    "not_found": "expected, but not found", "unread_text": "printed text no field took",
}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


class _Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _handler(fn):
    """A route method: refusals and coded errors become JSON answers, never a traceback."""
    import asyncio
    import functools

    def answer(exc) -> Response:
        if isinstance(exc, _Refused):
            return JSONResponse({"error": exc.message}, status_code=exc.status)
        if isinstance(exc, errors.ShenbaoError):
            return JSONResponse({"error": exc.message, "code": exc.code}, status_code=500)
        return JSONResponse({"error": f"{type(exc).__name__}: {exc}", "code": "E_INTERNAL"}, status_code=500)

    if asyncio.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def run(self, request):
            try:
                return await fn(self, request)
            except Exception as exc:
                return answer(exc)
        return run

    @functools.wraps(fn)
    def run_sync(self, request):
        try:
            return fn(self, request)
        except Exception as exc:
            return answer(exc)
    return run_sync


class Station:
    """Everything one running station holds."""

    def __init__(self, outdir: str | Path, sources: str | Path | None = None, reviewer: str = "reviewer",
                 token: str | None = None, host: str = "127.0.0.1"):
        self.store = Store(outdir, reviewer)
        self.sources = Sources(sources)
        self.pages = Pages(self.sources)
        self.token = token or secrets.token_urlsafe(24)
        self._token_q = quote(self.token, safe="")
        self.host = host
        self.env = Environment(loader=FileSystemLoader(str(HERE / "templates")),
                               autoescape=select_autoescape(["html"], default=True),
                               trim_blocks=True, lstrip_blocks=True)
        self.env.globals.update(u=self.url, q=lambda s: quote(s, safe=""), reason_text=REASON_TEXT,
                                token=self.token, display=fields.display, as_yuan=fields.as_yuan,
                                shown=lambda it: _display(self.store.records[it.record], it, 80))
        self.static = {p.name: p.read_bytes() for p in (HERE / "static").iterdir()
                       if p.suffix in STATIC_TYPES}
        self.app = Starlette(routes=self.routes())

    def url(self, path: str, **params) -> str:
        rest = "".join(f"&{k}={quote(str(v), safe='')}" for k, v in params.items() if v not in (None, ""))
        return f"{path}?token={self._token_q}{rest}"

    def close(self) -> None:
        self.pages.close()

    # ---------------------------------------------------------------- ASGI
    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        refusal = self.guard(scope)
        if refusal is not None:
            status, message = refusal
            return await _with_headers(JSONResponse({"error": message}, status_code=status))(scope, receive, send)

        async def send_secure(msg):
            if msg["type"] == "http.response.start":
                msg = dict(msg)
                msg["headers"] = list(msg.get("headers") or []) + SECURITY_HEADERS
            await send(msg)

        return await self.app(scope, receive, send_secure)

    def guard(self, scope) -> tuple[int, str] | None:
        """(status, why) when the request is refused; None when it may go on."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}
        query = parse_qs((scope.get("query_string") or b"").decode("latin-1"))
        given = headers.get("x-review-token") or (query.get("token") or [None])[0]
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        if not given:
            return 401, "this station needs its token (?token=… or the X-Review-Token header)"
        if not secrets.compare_digest(given.encode("utf-8", "replace"), self.token.encode()):
            return 403, "wrong token"
        host = headers.get("host", "")
        if self.host in LOOPBACK or self.host.startswith("127."):
            name = urlsplit(f"//{host}").hostname or ""
            if name not in LOOPBACK and not name.startswith("127."):
                return 403, f"unexpected Host {host!r} for a station on {self.host}"
        method = scope.get("method", "GET")
        if method in ("GET", "HEAD"):
            return None
        if method != "POST":
            return 405, "only GET and POST"
        origin = headers.get("origin")
        if origin is not None and origin != f"http://{host}":
            return 403, f"cross-origin request refused (Origin {origin})"
        if headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            return 403, "cross-site request refused"
        if headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            return 415, "send JSON (Content-Type: application/json)"
        return None

    # ---------------------------------------------------------------- routes
    def routes(self) -> list[Route]:
        return [
            Route("/", self.queue_page),
            Route("/field", self.field_page),
            Route("/next", self.next_page),
            Route("/group", self.group_page),
            Route("/record/{record}", self.record_page),
            Route("/static/{name}", self.static_file),
            Route("/api/queue", self.api_queue),
            Route("/api/records", self.api_records),
            Route("/api/records/{record}", self.api_record),
            Route("/api/records/{record}/preview", self.api_preview),
            Route("/api/records/{record}/fields", self.api_fields, methods=["POST"]),
            Route("/api/pages/{record}/{page}.png", self.api_page),
            Route("/api/crops/{record}/{entry}.png", self.api_crop),
        ]

    def _stem(self, request: Request) -> str:
        stem = request.path_params["record"]
        if not stem or stem in (".", "..") or any(c in stem for c in "/\\\x00") or stem.startswith("."):
            raise _Refused(400, "not a record name")
        if not self.store.stem_ok(stem):
            raise _Refused(404, f"no record {stem!r} in this OUTDIR")
        return stem

    def _filters(self, request: Request) -> dict:
        f = {k: request.query_params.get(k) or None for k in FILTERS}
        if f["record"] and not self.store.stem_ok(f["record"]):
            raise _Refused(404, f"no record {f['record']!r} in this OUTDIR")
        if f["reason"] and any(r not in RISK for r in f["reason"].split(",")):
            raise _Refused(400, f"unknown reason {f['reason']!r}")
        if f["kind"] not in (None, "amount"):
            raise _Refused(400, "kind is 'amount' or nothing")
        if f["status"] and f["status"] != "all" and any(
                s not in ("open", "postponed", "accepted", "corrected") for s in f["status"].split(",")):
            raise _Refused(400, f"unknown status {f['status']!r}")
        return f

    def _html(self, name: str, **ctx) -> Response:
        body = self.env.get_template(name).render(**ctx)
        return Response(body, media_type="text/html; charset=utf-8", headers={"cache-control": "no-store"})

    # ---------------------------------------------------------------- pages
    @_handler
    def queue_page(self, request: Request) -> Response:
        f = self._filters(request)
        items = self.store.queue(**f)
        page = _list_page(request)
        rows = items[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
        unresolved = self.store.queue()
        reasons: dict[str, int] = {}
        patterns: dict[str, int] = {}
        for it in unresolved:
            reasons[it.reason] = reasons.get(it.reason, 0) + 1
            if it.path:
                patterns[it.pattern] = patterns.get(it.pattern, 0) + 1
        return self._html("queue.html", items=rows, total=len(items), page=page, page_size=PAGE_SIZE,
                          pages=max(1, -(-len(items) // PAGE_SIZE)), f=f, counts=self.store.counts(),
                          reasons=sorted(reasons.items(), key=lambda kv: RISK[kv[0]]),
                          patterns=sorted(patterns.items(), key=lambda kv: -kv[1])[:30],
                          outdir=str(self.store.outdir),
                          summaries=self.store.records, first=items[0] if items else None,
                          done=request.query_params.get("done"), skipped=self.store.skipped,
                          sources=str(self.sources.root) if self.sources.root else None)

    @_handler
    def field_page(self, request: Request) -> Response:
        f = self._filters(request)
        stem = request.query_params.get("rec", "")
        if not self.store.stem_ok(stem):
            raise _Refused(404, f"no record {stem!r} in this OUTDIR")
        try:
            entry = int(request.query_params.get("i", ""))
        except ValueError:
            raise _Refused(400, "i is the review entry's number")
        it = self.store.item(stem, entry)
        if it is None:
            raise _Refused(404, f"record {stem} has no review entry {entry}")
        s = self.store.records[stem]
        rec = self.store.record(stem)
        same = [x for x in s.items if x.path == it.path and (it.path is not None or x.entry == it.entry)]
        page, bbox = _where(it, s)
        size = s.page_size(page) if page else None
        kind = fields.kind_of(rec, it.path) if it.path else None
        can_correct = fields.correctable(rec, it.path)
        value = fields.get(rec, it.path, None) if it.path and fields.exists(rec, it.path) else None
        q = self.store.queue(**f)
        pos = self.store.position(it, **f)
        nxt = self.store.neighbour(stem, entry, 1, it.status, **f)
        if nxt is not None:
            ns = self.store.records[nxt.record]
            npage, _ = _where(nxt, ns)
            self.pages.warm(ns, npage)
        else:
            npage = None
        data = {
            "record": stem, "entry": entry, "path": it.path, "status": it.status,
            "page": page, "bbox": bbox, "size": size, "correctable": can_correct,
            "original": fields.display(rec, it.path, value) if can_correct else None,
            "kind": kind.type if kind else None, "unit": s.unit,
            "post": self.url(f"/api/records/{quote(stem, safe='')}/fields"),
            "preview": self.url(f"/api/records/{quote(stem, safe='')}/preview"),
            "next": self.url("/next", rec=stem, i=entry, step=1, shown=it.status, **f),
            "self": self.url("/field", rec=stem, i=entry, saved=1, **f),
            "prev": self.url("/next", rec=stem, i=entry, step=-1, shown=it.status, **f),
            "token": self.token,
        }
        return self._html(
            "field.html", it=it, s=s, rec=rec, same=same, data=data, page=page, bbox=bbox, size=size,
            kind=kind, value=value, can_correct=can_correct, pos=pos, total=len(q), f=f,
            labels=kind.labels if kind else (), options=kind.options if kind else (),
            saved=request.query_params.get("saved") == "1",
            next_image=self.url(f"/api/pages/{quote(nxt.record, safe='')}/{npage}.png")
            if nxt is not None and npage else None)

    @_handler
    def next_page(self, request: Request) -> Response:
        f = self._filters(request)
        stem = request.query_params.get("rec", "")
        try:
            entry = int(request.query_params.get("i", "-1"))
            step = 1 if int(request.query_params.get("step", "1")) >= 0 else -1
        except ValueError:
            raise _Refused(400, "i and step are numbers")
        shown = request.query_params.get("shown", "open")
        if stem and not self.store.stem_ok(stem):
            raise _Refused(404, f"no record {stem!r} in this OUTDIR")
        nxt = self.store.neighbour(stem, entry, step, shown, **f) if stem else \
            next(iter(self.store.queue(**f)), None)
        if nxt is None:
            return RedirectResponse(self.url("/", done=1, **f), status_code=303)
        return RedirectResponse(self.url("/field", rec=nxt.record, i=nxt.entry, **f), status_code=303)

    @_handler
    def group_page(self, request: Request) -> Response:
        f = self._filters(request)
        items = self.store.queue(**f)
        page = _list_page(request)
        tiles = []
        for it in items[(page - 1) * GROUP_SIZE: page * GROUP_SIZE]:
            s = self.store.records[it.record]
            p, b = _where(it, s)
            rec_unit = s.unit
            shown = _display(s, it)
            tiles.append({
                "it": it, "page": p, "bbox": b,
                "crop": self.url(f"/api/crops/{quote(it.record, safe='')}/{it.entry}.png") if p and b else None,
                "correctable": it.correctable,
                "shown": shown, "unit": rec_unit,
                "multiline": "\n" in shown or (it.path or "").startswith("project.") and len(shown) > 40,
            })
        title = (f"reason: {f['reason']}" if f["reason"] else f"field: {f['field']}" if f["field"]
                 else "amounts" if f["kind"] == "amount" else "all flagged fields")
        data = {"token": self.token,
                "post": {r: self.url(f"/api/records/{quote(r, safe='')}/fields")
                         for r in {t["it"].record for t in tiles}}}
        return self._html("group.html", tiles=tiles, total=len(items), page=page,
                          pages=max(1, -(-len(items) // GROUP_SIZE)), f=f, title=title, data=data)

    @_handler
    def record_page(self, request: Request) -> Response:
        stem = self._stem(request)
        s = self.store.records[stem]
        rec = self.store.record(stem)
        entries = rec.get("review") or []
        by_path: dict[str, list[tuple[int, dict]]] = {}
        for i, e in enumerate(entries):
            by_path.setdefault(e.get("path") or "", []).append((i, e))
        prov = rec.get("provenance") or {}
        rows = []
        for p in fields.leaves(rec):
            v = fields.get(rec, p, None)
            mine = [(i, e) for key, lst in by_path.items() if key and (p == key or p.startswith(key + ".")
                                                                      or p.startswith(key + "["))
                    for i, e in lst]
            k = fields.kind_of(rec, p)
            rows.append({"path": p, "value": v, "shown": fields.display(rec, p, v), "kind": k.type,
                         "label": k.labels[0] if k.labels else "", "entries": mine,
                         "page": (prov.get(p) or {}).get("page"), "bbox": (prov.get(p) or {}).get("bbox"),
                         "unresolved": any(e.get("status", "open") in UNRESOLVED for _, e in mine)})
        other = [(i, e) for i, e in enumerate(entries)
                 if not e.get("path") or not fields.correctable(rec, e.get("path"))]
        pages = [p for p in (s.source.get("page_sizes") or []) if isinstance(p.get("page"), int)]
        boxes = [{"path": r["path"], "page": r["page"], "bbox": r["bbox"], "flag": r["unresolved"]}
                 for r in rows if r["page"] and r["bbox"]]
        boxes += [{"path": e.get("path") or "", "page": e.get("page"), "bbox": e.get("bbox"), "flag": True}
                  for _, e in other if e.get("page") and e.get("bbox") and e.get("status", "open") in UNRESOLVED]
        data = {"token": self.token, "record": stem, "boxes": boxes,
                "post": self.url(f"/api/records/{quote(stem, safe='')}/fields"),
                "preview": self.url(f"/api/records/{quote(stem, safe='')}/preview"),
                "sizes": {str(p["page"]): p for p in pages}}
        return self._html("record.html", s=s, rec=rec, rows=rows, other=other, pages=pages, data=data,
                          stem=stem, verification=rec.get("verification"))

    @_handler
    def static_file(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in self.static:  # a fixed set of names: no path from a request is ever opened
            raise _Refused(404, "no such asset")
        return Response(self.static[name], media_type=STATIC_TYPES[Path(name).suffix],
                        headers={"cache-control": "private, max-age=3600"})

    # ---------------------------------------------------------------- API
    @_handler
    def api_queue(self, request: Request) -> Response:
        f = self._filters(request)
        return _json([it.as_dict() for it in self.store.queue(**f)])

    @_handler
    def api_records(self, request: Request) -> Response:
        out = []
        for stem, s in self.store.records.items():
            open_ = sum(1 for it in s.items if it.status in UNRESOLVED)
            out.append({"record": stem, "name": s.name, "variant": s.variant, "entries": len(s.items),
                        "open": open_, "verification": s.verification,
                        "stale": s.stale})
        return _json(out)

    @_handler
    def api_record(self, request: Request) -> Response:
        return _json(self.store.record(self._stem(request)))

    @_handler
    def api_preview(self, request: Request) -> Response:
        stem = self._stem(request)
        path = request.query_params.get("path", "")
        value = request.query_params.get("value", "")
        rec = self.store.record(stem)
        try:
            v = fields.normalize(rec, path, value)
        except fields.FieldError as exc:
            return _json({"ok": False, "error": str(exc)})
        return _json({"ok": True, "value": v, "yuan": fields.as_yuan(v)
                      if fields.kind_of(rec, path).type == "amount" else None})

    @_handler
    async def api_fields(self, request: Request) -> Response:
        stem = self._stem(request)
        raw = await request.body()
        if len(raw) > 1 << 20:
            raise _Refused(413, "request too large")
        try:
            body = json.loads(raw)
        except ValueError:
            raise _Refused(400, "the body is not JSON")
        if not isinstance(body, dict):
            raise _Refused(400, 'send {"path", "value", "action"}')
        path, action, entry = body.get("path"), body.get("action"), body.get("entry")
        if path is not None and not isinstance(path, str):
            raise _Refused(400, "path is a string (or null with entry)")
        if entry is not None and (not isinstance(entry, int) or isinstance(entry, bool)):
            raise _Refused(400, "entry is the review entry's number")
        value = body.get("value")
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise _Refused(400, "value is a string, a number, true/false or null")
        from starlette.concurrency import run_in_threadpool

        try:  # the record's lock is a thread lock: act in a worker thread
            result = await run_in_threadpool(self.store.act, stem, path, action, value, entry)
        except ActionError as exc:
            raise _Refused(400, str(exc))
        return _json(result)

    @_handler
    def api_page(self, request: Request) -> Response:
        stem = self._stem(request)
        try:
            page = int(request.path_params["page"])
        except ValueError:
            raise _Refused(400, "the page is a number")
        s = self.store.records[stem]
        if s.page_size(page) is None:
            raise _Refused(404, f"record {stem} has no page {page}")
        data = self._render(lambda: self.pages.png(s, page))
        return Response(data, media_type="image/png", headers={"cache-control": "private, max-age=86400"})

    @_handler
    def api_crop(self, request: Request) -> Response:
        stem = self._stem(request)
        try:
            entry = int(request.path_params["entry"])
        except ValueError:
            raise _Refused(400, "the entry is a number")
        it = self.store.item(stem, entry)
        if it is None:
            raise _Refused(404, f"record {stem} has no review entry {entry}")
        s = self.store.records[stem]
        page, bbox = _where(it, s)
        if not page or not bbox or s.page_size(page) is None:
            raise _Refused(404, "the entry points at no box on a page")
        data = self._render(lambda: self.pages.crop(s, page, bbox))
        return Response(data, media_type="image/png", headers={"cache-control": "private, max-age=86400"})

    def _render(self, fn) -> bytes:
        try:
            return fn()
        except SourceError as exc:
            raise _Refused(exc.status, exc.message)
        except RenderError as exc:
            raise _Refused(422, str(exc))


def _json(obj: Any) -> Response:
    return Response(json.dumps(obj, ensure_ascii=False), media_type="application/json; charset=utf-8",
                    headers={"cache-control": "no-store"})


def _with_headers(resp: Response) -> Response:
    for k, v in SECURITY_HEADERS:
        resp.headers[k.decode()] = v.decode()
    return resp


def _list_page(request: Request) -> int:
    """The ?page= of a paged list (1 when absent); 400 when it is not a number."""
    try:
        return max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        raise _Refused(400, "page is a number")


def _where(it, s) -> tuple[int | None, list[float] | None]:
    """Where to look for an entry: its own page and box, else the field's
    provenance; a page without a box when only the page is known."""
    page, bbox = it.page, it.bbox
    if (not page or not bbox) and it.path:
        prov = s.provenance.get(it.path) or {}
        if prov.get("page") and prov.get("bbox"):
            page, bbox = prov["page"], prov["bbox"]
    if not page:
        pages = [p.get("page") for p in s.source.get("page_sizes") or []]
        page = pages[0] if pages else None
    return page, (list(bbox) if bbox else None)


def _display(s, it, limit: int | None = None) -> str:
    """An entry's value as typed, in the record's printed unit for amounts."""
    rec_like = {"form": {"amount_unit": s.unit, "variant": s.variant or ""},
                "extra": {it.path[6:]: it.value} if it.path and it.path.startswith("extra.") else {}}
    text = fields.display(rec_like, it.path, it.value) if it.path else ""
    return text if limit is None or len(text) <= limit else text[:limit - 1] + "…"
