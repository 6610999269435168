"""Golden comparison, by the rule of record-spec.md: values equal after NFKC
and removing all white space; numbers within 0.005; lists entry by entry."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from rapidfuzz.distance import Levenshtein

IGNORED = {"source", "provenance", "checks", "warnings"}
TEXT_FIELDS = ["project.overview", "project.basis", "project.necessity", "project.feasibility",
               "project.resources", "project.overall_goal", "project.annual_goals",
               "project.other_issues", "composition"]
_WS = re.compile(r"\s+")


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
    text_errors: int = 0
    text_chars: int = 0
    missing: bool = False

    @property
    def exact(self) -> bool:
        return not self.missing and self.equal == self.fields


def compare_records(golden: dict, got: dict | None, name: str = "") -> RecordDiff:
    d = RecordDiff(name=name, missing=got is None)
    for path, gv in leaves(golden):
        d.fields += 1
        v = lookup(got, path) if got is not None else _MISSING
        if v is not _MISSING and (equal(gv, v) or (isinstance(gv, (list, dict)) and not gv and not v)):
            d.equal += 1
        else:
            d.diffs.append((path, gv, None if v is _MISSING else v))
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

    def as_dict(self) -> dict:
        return {
            "records": len(self.records),
            "fields": self.fields,
            "field_accuracy": round(self.field_accuracy, 6),
            "exact_records": round(self.exact_records, 6),
            "text_cer": round(self.text_cer, 6),
            "missing": [r.name for r in self.records if r.missing],
            "diffs": {r.name: [{"field": p, "golden": g, "got": v} for p, g, v in r.diffs]
                      for r in self.records if r.diffs},
        }


def compare_dirs(outdir: str | Path, goldendir: str | Path) -> Report:
    """Every golden record `<name>.json` against `OUTDIR/<name>.json`."""
    outdir, goldendir = Path(outdir), Path(goldendir)
    recs = []
    for gp in sorted(goldendir.glob("*.json")):
        golden = json.loads(gp.read_text(encoding="utf-8"))
        op = outdir / gp.name
        got = json.loads(op.read_text(encoding="utf-8")) if op.exists() else None
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
