"""What `batch` and `extract` share once a document is read: its records
written (atomically, under names no other document holds), its manifest line,
its status, and the run's summary.

Statuses
  ok       every page was read; the records are complete as far as reading goes.
  partial  records were written, but pages were lost (out of memory, too large,
           damaged): the manifest line names them (`pages_lost`, and the code
           of the first in `error_code`), each record's `review` has an
           `unread_text` entry per lost page. A rerun redoes the document.
  error    no record (the code says why). A rerun retries it.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from extract import errors
from pipelines.io import output_names, printable
from pipelines.manifest import DONE, ERROR, OK, PARTIAL, Input, Manifest, State
from pipelines.outdir import Outdir

log = logging.getLogger("shenbao")
_LOST = re.compile(r"^page (\d+): unreadable, skipped \((?:(E_[A-Z_]+): )?(.*)\)$", re.S)


@dataclass
class Job:
    input: Input
    stem: str  # preferred output name without ".json" (and without "-N")
    continues: dict | None = None  # the manifest line of the document this job reads again
    source_file: str | None = None  # what records say in source.file (default: input.rel)
    base: str | None = None  # the natural stem (before any _2): taken back from a record a kill orphaned

    @property
    def rel(self) -> str:
        return self.input.rel

    @property
    def path(self) -> Path:
        return self.input.path

    @property
    def sha256(self) -> str | None:
        return self.input.sha256


@dataclass
class Summary:
    found: int = 0  # input files
    skipped: int = 0  # done by an earlier run (or a copy of a done file)
    ok: int = 0
    partial: int = 0
    failed: dict[str, int] = field(default_factory=dict)  # error code → documents
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # file, code, message
    partials: list[tuple[str, list[int], str]] = field(default_factory=list)  # file, pages lost, message
    records: int = 0
    pages: int = 0
    warnings: int = 0
    review: int = 0
    checks_failed: int = 0
    stale: int = 0  # records marked stale by this run
    moved: int = 0  # done documents found under a new name
    not_followed: list[str] = field(default_factory=list)  # symbolic links passed over
    bad_manifest_lines: int = 0
    left: list[tuple[str, str]] = field(default_factory=list)  # remap: documents not read again, and why
    seconds: float = 0.0
    written: list[dict] = field(default_factory=list)  # manifest lines of this run's documents

    @property
    def n_failed(self) -> int:
        return sum(self.failed.values())

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0

    def count(self, entry: dict) -> None:
        self.written.append(entry)
        log.info("%s: %s%s (%d records, %s pages, %s s)", printable(entry.get("file") or ""), entry["status"],
                 f" {entry['error_code']}: {entry['error_message']}" if entry.get("error_code") else "",
                 len(entry.get("records") or []), entry.get("pages"), entry.get("seconds"))
        if entry["status"] in DONE:
            self.records += len(entry["records"])
            self.pages += entry.get("pages") or 0
            self.warnings += entry.get("warnings") or 0
            self.review += entry.get("review") or 0
            self.checks_failed += entry.get("checks_failed") or 0
        if entry["status"] == OK:
            self.ok += 1
        elif entry["status"] == PARTIAL:
            self.partial += 1
            self.partials.append((entry["file"], entry["pages_lost"], entry["error_message"]))
        else:
            code = entry["error_code"] or "E_INTERNAL"
            self.failed[code] = self.failed.get(code, 0) + 1
            self.failures.append((entry["file"], code, entry["error_message"]))

    def __str__(self) -> str:
        lines = [f"{self.found} files found, {self.skipped} already done, {self.ok} ok, "
                 f"{self.partial} partial, {self.n_failed} failed ({self.records} records)",
                 f"{self.warnings} warnings, {self.review} review entries, {self.checks_failed} failed checks",
                 f"{self.pages} pages in {self.seconds:.1f} s ({self.pages_per_second:.2f} pages/s)"]
        if self.failed:
            lines.append("failed: " + ", ".join(f"{c} {n}" for c, n in sorted(self.failed.items())))
        if self.partial:
            lines.append(f"partial: {self.partial} documents lost pages; a rerun (or --retry-partial with "
                         "other limits) redoes them")
        if self.stale:
            lines.append(f"stale: {self.stale} records whose input is gone or changed (left out of exports)")
        if self.moved:
            lines.append(f"moved: {self.moved} done documents found under a new name (not redone)")
        if self.not_followed:
            lines.append(f"not followed: {len(self.not_followed)} symbolic links (give --follow-symlinks)")
        if self.left:
            lines.append(f"left as they were: {len(self.left)} documents (named above)")
        if self.bad_manifest_lines:
            lines.append(f"manifest: {self.bad_manifest_lines} lines that are not JSON objects were passed over")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {"found": self.found, "skipped": self.skipped, "ok": self.ok, "partial": self.partial,
                "failed": self.n_failed, "failed_by_code": dict(sorted(self.failed.items())),
                "records": self.records, "pages": self.pages, "warnings": self.warnings,
                "review": self.review, "checks_failed": self.checks_failed, "stale": self.stale,
                "seconds": round(self.seconds, 3),
                "documents": [{k: e.get(k) for k in ("file", "sha256", "status", "error_code", "error_message",
                                                     "pages", "pages_lost", "records", "warnings", "review",
                                                     "checks_failed", "seconds")} for e in self.written]}


def lost_pages(records: list[dict]) -> list[tuple[int, str | None, str]]:
    """(page, code, note) of every page lost, from the records' warnings and
    source.page_kinds (the pipeline writes `page N: unreadable, skipped (…)`)."""
    notes: dict[int, tuple[str | None, str]] = {}
    pages: set[int] = set()
    for rec in records:
        src = rec.get("source") or {}
        pages.update(n for n in (src.get("page_kinds") or {}).get("error", []) if isinstance(n, int))
        for w in rec.get("warnings") or []:
            m = _LOST.match(w) if isinstance(w, str) else None
            if m:
                notes.setdefault(int(m.group(1)), (m.group(2), m.group(3)))
                pages.add(int(m.group(1)))
    return [(n, *notes.get(n, (None, "unreadable"))) for n in sorted(pages)]


class Writer:
    """Writes documents' records and manifest lines into a held OUTDIR."""

    def __init__(self, out: Outdir, manifest: Manifest, command: str, overwrite: bool = False):
        self.out, self.manifest, self.command, self.overwrite = out, manifest, command, overwrite
        self.state: State = manifest.state
        self.on_disk = out.names()
        self.used: set[str] = set()  # names written by this run

    # ---------------------------------------------------------------- names
    def own_names(self, job: Job) -> set[str]:
        return {n.casefold() for n in (self.state.live_names(job.continues) if job.continues else [])}

    def free(self, name: str, job: Job) -> bool:
        """May job write OUTDIR/name? Not when another document holds it (in the
        manifest, or as a file already there), unless --overwrite."""
        key = name.casefold()
        if key in self.used:
            return False
        if self.overwrite or key in self.own_names(job):
            return True
        if key in self.state.known:
            return False
        return key not in self.on_disk or self._orphan_of(name, job)

    def _orphan_of(self, name: str, job: Job) -> bool:
        """A record file no manifest line names (a kill came between writing it
        and its manifest line) that this very input gave: the job may replace it."""
        try:
            rec = json.loads(self.out.file(name).read_bytes())
            src = rec.get("source") or {}
        except (OSError, ValueError, AttributeError):
            return False
        return src.get("sha256") == job.sha256 and src.get("file") == printable(job.source_file or job.rel)

    def _reclaim(self, job: Job, count: int) -> list[str] | None:
        """The natural names, when a kill left this input's own record there
        before its manifest line was written (the record says it is this input's)."""
        if not job.base or job.base == job.stem:
            return None
        names = output_names(job.base, count)
        mine = False
        for x in names:
            key = x.casefold()
            if key in self.used or key in self.state.known:
                return None
            if key in self.on_disk:
                if not self._orphan_of(x, job):
                    return None
                mine = True
        return names if mine else None

    def names_for(self, job: Job, count: int) -> list[str]:
        reclaimed = self._reclaim(job, count)
        if reclaimed:
            return reclaimed
        n, stem = 1, job.stem
        while True:
            names = output_names(stem, count)
            if all(self.free(x, job) for x in names):
                return names
            n += 1
            stem = f"{job.stem}_{n}"

    # ---------------------------------------------------------------- a document
    def finish(self, job: Job, result: dict) -> dict:
        """Write one document's records (atomically) and its manifest line; return the line."""
        entry = new_entry(job, result, self.command)
        if result["status"] != OK:
            self.manifest.append(entry)
            return entry
        records = result["records"]
        try:
            names = self.names_for(job, len(records))
            replaced = self._replaced_owners(names, job)
            for name, rec in zip(names, records):
                rec.setdefault("source", {})["file"] = printable(job.source_file or job.rel)
                self.out.write_json(name, rec)
                self.used.add(name.casefold())
                self.on_disk.add(name.casefold())
            self.out.sync()
        except errors.ShenbaoError as exc:
            entry.update(status=ERROR, error_code=exc.code, error_message=exc.message)
            self.manifest.append(entry)
            return entry
        describe(entry, records, names)
        for owner, their in replaced:
            self.manifest.mark_stale(owner, f"replaced by {printable(job.rel)} (--overwrite)", their)
        self.manifest.append(entry)
        if job.continues:
            mine = {x.casefold() for x in names}
            left = [n for n in self.state.live_names(job.continues) if n.casefold() not in mine]
            if left:
                self.manifest.mark_stale(job.continues, "superseded", left)
        return entry

    def _replaced_owners(self, names: list[str], job: Job) -> list[tuple[dict, list[str]]]:
        """With --overwrite: the other documents whose records these names replace."""
        out: dict[int, tuple[dict, list[str]]] = {}
        for n in names:
            owner = self.state.owner.get(n.casefold())
            if owner is None or owner is job.continues or self.state.is_stale(n):
                continue
            out.setdefault(id(owner), (owner, []))[1].append(n)
        return list(out.values())


def new_entry(job: Job, result: dict, command: str) -> dict:
    """A document's manifest line, before its records are written."""
    return {**job.input.identity(), "command": command, "status": result["status"],
            "error_code": result.get("code"), "error_message": result.get("message"),
            "pages": None, "pages_lost": [], "seconds": _round(result.get("seconds")), "records": [],
            "warnings": 0, "review": 0, "checks_failed": 0}


def describe(entry: dict, records: list[dict], names: list[str]) -> dict:
    """Fill in what a document's records say: names, pages, counts, and the
    status: partial when any page was lost."""
    entry["records"] = names
    entry["pages"] = (records[0].get("source") or {}).get("page_count") if records else None
    entry["warnings"] = sum(len(r.get("warnings") or []) for r in records)
    entry["review"] = sum(len(r.get("review") or []) for r in records)
    entry["checks_failed"] = sum(not c.get("passed") for r in records for c in r.get("checks") or [])
    lost = lost_pages(records)
    if lost:
        entry.update(status=PARTIAL, pages_lost=[n for n, _, _ in lost],
                     error_code=next((c for _, c, _ in lost if c), errors.CorruptFile.code),
                     error_message="; ".join(f"page {n} lost ({c + ': ' if c else ''}{why})"
                                             for n, c, why in lost))
    return entry


def _round(x):
    return None if x is None else round(x, 3)
