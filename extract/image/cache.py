"""A disk cache of what the image path read on a page (page.PageRead).

The key is the page image's pixels (their sha256, with shape and dpi), the
engine (name and version), every reading setting (`Settings.key()`) and the
reader's own version: the same page read the same way is read once, and a
rerun or a re-map after a template fix needs no OCR. Entries are JSON files
written atomically (a crash leaves no half entry); an entry that cannot be
read is a miss.

Used by `Options.ocr_cache` (bench/remap.py; issue 17 makes it
`shenbao remap`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from ..layout import Fragment
from ..review import Flag
from ..settings import Settings
from .page import PageRead

#: bump when a change of the image path changes what a page reads as
READER_VERSION = "13.12"


def page_key(pixels: np.ndarray, dpi: float, engine_version: str, settings: Settings,
             prior_turn: int | None = None) -> str:
    h = hashlib.sha256()
    a = np.ascontiguousarray(pixels)
    h.update(f"{a.shape}|{a.dtype}|{float(dpi):.3f}|{engine_version}|{settings.key()}|{READER_VERSION}"
             f"|{prior_turn}".encode())
    h.update(a.data)
    return h.hexdigest()


def _frag_dict(f: Fragment) -> dict:
    d = {"text": f.text, "bbox": list(f.bbox), "confidence": f.confidence, "method": f.method}
    if f.flags:
        d["flags"] = [{"reason": x.reason, "detail": x.detail, "reads": x.reads} for x in f.flags]
    if f.reads:
        d["reads"] = f.reads
    return d


def _frag(d: dict) -> Fragment:
    return Fragment(d["text"], tuple(d["bbox"]), d["confidence"], d["method"],
                    flags=[Flag(x["reason"], x["detail"], x.get("reads")) for x in d.get("flags", [])],
                    reads=list(d.get("reads") or []))


def dump(read: PageRead) -> dict:
    return {"number": read.number, "width": read.width, "height": read.height, "dpi": read.dpi,
            "rotation": read.rotation, "tables": [[list(c) for c in t] for t in read.tables],
            "fragments": [_frag_dict(f) for f in read.fragments], "warnings": read.warnings,
            "method": read.method, "evidence": read.evidence, "orientation_sure": read.orientation_sure}


def load(d: dict, number: int) -> PageRead:
    return PageRead(number, d["width"], d["height"], d["dpi"], d["rotation"],
                    [[tuple(c) for c in t] for t in d["tables"]],
                    [_frag(f) for f in d["fragments"]], list(d["warnings"]), d["method"],
                    list(d.get("evidence") or []), bool(d.get("orientation_sure", True)))


class PageCache:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str, number: int) -> PageRead | None:
        """The cached read of a page (renumbered: the same page image may sit
        at another place in another file), or None."""
        try:
            d = json.loads(self._path(key).read_text(encoding="utf-8"))
            read = load(d, number)
        except (OSError, ValueError, KeyError, TypeError):
            return None
        # warnings name their page
        old = f"page {d['number']}:"
        read.warnings = [w.replace(old, f"page {number}:", 1) if w.startswith(old) else w
                         for w in read.warnings]
        return read

    def put(self, key: str, read: PageRead) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(dump(read), fh, ensure_ascii=False)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
