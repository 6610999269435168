"""The `review` list of a record (record-spec.md, "Right or flagged").

Every value a person must look at is named by one entry: the field path, a
reason from a closed list, where to look (page and bbox in PDF points), and a
sentence. A stage that doubts a value calls `Findings.flag`, which writes the
entry and the human sentence of `warnings` together, so the two never drift.

Flags can start below the record too: the image path puts a `Flag` on a text
fragment (two reads that disagree); it travels with the fragment into its
cell, with the cell into the raw value, and becomes an entry under the path of
the field that took the value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

REASONS = (
    "not_found",          # the template expects it, the form gave nothing
    "low_confidence",     # read, but not surely
    "disagreement",       # independent reads differ
    "check_failed",       # a consistency check on it failed
    "not_normalized",     # printed, but not readable as its type (12,000,00)
    "suspect_value",      # holds another label's text or a neighbouring cell's
    "unread_text",        # printed text that ended in no field, label or extra
    "template_mismatch",  # no template fits well: every field is in doubt
)

# most urgent first: what a review queue shows first
RISK = {"check_failed": 0, "disagreement": 1, "not_normalized": 2, "template_mismatch": 3,
        "suspect_value": 4, "low_confidence": 5, "not_found": 6, "unread_text": 7}


@dataclass
class Flag:
    """A doubt about a piece of text, raised where it was read."""

    reason: str
    detail: str
    reads: list[dict] | None = None  # the readings that disagreed: {"text", "source", "confidence"}

    def __post_init__(self):
        if self.reason not in REASONS:
            raise ValueError(f"unknown review reason {self.reason!r}")


@dataclass
class Entry:
    path: str | None
    reason: str
    page: int | None
    bbox: list[float] | None
    detail: str
    reads: list[dict] | None = None
    check: str | None = None  # the check id, for check_failed

    def __post_init__(self):
        if self.reason not in REASONS:
            raise ValueError(f"unknown review reason {self.reason!r}")

    def as_dict(self) -> dict:
        d = {"path": self.path, "reason": self.reason, "page": self.page or None,
             "bbox": [round(float(v), 1) for v in self.bbox] if self.bbox else None,
             "detail": self.detail}
        if self.reads:
            d["reads"] = self.reads
        if self.check:
            d["check"] = self.check
        return d


def _where(where) -> tuple[int | None, list[float] | None]:
    """page and bbox of anything that has them (a Raw, a Cell, a TextLine)."""
    if where is None:
        return None, None
    page = getattr(where, "page", None) or None
    bbox = getattr(where, "bbox", None)
    return page, (list(bbox) if bbox else None)


@dataclass
class Findings:
    """Review entries and warnings of one declaration, written together."""

    entries: list[Entry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def flag(self, path: str | None, reason: str, detail: str, where=None,
             warning: str | None = None, reads: list[dict] | None = None,
             check: str | None = None, page: int | None = None,
             bbox: list[float] | None = None) -> Entry:
        p, b = _where(where)
        e = Entry(path, reason, page or p, bbox or b, detail, reads, check)
        self.entries.append(e)
        if warning is not False:
            self.warnings.append(warning or (f"{path}: {detail}" if path else detail))
        return e

    def warn(self, sentence: str) -> None:
        """A sentence for people that flags no field (a part not printed, …)."""
        self.warnings.append(sentence)

    def extend(self, other: "Findings") -> None:
        self.entries.extend(other.entries)
        self.warnings.extend(other.warnings)

    def carry(self, path: str, flags: Iterable[Flag], where=None) -> None:
        """Flags raised below the record (on the fragments a value came from)
        → entries under the field's path."""
        seen = set()
        for f in flags:
            key = (f.reason, f.detail)
            if key in seen:
                continue
            seen.add(key)
            self.flag(path, f.reason, f.detail, where=where, reads=f.reads)

    def as_list(self) -> list[dict]:
        out, seen = [], set()
        for e in self.entries:
            d = e.as_dict()
            key = (d["path"], d["reason"], d["detail"])
            if key in seen:
                continue
            seen.add(key)
            out.append(d)
        return out


def covers(entry_path: str | None, reason: str, leaf: str, missing_row: bool = False) -> bool:
    """Whether a review entry names a field: the field itself, an object or
    list entry holding it (`indicators[3]` covers `indicators[3].target`), its
    list when the row is missing from the record, every item of an `extra`
    value (a column kept in extra), the whole record when no
    template fits (`template_mismatch`); and a golden leaf that is an empty
    object (`extra: {}`) when the entry names something inside it."""
    if reason == "template_mismatch":
        return True
    if entry_path is None:
        return False
    if leaf == entry_path or leaf.startswith(entry_path + "."):
        return True
    if entry_path.startswith(leaf + ".") or entry_path.startswith(leaf + "["):
        # an empty object or list of the golden record (extra: {}) is wrong
        # because of the entry the review names inside it
        return True
    if leaf.startswith(entry_path + "["):
        # an `extra` value is one printed column or row: an entry names all of it;
        # a record list (indicators): only the rows the record lacks
        return entry_path.startswith("extra.") or missing_row
    return False
