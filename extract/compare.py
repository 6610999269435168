"""Golden comparison, by the rule of record-spec.md: values equal after NFKC
and removing all white space; numbers within 0.005; lists entry by entry.

Every golden field ends as right (equal), flagged (wrong, but a `review`
entry of the record names it, its list entry, its list for a missing row, or
the whole record for `template_mismatch`) or silent (wrong and named by
nothing): the number to drive to zero beside field accuracy."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from rapidfuzz.distance import Levenshtein

from . import contract
from .review import covers

IGNORED = contract.bookkeeping_keys()  # beside the golden fields: source, provenance, review …
TEXT_FIELDS = contract.text_fields()
_WS = re.compile(r"\s+")
# money fields (silent wrong amounts are the worst outcome)
AMOUNT_PATH = re.compile(r"^(?:funding\.\w+|budget_total|budget_items\[\d+\]\.(?:amount|unit_price))$")
_ROW = re.compile(r"^(\w+)\[(\d+)\]")


def norm(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return _WS.sub("", unicodedata.normalize("NFKC", str(value)))


def equal(golden: Any, got: Any) -> bool:
    num = (int, float)
    if isinstance(golden, num) and isinstance(got, num) \
            and not isinstance(golden, bool) and not isinstance(got, bool):
        return abs(golden - got) <= 0.005
    return norm(golden) == norm(got)


def leaves(obj: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(path, value) for every leaf; an empty list or object is one leaf."""
    if isinstance(obj, dict) and obj:
        for k, v in obj.items():
            if not prefix and k in IGNORED:
                continue
            yield from leaves(v, f"{prefix}.{k}" if prefix else k)
    elif isinstance(obj, list) and obj:
        for i, v in enumerate(obj):
            yield from leaves(v, f"{prefix}[{i}]")
    else:
        yield prefix, obj


_MISSING = object()
MISSING = _MISSING  # what lookup() returns for a path the record does not have


def lookup(obj: Any, path: str) -> Any:
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("["):
            i = int(part[1:-1])
            if not isinstance(obj, list) or i >= len(obj):
                return _MISSING
            obj = obj[i]
        else:
            if not isinstance(obj, dict) or part not in obj:
                return _MISSING
            obj = obj[part]
    return obj


@dataclass
class RecordDiff:
    name: str
    variant: str | None = None
    fields: int = 0
    equal: int = 0
    diffs: list[tuple[str, Any, Any]] = field(default_factory=list)
    silent: list[str] = field(default_factory=list)  # paths of diffs no review entry names
    silent_amounts: int = 0
    amount_fields: int = 0
    review_entries: int = 0
    flags_on_right: int = 0  # right fields a review entry still names (a person's extra work)
    text_errors: int = 0
    text_chars: int = 0
    missing: bool = False

    @property
    def exact(self) -> bool:
        return not self.missing and self.equal == self.fields

    @property
    def flagged(self) -> int:
        return len(self.diffs) - len(self.silent)


def _is_flagged(path: str, entries: list[dict], got: Any) -> bool:
    m = _ROW.match(path)
    missing_row = False
    if m:
        rows = got.get(m.group(1)) if isinstance(got, dict) else None
        missing_row = not isinstance(rows, list) or int(m.group(2)) >= len(rows)
    return any(covers(e.get("path"), e.get("reason", ""), path, missing_row) for e in entries)


def compare_records(golden: dict, got: dict | None, name: str = "") -> RecordDiff:
    """Field by field; a record that is absent (the document failed with a
    coded error) has every field wrong but none silent: the user was told."""
    d = RecordDiff(name=name, missing=got is None)
    entries = [e for e in (got or {}).get("review") or [] if isinstance(e, dict)]
    d.review_entries = len(entries)
    for path, gv in leaves(golden):
        d.fields += 1
        amount = bool(AMOUNT_PATH.match(path)) and isinstance(gv, (int, float))
        d.amount_fields += amount
        v = lookup(got, path) if got is not None else _MISSING
        if v is not _MISSING and (equal(gv, v) or (isinstance(gv, (list, dict)) and not gv and not v)):
            d.equal += 1
            if got is not None and _is_flagged(path, entries, got):
                d.flags_on_right += 1
            continue
        d.diffs.append((path, gv, None if v is _MISSING else v))
        if got is not None and not _is_flagged(path, entries, got):
            d.silent.append(path)
            d.silent_amounts += amount
    for path in TEXT_FIELDS:
        gv = lookup(golden, path)
        if gv is _MISSING or gv is None:
            continue
        g = norm(gv)
        v = lookup(got, path) if got is not None else None
        s = "" if v is _MISSING or v is None else norm(v)
        d.text_errors += Levenshtein.distance(g, s)
        d.text_chars += len(g)
    return d


@dataclass
class Report:
    records: list[RecordDiff]

    @property
    def fields(self) -> int:
        return sum(r.fields for r in self.records)

    @property
    def field_accuracy(self) -> float:
        return sum(r.equal for r in self.records) / self.fields if self.fields else 0.0

    @property
    def exact_records(self) -> float:
        return sum(r.exact for r in self.records) / len(self.records) if self.records else 0.0

    @property
    def text_cer(self) -> float:
        chars = sum(r.text_chars for r in self.records)
        return sum(r.text_errors for r in self.records) / chars if chars else 0.0

    @property
    def right(self) -> int:
        return sum(r.equal for r in self.records)

    @property
    def flagged(self) -> int:
        return sum(r.flagged for r in self.records)

    @property
    def silent(self) -> int:
        return sum(len(r.silent) for r in self.records)

    @property
    def silent_amounts(self) -> int:
        return sum(r.silent_amounts for r in self.records)

    @property
    def amount_fields(self) -> int:
        return sum(r.amount_fields for r in self.records)

    @property
    def review_entries(self) -> int:
        return sum(r.review_entries for r in self.records)

    @property
    def flags_on_right(self) -> int:
        return sum(r.flags_on_right for r in self.records)

    def as_dict(self) -> dict:
        return {
            "records": len(self.records),
            "fields": self.fields,
            "field_accuracy": round(self.field_accuracy, 6),
            "exact_records": round(self.exact_records, 6),
            "text_cer": round(self.text_cer, 6),
            "right": self.right,
            "flagged": self.flagged,
            "silent": self.silent,
            "silent_wrong_amounts": self.silent_amounts,
            "amount_fields": self.amount_fields,
            "review_entries": self.review_entries,
            "flags_on_right_fields": self.flags_on_right,
            "missing": [r.name for r in self.records if r.missing],
            "diffs": {r.name: [{"field": p, "golden": g, "got": v, "silent": p in r.silent}
                               for p, g, v in r.diffs]
                      for r in self.records if r.diffs},
        }


def _source_names(outdir: Path) -> dict[str, Path]:
    """Golden-style names (`<input stem>.json`, `<stem>-N.json` for a file of
    several declarations) of the records in OUTDIR, from their `source`: a
    batch names records after the input's path (`digital__x.json`), a golden
    set after the input's stem."""
    out: dict[str, Path] = {}
    for p in sorted(outdir.glob("*.json")):
        try:
            src = json.loads(p.read_text(encoding="utf-8")).get("source") or {}
        except (OSError, ValueError, AttributeError):
            continue
        file = src.get("file")
        if not isinstance(file, str):
            continue
        stem = Path(file).stem
        n, total = src.get("declaration"), src.get("declarations_in_file")
        name = f"{stem}-{n}.json" if isinstance(total, int) and total > 1 else f"{stem}.json"
        out.setdefault(name, p)
    return out


def load_record(path: Path) -> dict | None:
    """A record file, or None when it cannot be read as a JSON object (a
    truncated or foreign file counts as a missing record, never a crash)."""
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


def compare_dirs(outdir: str | Path, goldendir: str | Path, only_present: bool = False,
                 load=None) -> Report:
    """Every golden record `<name>.json` against `OUTDIR/<name>.json`, or else
    against the record whose `source` names that input. With only_present,
    golden records with no record in OUTDIR are left out instead of counted
    wrong. `load(path)` reads a record (default: the file, None when absent)."""
    load = load or (lambda p: load_record(p) if p.exists() else None)
    outdir, goldendir = Path(outdir), Path(goldendir)
    by_source = None
    recs = []
    for gp in sorted(goldendir.glob("*.json")):
        golden = load_record(gp)
        if golden is None:
            continue
        op = outdir / gp.name
        if not op.exists():
            if by_source is None:
                by_source = _source_names(outdir)
            op = by_source.get(gp.name, op)
        got = load(op)
        if got is None and only_present:
            continue
        d = compare_records(golden, got, gp.stem)
        d.variant = (golden.get("form") or {}).get("variant")
        recs.append(d)
    return Report(recs)


def by_variant(report: Report) -> dict[str, Report]:
    """The report split by the golden records' form variant."""
    out: dict[str, list[RecordDiff]] = {}
    for r in report.records:
        out.setdefault(r.variant or "?", []).append(r)
    return {k: Report(v) for k, v in sorted(out.items())}
