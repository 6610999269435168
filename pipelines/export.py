"""Records (OUTDIR/*.json) → flat tables: `shenbao export OUTDIR --to TARGET`.

Ten tables (pipelines/export_tables.py defines their columns; docs/export.md
lists them): declarations (one row per record) and, keyed by its `record_id`,
indicators, budget_items, safeguards, checks, review, fields (provenance),
extra, warnings and pages. `record_id` is the SHA-256 of
"<source.sha256>:<source.declaration>", so two declarations never share one,
whatever their files are called.

Where the review station has written OUTDIR/reviewed/<record stem>.json, that
record (corrections applied) is exported instead, and `review_status` says so.

TARGET by its form:
  DIR/, DIR (no suffix)      DIR/<table>.csv and DIR/datapackage.json (the types)
  FILE.csv                   FILE.<table>.csv and FILE.datapackage.json beside it
  NAME.parquet               a folder NAME.parquet/ holding <table>.parquet
  FILE.xlsx                  one workbook, a sheet per table, Chinese headers
  FILE.duckdb                one DuckDB database (replaced), keys and comments declared

Every .json file of OUTDIR is either exported or reported (`Problem`): a
truncated file, a file that is not a record, a record that breaks the schema,
a second copy of a declaration. Exporting nothing is E_NO_RECORDS.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path

from extract import errors
from extract.record import ROW_KEYS, STAGE_KEYS, validate

from .export_tables import AMOUNT_MAX, DATE_KEYS, FUNDING_HEADS, PROJECT_HEADS, TABLE_NAMES, TABLES

REVIEWED = "reviewed"  # OUTDIR/reviewed/<record stem>.json: written by the review station
LIST_TABLES = ("indicators", "budget_items", "safeguards")
CENT = Decimal("0.01")


@dataclass
class Problem:
    """A .json file of OUTDIR that was not exported (or not as it is), and why."""

    file: str      # path below OUTDIR
    kind: str      # truncated | not_json | unreadable | not_record | invalid | duplicate | review | value
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


@dataclass
class RecordFile:
    """A record to export: checked against the schema when it was listed, read
    again (one at a time) when its rows are made, so an export of many records
    never holds them all."""

    name: str                # the record's file name in OUTDIR
    path: Path               # the file exported: OUTDIR/<name>, or OUTDIR/reviewed/<name>
    record_id: str
    sha256: str | None       # source.sha256 (the input's content)
    reviewed: bool = False

    def read(self) -> dict:
        return json.loads(self.path.read_bytes().decode("utf-8", "ignore"))


@dataclass
class Loaded:
    records: list[RecordFile]  # what to export, by file name
    problems: list[Problem] = field(default_factory=list)
    files: int = 0             # .json files found in OUTDIR (reviewed/ not counted)


@dataclass
class Exported:
    files: list[Path]
    records: int
    problems: list[Problem]
    found: int  # .json files found in OUTDIR


# ------------------------------------------------------------------ OUTDIR → records

def record_id(rec: dict, record_file: str | None = None) -> str:
    """SHA-256 (hex) of "<source.sha256>:<source.declaration>". A record without
    a source (a hand-written golden record) is keyed by its file name instead:
    SHA-256 of "record:<file name>"."""
    src = rec.get("source") or {}
    if src.get("sha256") and src.get("declaration"):
        text = f"{src['sha256']}:{src['declaration']}"
    else:
        text = f"record:{record_file}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _read(path: Path) -> tuple[dict | None, tuple[str, str] | None]:
    """The record in path, or (kind, why) it is not one."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return None, ("unreadable", f"cannot be read: {exc.strerror or exc}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason != "unexpected end of data":  # (that is a file cut inside a character)
            return None, ("not_json", f"not UTF-8 text ({exc.reason} at byte {exc.start}): not a record")
        text = data[:exc.start].decode("utf-8")
    try:
        rec = json.loads(text)
    except ValueError as exc:
        # the text ran out: inside a string or a \u escape, or where a value or a bracket was due
        why, end = str(exc), len(text.rstrip())
        if not text.strip() or why.startswith("Unterminated string") or \
                (not why.startswith("Extra data") and getattr(exc, "pos", 0) >= end - 5):
            return None, ("truncated", f"truncated: the JSON ends early ({len(data)} bytes); "
                                       "rerun the extraction of its input")
        return None, ("not_json", f"not valid JSON ({exc}): not a record")
    if not isinstance(rec, dict) or "schema_version" not in rec:
        return None, ("not_record", "not a shenbao record (no schema_version)")
    if rec["schema_version"] != "1":
        return None, ("not_record", f"schema_version {rec['schema_version']!r}: this shenbao reads version 1")
    try:
        validate(rec)
    except errors.InvalidRecord as exc:
        return None, ("invalid", f"breaks the record schema: {exc.message}")
    return rec, None


def load_records(outdir: str | Path, include_stale: bool = False) -> Loaded:
    """Every record of OUTDIR to export, by file name, each replaced by its
    reviewed record where OUTDIR/reviewed/ holds one; and every .json file that
    is not exported, with the reason. Records the batch manifest marks stale
    (their input is gone or changed) are left out unless include_stale
    (pipelines/manifest.py). This is the one place that decides what an export
    holds."""
    from pipelines.manifest import record_files

    outdir = Path(outdir)
    files = record_files(outdir, include_stale)
    review_dir = outdir / REVIEWED
    reviewed = {p.stem: p for p in sorted(review_dir.glob("*.json"))} if review_dir.is_dir() else {}
    loaded = Loaded([], files=len(files))
    for p in files:
        rec, why = _read(p) if p.is_file() else (None, ("unreadable", "not a regular file"))
        if rec is None:
            loaded.problems.append(Problem(p.name, *why))
            continue
        rid = record_id(rec, p.name)
        rp = reviewed.pop(p.stem, None)
        good = rp is not None and _reviewed(rec, rp, loaded.problems)
        loaded.records.append(RecordFile(p.name, rp if good else p, rid, (rec.get("source") or {}).get("sha256"),
                                         reviewed=good))
    for stem, rp in reviewed.items():
        loaded.problems.append(Problem(f"{REVIEWED}/{rp.name}", "review",
                                       f"no record {stem}.json in OUTDIR: not exported"))
    loaded.records = _one_per_declaration(loaded.records, loaded.problems)
    return loaded


def _reviewed(rec: dict, path: Path, problems: list[Problem]) -> bool:
    """Whether the reviewed record at path is a sound one for rec (else it is reported)."""
    name = f"{REVIEWED}/{path.name}"
    fallback = "; the extracted record is exported instead (review_status unreviewed)"
    done, why = _read(path)
    if done is None:
        problems.append(Problem(name, why[0], why[1] + fallback))
        return False
    if not isinstance(done.get("verification"), dict) or "status" not in done["verification"]:
        problems.append(Problem(name, "review", "a reviewed record without verification.status" + fallback))
        return False
    if record_id(done, path.name) != record_id(rec, path.name):
        problems.append(Problem(name, "review", "its source (sha256, declaration) is not the "
                                                "extracted record's" + fallback))
        return False
    return True


def _one_per_declaration(records: list[RecordFile], problems: list[Problem]) -> list[RecordFile]:
    """One record per record_id: the same input extracted twice under two names
    is one declaration. The reviewed copy wins, else the first by name."""
    first: dict[str, int] = {}
    out: list[RecordFile] = []
    for r in records:
        if r.record_id not in first:
            first[r.record_id] = len(out)
            out.append(r)
            continue
        kept = out[first[r.record_id]]
        if r.reviewed and not kept.reviewed:
            out[first[r.record_id]], r, kept = r, kept, r
        problems.append(Problem(r.name, "duplicate", f"the same declaration (input sha256 and number) as "
                                                     f"{kept.name}: exported once, as {kept.name}"))
    return out


# ------------------------------------------------------------------ records → rows

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_IN_LIST = re.compile(r"^(indicators|budget_items|safeguards)\[(\d+)\]")


def value_at(rec: dict, path: str):
    """The value at a field path (funding.total_budget, indicators[3].target), or None."""
    node = rec
    for key, index in _STEP.findall(path):
        try:
            node = node[int(index)] if index else node[key]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _list_place(path: str | None) -> tuple[str | None, int | None]:
    m = _IN_LIST.match(path or "")
    return (m.group(1), int(m.group(2)) + 1) if m else (None, None)


def _text(v) -> str | None:
    if v is None or isinstance(v, str):
        return v
    return json.dumps(v, ensure_ascii=False)


class _Rows:
    """Rows of every table, with Python values of the column types (Decimal
    amounts, date dates); a value that cannot be typed is left empty and reported."""

    def __init__(self):
        self.rows: dict[str, list[dict]] = {t: [] for t in TABLE_NAMES}
        self.problems: list[Problem] = []
        self.file = ""

    def amount(self, v, path: str) -> Decimal | None:
        if v is None:
            return None
        try:
            d = Decimal(repr(float(v)) if isinstance(v, float) else v).quantize(CENT, ROUND_HALF_UP)
        except (InvalidOperation, ValueError, TypeError):
            d = None
        if d is None or abs(d) >= AMOUNT_MAX:
            self.problems.append(Problem(self.file, "value", f"{path} = {v!r} does not fit DECIMAL(18,2); "
                                                             "exported empty"))
            return None
        return d

    def date(self, v: str | None, path: str) -> tuple[date | None, str | None]:
        if not v:
            return None, None
        try:
            parts = [int(x) for x in v.split("-")]
            return date(parts[0], parts[1], parts[2] if len(parts) > 2 else 1), \
                ("day" if len(parts) > 2 else "month")
        except (ValueError, IndexError):
            self.problems.append(Problem(self.file, "value", f"{path} = {v!r} is not a calendar date; "
                                                             "exported empty"))
            return None, None

    def add(self, name: str, rec: dict) -> None:
        self.file = name
        rid = record_id(rec, name)
        src = rec.get("source") or {}
        form, project, funding = rec["form"], rec["project"], rec["funding"]
        verification = rec.get("verification") or {}
        review = rec.get("review") or []
        checks = rec.get("checks") or []
        row = {
            "record_id": rid, "document": src.get("file") or name.removesuffix(".json"),
            "declaration": src.get("declaration") or 1,
            "declarations_in_file": src.get("declarations_in_file"), "record_file": name,
            "sha256": src.get("sha256"), "review_status": verification.get("status", "unreviewed"),
            "reviewer": verification.get("reviewer"), "reviewed_at": verification.get("updated"),
            "year": form.get("year"), "variant": form.get("variant"),
            **{f"form_{k}": form.get(k) for k in ("title", "amount_unit", "filing_unit")},
        }
        for k in PROJECT_HEADS:
            if k in DATE_KEYS:
                row[f"project_{k}"], row[f"project_{k}_precision"] = self.date(project.get(k), f"project.{k}")
            else:
                row[f"project_{k}"] = project.get(k)
        for k in FUNDING_HEADS:
            row[f"funding_{k}"] = self.amount(funding.get(k), f"funding.{k}")
        row.update({
            "budget_total": self.amount(rec.get("budget_total"), "budget_total"),
            "composition": rec.get("composition"), "page_count": src.get("page_count"),
            "ocr_engine": src.get("ocr_engine"), "tool": src.get("tool"),
            "warning_count": len(rec.get("warnings") or []), "review_count": len(review),
            "review_open": sum(e.get("status", "open") in ("open", "postponed") for e in review),
            "checks_failed": sum(not c["passed"] for c in checks),
        })
        self.rows["declarations"].append(row)
        key = {"record_id": rid}
        for i, r in enumerate(rec.get("indicators") or [], start=1):
            self.rows["indicators"].append({**key, "row": i, **{k: r.get(k) for k in ROW_KEYS["indicators"]
                                                               if k != "table"},
                                            "indicator_table": r.get("table")})
        for i, r in enumerate(rec.get("budget_items") or [], start=1):
            at = f"budget_items[{i - 1}]"
            self.rows["budget_items"].append({
                **key, "row": i, **{k: r.get(k) for k in ROW_KEYS["budget_items"]},
                "amount": self.amount(r.get("amount"), f"{at}.amount"),
                "unit_price": self.amount(r.get("unit_price"), f"{at}.unit_price")})
        for i, r in enumerate(rec.get("safeguards") or [], start=1):
            stages = r.get("stages") or {}
            self.rows["safeguards"].append({**key, "row": i, "category": r.get("category"),
                                            "documents": r.get("documents"), "measures": r.get("measures"),
                                            **{s: stages.get(s) for s in STAGE_KEYS}})
        for i, c in enumerate(checks, start=1):
            self.rows["checks"].append({**key, "row": i, "check_id": c["id"],
                                        "name": check_name(c["id"], form.get("variant")),
                                        "passed": c["passed"], "fields": ", ".join(c.get("fields") or []),
                                        "detail": c.get("detail")})
        for i, e in enumerate(review, start=1):
            table, trow = _list_place(e.get("path"))
            self.rows["review"].append({
                **key, "row": i, "path": e.get("path"), "table_name": table, "table_row": trow,
                "reason": e["reason"], "page": e.get("page"), **_bbox(e.get("bbox")),
                "detail": e.get("detail"), "check_id": e.get("check"),
                "reads": json.dumps(e["reads"], ensure_ascii=False) if e.get("reads") else None,
                "status": e.get("status", "open")})
        for path, p in (rec.get("provenance") or {}).items():
            table, trow = _list_place(path)
            self.rows["fields"].append({
                **key, "path": path, "table_name": table, "table_row": trow,
                "value": _text(value_at(rec, path)), "page": p.get("page") or None, **_bbox(p.get("bbox")),
                "method": p.get("method"), "confidence": p.get("confidence"), "label": p.get("label")})
        n = 0
        for label, v in (rec.get("extra") or {}).items():
            for element, item in (enumerate(v, start=1) if isinstance(v, list) else [(None, v)]):
                n += 1
                number = isinstance(item, (int, float)) and not isinstance(item, bool)
                self.rows["extra"].append({
                    **key, "row": n, "label": label, "element": element, "value": _text(item),
                    "amount": self.amount(item, f"extra.{label}") if number else None})
        for i, w in enumerate(rec.get("warnings") or [], start=1):
            self.rows["warnings"].append({**key, "row": i, "warning": w})
        for p in src.get("page_sizes") or []:
            self.rows["pages"].append({**key, **{k: p.get(k) for k in
                                                 ("page", "kind", "width", "height", "dpi", "rotation")}})


def _bbox(b) -> dict:
    names = ("bbox_x0", "bbox_top", "bbox_x1", "bbox_bottom")
    return dict(zip(names, b)) if b else dict.fromkeys(names)


@lru_cache(maxsize=64)
def _check_names(variant: str | None) -> dict[str, str]:
    from extract.checks import checks_for

    return {c.id: c.name for c in checks_for(variant)}


def check_name(check_id: str, variant: str | None = None) -> str:
    """The Chinese name of a check id, from the checks of the record's template
    (price_times_quantity[2] → 第 3 行：单价乘以数量等于明细金额); the id itself
    when no template knows it."""
    base, _, index = check_id.partition("[")
    name = _check_names(variant).get(base)
    if name is None:
        return check_id
    return f"第 {int(index.rstrip(']')) + 1} 行：{name}" if index.rstrip("]").isdigit() else name


CHUNK = 50  # records whose rows are held as Python values before they go to Arrow


def chunks(records: list[RecordFile], problems: list[Problem]):
    """The tables a slice at a time: {table: pyarrow.RecordBatch} (the column
    types of export_tables) for every CHUNK records, each record read when its
    turn comes. Writers consume them as they come, so an export's memory does
    not grow with OUTDIR. Values that cannot be typed, and records that cannot
    be read again, are added to problems."""
    import pyarrow as pa

    from .export_write import arrow_schema

    schemas = {t: arrow_schema(TABLES[t]) for t in TABLE_NAMES}
    rows = _Rows()
    rows.problems = problems
    for n, rf in enumerate(records, start=1):
        try:
            rec = rf.read()
        except (OSError, ValueError) as exc:
            problems.append(Problem(rf.name, "unreadable", f"changed or removed while exporting ({exc}): "
                                                           "not exported"))
            continue
        rows.add(rf.name, rec)
        if n % CHUNK == 0:
            yield {t: pa.RecordBatch.from_pylist(rows.rows[t], schema=schemas[t]) for t in TABLE_NAMES}
            rows.rows = {t: [] for t in TABLE_NAMES}
    if rows.rows["declarations"]:
        yield {t: pa.RecordBatch.from_pylist(rows.rows[t], schema=schemas[t]) for t in TABLE_NAMES}


def build_tables(records: list[RecordFile]) -> tuple[dict, list[Problem]]:
    """{table: pyarrow.Table} of the records, all in memory, and the problems."""
    import pyarrow as pa

    from .export_write import arrow_schema

    problems: list[Problem] = []
    batches: dict[str, list] = {t: [] for t in TABLE_NAMES}
    for chunk in chunks(records, problems):
        for t, b in chunk.items():
            batches[t].append(b)
    return {t: pa.Table.from_batches(batches[t], schema=arrow_schema(TABLES[t])) for t in TABLE_NAMES}, problems


def flat_tables(records: list[RecordFile]):
    """{table: pandas DataFrame} of the records (load_records(OUTDIR).records),
    with typed (pyarrow-backed) columns: decimal128(18, 2) amounts, date32
    dates, int64, bool, string."""
    import pandas as pd

    tables, _ = build_tables(records)
    return {t: tbl.to_pandas(types_mapper=pd.ArrowDtype) for t, tbl in tables.items()}


# ------------------------------------------------------------------ export

def export(outdir: str | Path, to: str | Path, include_stale: bool = False) -> Exported:
    """Write the records of outdir to `to` (see the module docstring). Raises
    NoRecords when there is nothing to export, UsageError for a TARGET of no
    known form, OutputError when it cannot be written."""
    from . import export_write

    kind, target = export_write.target_kind(to)
    export_write.refuse_inside(kind, target, Path(outdir))
    loaded = load_records(outdir, include_stale)
    if not loaded.records:
        raise errors.NoRecords(_nothing(outdir, loaded))
    problems = list(loaded.problems)
    files, counts = export_write.write(kind, target, chunks(loaded.records, problems), problems)
    return Exported(files, counts["declarations"], problems, loaded.files)


def _nothing(outdir, loaded: Loaded) -> str:
    if not loaded.files:
        return f"{outdir}: no record to export (no .json file in it)"
    kinds: dict[str, int] = {}
    for p in loaded.problems:
        kinds[p.kind] = kinds.get(p.kind, 0) + 1
    why = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in kinds.items())
    return (f"{outdir}: no record to export: {loaded.files} .json file(s), none a record ({why}); "
            f"first: {loaded.problems[0]}")


# ------------------------------------------------------------------ DuckDB → records

def records_from_duckdb(db_path: str | Path) -> list[dict]:
    """The records (golden fields, source.file / source.declaration and the
    review state) back from an exported DuckDB file, by document and declaration."""
    import duckdb

    con = duckdb.connect(str(db_path), read_only=True)
    try:
        def rows(table: str, order: str) -> dict[str, list[dict]]:
            cur = con.execute(f'SELECT * FROM "{table}" ORDER BY record_id, {order}')
            names = [d[0] for d in cur.description]
            out: dict[str, list[dict]] = {}
            for values in cur.fetchall():
                r = dict(zip(names, values))
                out.setdefault(r["record_id"], []).append(r)
            return out

        kids = {t: rows(t, "row") for t in (*LIST_TABLES, "extra", "review")}
        decl = con.execute('SELECT * FROM declarations ORDER BY document, declaration')
        names = [d[0] for d in decl.description]
        out = []
        for values in decl.fetchall():
            d = dict(zip(names, values))
            rid = d["record_id"]
            rec = {
                "schema_version": "1",
                "form": {"title": d["form_title"], "year": d["year"], "amount_unit": d["form_amount_unit"],
                         "filing_unit": d["form_filing_unit"], "variant": d["variant"]},
                "project": {k: (_iso(d[f"project_{k}"], d[f"project_{k}_precision"]) if k in DATE_KEYS
                                else d[f"project_{k}"]) for k in PROJECT_HEADS},
                "funding": {k: _num(d[f"funding_{k}"]) for k in FUNDING_HEADS},
                "composition": d["composition"],
                "indicators": [{**{k: r[k] for k in ROW_KEYS["indicators"] if k != "table"},
                                "table": r["indicator_table"]} for r in kids["indicators"].get(rid, [])],
                "budget_items": [{k: _num(r[k]) if k in ("amount", "unit_price") else r[k]
                                  for k in ROW_KEYS["budget_items"]} for r in kids["budget_items"].get(rid, [])],
                "budget_total": _num(d["budget_total"]),
                "safeguards": [{"category": r["category"], "documents": r["documents"],
                                "measures": r["measures"], "stages": {s: r[s] for s in STAGE_KEYS}}
                               for r in kids["safeguards"].get(rid, [])],
                "extra": _extra(kids["extra"].get(rid, [])),
                "source": {"file": d["document"], "declaration": d["declaration"], "sha256": d["sha256"]},
                "review": [{"path": r["path"], "reason": r["reason"], "status": r["status"]}
                           for r in kids["review"].get(rid, [])],
            }
            if d["review_status"] != "unreviewed":
                rec["verification"] = {"status": d["review_status"], "reviewer": d["reviewer"],
                                       "updated": d["reviewed_at"]}
            out.append(rec)
        return out
    finally:
        con.close()


def _num(v):
    return None if v is None else float(v)


def _iso(d: date | None, precision: str | None) -> str | None:
    if d is None:
        return None
    return d.strftime("%Y-%m") if precision == "month" else d.isoformat()


def _extra(rows: list[dict]) -> dict:
    out: dict = {}
    for r in rows:
        v = float(r["amount"]) if r["amount"] is not None else r["value"]
        if r["element"] is None:
            out[r["label"]] = v
        else:
            out.setdefault(r["label"], []).append(v)
    return out
