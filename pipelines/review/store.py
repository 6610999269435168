"""The records of one OUTDIR under review: the queue of their `review`
entries, and the corrections people make, saved beside the records.

* Extracted records (`OUTDIR/<stem>.json`) are read, never changed.
* A reviewed record (`OUTDIR/reviewed/<stem>.json`) is the whole record with
  the corrections applied, every review entry carrying a `status`, and a
  top-level `verification`; it is written atomically (pipelines/io.py) after
  every action, and one line per action goes to `OUTDIR/reviewed/audit.jsonl`.
* One lock per record: concurrent actions on one record are applied one after
  the other, so none is lost.
"""

from __future__ import annotations

import bisect
import copy
import itertools
import json
import os
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from extract import errors
from extract.checks import run_checks
from extract.review import RISK
from pipelines.io import atomic_write_json

from . import fields

STATUSES = ("open", "accepted", "corrected", "postponed")
UNRESOLVED = ("open", "postponed")
ACTIONS = ("correct", "accept", "postpone")
_STATUS_OF = {"correct": "corrected", "accept": "accepted", "postpone": "postponed"}
REVIEWED = "reviewed"
AUDIT = "audit.jsonl"
_BAD_STEM = re.compile(r"[\x00-\x1f\x7f/\\]|^\.")


def now() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def field_pattern(path: str | None) -> str:
    """`budget_items[3].amount` → `budget_items[].amount`: the field kind a
    group view gathers across records."""
    return re.sub(r"\[\d+\]", "[]", path) if path else "(no field)"


class ActionError(ValueError):
    """An action the station refuses (HTTP 400), with the reason."""


@dataclass
class Item:
    """One review entry of one record, as the queue lists it."""

    record: str
    entry: int
    path: str | None
    reason: str
    status: str
    value: Any
    page: int | None
    bbox: list[float] | None
    detail: str
    check: str | None
    reads: list[dict] | None
    amount: bool
    correctable: bool = False
    key: tuple = ()
    pattern: str = ""

    def __post_init__(self):
        # riskiest first (extract.review.RISK: checks and disagreements before
        # text), amounts before other fields, postponed entries after open ones
        self.key = (self.status == "postponed", RISK.get(self.reason, len(RISK)), not self.amount,
                    self.record, self.entry)
        self.pattern = field_pattern(self.path)

    def as_dict(self) -> dict:
        d = {"record": self.record, "path": self.path, "reason": self.reason, "value": self.value,
             "page": self.page, "bbox": self.bbox, "detail": self.detail, "entry": self.entry,
             "status": self.status}
        if self.check:
            d["check"] = self.check
        if self.reads:
            d["reads"] = self.reads
        return d


@dataclass
class Summary:
    """What the station keeps in memory of one record (the rest stays on disk)."""

    stem: str
    path: Path
    name: str | None
    variant: str | None
    unit: str
    source: dict
    verification: str | None  # None: not reviewed yet
    stale: bool  # the reviewed record was made from another extraction of another input
    items: list[Item]
    provenance: dict

    def page_size(self, page: int) -> dict | None:
        for p in self.source.get("page_sizes") or []:
            if p.get("page") == page:
                return p
        return None


def check_paths(rec: dict, names: Iterable[str]) -> list[str]:
    """A check's field names with `[]` spelled out for every row."""
    out = []
    for name in names:
        if "[]" in name:
            head, _, tail = name.partition("[]")
            out += [f"{head}[{i}]{tail}" for i in range(len(rec.get(head) or []))]
        else:
            out.append(name)
    return out


def open_entries(rec: dict) -> int:
    return sum(1 for e in rec.get("review") or [] if e.get("status", "open") in UNRESOLVED)


class Store:
    def __init__(self, outdir: str | Path, reviewer: str):
        self.outdir = Path(outdir)
        self.dir = self.outdir / REVIEWED
        self.reviewer = reviewer
        self.records: dict[str, Summary] = {}
        self.skipped: list[tuple[str, str]] = []  # (file, why) not loaded
        self._locks: dict[str, threading.Lock] = {}
        self._audit_lock = threading.Lock()
        self._index_lock = threading.Lock()
        self._queue: list[Item] | None = None
        self._filtered: dict[tuple, tuple[list[Item], list[tuple]]] = {}
        self.load()

    # ------------------------------------------------------------ loading
    def load(self) -> None:
        if not self.outdir.is_dir():
            raise errors.UsageError(f"{self.outdir}: not a directory of records")
        for p in sorted(self.outdir.iterdir()):
            if p.suffix != ".json" or not p.is_file() or p.name.startswith("."):
                continue  # manifest.jsonl, sub-folders (reviewed/), hidden temp files
            stem = p.stem
            if _BAD_STEM.search(stem):
                self.skipped.append((p.name, "name not usable"))
                continue
            try:
                self._index(stem, p)
            except (OSError, ValueError, TypeError, AttributeError, KeyError) as exc:
                self.skipped.append((p.name, f"not a record ({type(exc).__name__}: {exc})"))
        self._locks = {s: threading.Lock() for s in self.records}

    def _read(self, p: Path) -> dict:
        obj = json.loads(p.read_text(encoding="utf-8"))
        if not isinstance(obj, dict) or not isinstance(obj.get("review", []), list):
            raise ValueError("not a JSON record")
        return obj

    def _index(self, stem: str, path: Path, rec: dict | None = None, extracted_sha: str | None = None) -> None:
        stale = False
        if rec is None:
            extracted = self._read(path)
            rp = self.dir / f"{stem}.json"
            if rp.is_file():
                rec = self._read(rp)
                stale = ((rec.get("source") or {}).get("sha256")
                         != (extracted.get("source") or {}).get("sha256"))
            else:
                rec = extracted
                rec.pop("verification", None)
        elif stem in self.records:
            stale = self.records[stem].stale
        src = rec.get("source") or {}
        items = []
        for i, e in enumerate(rec.get("review") or []):
            if not isinstance(e, dict) or e.get("reason") not in RISK:
                continue
            p = e.get("path")
            value = None
            amount = can = False
            if isinstance(p, str):
                try:
                    v = fields.get(rec, p, None)
                    value = v if not isinstance(v, (dict, list)) else copy.deepcopy(v)
                    amount = fields.kind_of(rec, p).type == "amount"
                    can = fields.correctable(rec, p)
                except fields.FieldError:
                    pass
            items.append(Item(stem, i, p if isinstance(p, str) else None, e["reason"],
                              e.get("status", "open"), value, e.get("page"), e.get("bbox"),
                              str(e.get("detail", "")), e.get("check"), e.get("reads"), amount, can))
        ver = rec.get("verification") if isinstance(rec.get("verification"), dict) else None
        self.records[stem] = Summary(
            stem=stem, path=path, name=(rec.get("project") or {}).get("name"),
            variant=(rec.get("form") or {}).get("variant"), unit=fields.amount_unit(rec),
            source=src, verification=ver.get("status") if ver else None, stale=stale, items=items,
            provenance=_where_of(rec, {it.path for it in items if it.path}))
        with self._index_lock:
            self._queue = None
            self._filtered = {}

    # ------------------------------------------------------------ reading
    def stem_ok(self, stem: str) -> bool:
        return stem in self.records

    def record(self, stem: str) -> dict:
        """The record with corrections applied (the reviewed one when it exists)."""
        s = self.records[stem]
        rp = self.dir / f"{stem}.json"
        if rp.is_file():
            return self._read(rp)
        rec = self._read(s.path)
        for e in rec.get("review") or []:
            if isinstance(e, dict):
                e.setdefault("status", "open")
        rec.pop("verification", None)
        return rec

    def extracted(self, stem: str) -> dict:
        return self._read(self.records[stem].path)

    def all_items(self) -> list[Item]:
        with self._index_lock:
            if self._queue is None:
                q = [it for s in self.records.values() for it in s.items]
                q.sort(key=lambda it: it.key)
                self._queue = q
            return self._queue

    def queue(self, reason: str | None = None, record: str | None = None, field: str | None = None,
              kind: str | None = None, status: str | None = None) -> list[Item]:
        """The queue in risk order, filtered. status: open | postponed |
        accepted | corrected | all; default open and postponed."""
        return self._queue_keys(reason, record, field, kind, status)[0]

    def _queue_keys(self, *filters) -> tuple[list[Item], list[tuple]]:
        """The filtered queue and its sort keys, kept until a record changes."""
        with self._index_lock:
            hit = self._filtered.get(filters)
        if hit is not None:
            return hit
        items = self._select(*filters)
        hit = (items, [it.key for it in items])
        with self._index_lock:
            if len(self._filtered) > 64:
                self._filtered.clear()
            self._filtered[filters] = hit
        return hit

    def _select(self, reason, record, field, kind, status) -> list[Item]:
        wanted = set(UNRESOLVED) if not status else set(STATUSES) if status == "all" \
            else set(status.split(","))
        reasons = set(reason.split(",")) if reason else None
        rx = _field_filter(field) if field else None
        out = []
        for it in self.all_items():
            if it.status not in wanted or (reasons and it.reason not in reasons):
                continue
            if record and it.record != record:
                continue
            if kind == "amount" and not it.amount:
                continue
            if rx is not None and not (it.path and rx.search(it.path)):
                continue
            out.append(it)
        return out

    def position(self, it: Item, **f) -> int | None:
        """1-based place of an entry in the filtered queue (None: not in it)."""
        q, keys = self._queue_keys(f.get("reason"), f.get("record"), f.get("field"), f.get("kind"),
                                   f.get("status"))
        i = bisect.bisect_left(keys, it.key)
        return i + 1 if i < len(q) and q[i] is it else None

    def item(self, stem: str, entry: int) -> Item | None:
        s = self.records.get(stem)
        if s is None:
            return None
        return next((it for it in s.items if it.entry == entry), None)

    def neighbour(self, stem: str, entry: int, step: int = 1, shown: str = "open",
                  **filters) -> Item | None:
        """The unresolved entry after (step 1) or before (step -1) the given one
        in the filtered queue, which keeps the place it had when it was shown
        (`shown`: its status then); after the last, the first again (postponed
        ones come round); None when nothing is left."""
        f = filters
        q, keys = self._queue_keys(f.get("reason"), f.get("record"), f.get("field"), f.get("kind"),
                                   f.get("status"))
        if not q:
            return None
        cur = self.item(stem, entry)
        if cur is None:
            return q[0]
        key = (shown == "postponed",) + cur.key[1:]
        n = len(q)
        if step > 0:
            start = bisect.bisect_right(keys, key)
            order = itertools.chain(range(start, n), range(0, start))
        else:
            start = bisect.bisect_left(keys, key) - 1
            order = itertools.chain(range(start, -1, -1), range(n - 1, start, -1))
        for i in order:
            it = q[i]
            if (it.record, it.entry) != (stem, entry):
                return it
        return None

    def counts(self) -> dict:
        by_status = {s: 0 for s in STATUSES}
        for it in self.all_items():
            by_status[it.status] = by_status.get(it.status, 0) + 1
        verified = sum(1 for s in self.records.values() if s.verification == "verified")
        clean = sum(1 for s in self.records.values() if s.verification is None and not s.items)
        return {"records": len(self.records), "verified": verified, "clean": clean, **by_status}

    # ------------------------------------------------------------ actions
    def act(self, stem: str, path: str | None, action: str, value: Any = None,
            entry: int | None = None) -> dict:
        """Apply one person's action to one record and save it. `path` names a
        field (every entry of that path is acted on) or, with `entry`, one
        review entry (the way to answer entries that name no field). Raises
        ActionError for what cannot be done; nothing is written then."""
        if action not in ACTIONS:
            raise ActionError(f"action must be one of {', '.join(ACTIONS)}")
        with self._locks[stem]:
            rec = self.record(stem)
            entries = rec.setdefault("review", [])
            if entry is not None:
                if not (0 <= entry < len(entries)):
                    raise ActionError(f"record {stem} has no review entry {entry}")
                if path is not None and entries[entry].get("path") != path:
                    raise ActionError(f"review entry {entry} is about {entries[entry].get('path')!r}, not {path!r}")
                path = entries[entry].get("path")
                targets = [entry]
            else:
                if not isinstance(path, str) or not path:
                    raise ActionError("give the field's path (or the review entry's number as 'entry')")
                targets = [i for i, e in enumerate(entries) if e.get("path") == path]
                if not targets and not (action == "correct" and fields.exists(rec, path)):
                    raise ActionError(f"record {stem} has no review entry for {path!r}"
                                      if fields.exists(rec, path) else f"record {stem} has no field {path!r}")
            old = fields.get(rec, path, None) if path and fields.exists(rec, path) else None
            new = old
            if action == "correct":
                if not fields.correctable(rec, path):
                    raise ActionError(f"{path!r} is not a value that can be corrected "
                                      "(a whole table, a row, or no field); accept or postpone it")
                try:
                    new = fields.normalize(rec, path, value)
                except fields.FieldError as exc:
                    raise ActionError(str(exc)) from None
                fields.set_value(rec, path, new)
            status = _STATUS_OF[action]
            before = {i: entries[i].get("status", "open") for i in range(len(entries))}
            for i in targets:
                entries[i]["status"] = status
            changes = self._recheck(rec, set(targets)) if action == "correct" else {}
            unresolved = open_entries(rec)
            rec["verification"] = {"status": "in_review" if unresolved else "verified",
                                   "reviewer": self.reviewer, "updated": now()}
            from extract.record import validate

            try:
                validate(rec)
            except errors.InvalidRecord as exc:
                raise ActionError(f"the corrected record breaks the record contract: {exc.message}") from None
            self.dir.mkdir(exist_ok=True)
            atomic_write_json(self.dir / f"{stem}.json", rec)
            line = {"time": rec["verification"]["updated"], "reviewer": self.reviewer, "record": stem,
                    "path": path, "old": old, "new": new, "action": action,
                    "entries": [{"entry": i, "reason": entries[i]["reason"], "was": before[i],
                                 "status": entries[i]["status"]} for i in targets]}
            if value is not None and action == "correct":
                line["typed"] = value
            line.update({k: v for k, v in changes.items() if v})
            self._audit(line)
            self._index(stem, self.records[stem].path, rec)
            self.records[stem].verification = rec["verification"]["status"]
            return {"record": stem, "path": path, "action": action, "old": old, "value": new,
                    "entries": line["entries"], **{k: v for k, v in changes.items() if v},
                    "open": unresolved, "verification": rec["verification"]}

    def _recheck(self, rec: dict, acted: set[int]) -> dict:
        """Rerun the consistency checks on a corrected record. A check that
        still fails keeps its entries open (those this correction answered are
        opened again, with the new numbers); one that passes now resolves its
        open entries; a check the correction broke gets new open entries."""
        new = run_checks(rec)
        rec["checks"] = new
        passed = {c["id"] for c in new if c["passed"]}
        failing = {c["id"]: c for c in new if not c["passed"]}
        entries = rec["review"]
        prov = rec.get("provenance") or {}
        reopened, resolved, added = [], [], []
        for i, e in enumerate(entries):
            cid = e.get("check")
            if e.get("reason") != "check_failed" or not cid:
                continue
            if cid in failing:
                e["detail"] = failing[cid]["detail"]
                if i in acted:
                    e["status"] = "open"
                    reopened.append({"entry": i, "path": e.get("path"), "check": cid})
            elif cid in passed and e.get("status", "open") in UNRESOLVED:
                e["status"] = "corrected"
                resolved.append({"entry": i, "path": e.get("path"), "check": cid})
        for cid, c in failing.items():
            for p in check_paths(rec, c["fields"]):
                if any(e.get("check") == cid and e.get("path") == p for e in entries):
                    continue
                where = prov.get(p) or {}
                entries.append({"path": p, "reason": "check_failed", "page": where.get("page"),
                                "bbox": where.get("bbox"), "detail": c["detail"], "check": cid,
                                "status": "open"})
                added.append({"entry": len(entries) - 1, "path": p, "check": cid})
        return {"reopened": reopened, "resolved": resolved, "added": added}

    def _audit(self, line: dict) -> None:
        data = (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")
        with self._audit_lock:
            try:
                fd = os.open(self.dir / AUDIT, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                try:
                    os.write(fd, data)
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as exc:
                raise errors.OutputError(f"cannot append to {self.dir / AUDIT}: {exc.strerror or exc}") from exc


def _where_of(rec: dict, paths: set[str]) -> dict:
    """page and bbox of the flagged fields (where an entry without a box points)."""
    prov = rec.get("provenance") or {}
    out = {}
    for p in paths:
        v = prov.get(p)
        if isinstance(v, dict):
            out[p] = {"page": v.get("page"), "bbox": v.get("bbox")}
    return out


def _field_filter(text: str) -> re.Pattern:
    """A field filter: a path (`funding.total_budget`), a prefix (`funding`),
    or a kind with `[]` for any row (`budget_items[].amount`)."""
    rx = re.escape(text.strip()).replace(r"\[\]", r"\[\d+\]")
    return re.compile(rf"^{rx}(?:$|[.\[])")
