"""Typed tables → files: CSV (+ a Frictionless datapackage.json that carries the
types and keys), Parquet (one file per table in a folder), an Excel workbook,
a DuckDB database with primary and foreign keys and column comments. Every
file is written beside its target under a temporary name and renamed into
place, so a failed export leaves the previous files as they were."""

from __future__ import annotations

import csv
import json
import os
import re
import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path

from extract import errors

from .export_tables import AMOUNT_FORMAT, DUCKDB, FRICTIONLESS, TABLES, Table

_UMASK = os.umask(0o022)  # the process umask: it can only be read by setting it
os.umask(_UMASK)
XLSX_MAX_ROWS = 1_048_576 - 1   # an Excel sheet's rows, less the header
XLSX_MAX_CELL = 32_767          # characters an Excel cell holds
XLSX_WIDE = 60                  # a text column this wide (characters) wraps
_ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # characters an xlsx cannot hold


def target_kind(to: str | Path) -> tuple[str, Path]:
    """(csv-dir | csv | parquet | xlsx | duckdb, path) for an --to argument."""
    text, path = str(to), Path(to)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return "parquet", path
    if text.endswith(("/", os.sep)) or path.is_dir() or not suffix:
        return "csv-dir", path
    if suffix in (".csv", ".xlsx", ".duckdb"):
        return suffix[1:], path
    raise errors.UsageError(f"--to {to}: give a DIR/ (CSV), or a name ending in .csv, .xlsx, "
                            ".parquet or .duckdb")


def write(kind: str, target: Path, rows: dict[str, list[dict]], arrow: dict, problems: list) -> list[Path]:
    """Write the tables; returns the files written. OSError → E_OUTPUT."""
    try:
        if kind == "csv-dir":
            _mkdir(target)
            return _csv(rows, lambda t: target / f"{t}.csv", target / "datapackage.json")
        parent = target.parent
        _mkdir(parent)
        if kind == "csv":
            return _csv(rows, lambda t: parent / f"{target.stem}.{t}.csv",
                        parent / f"{target.stem}.datapackage.json")
        if kind == "parquet":
            _mkdir(target)
            return [_atomic(target / f"{t}.parquet", lambda p, t=t: _parquet(arrow[t], p)) for t in TABLES]
        if kind == "xlsx":
            _xlsx_fits(rows)
            return [_atomic(target, lambda p: _xlsx(rows, p, problems))]
        if kind == "duckdb":
            return [_atomic(target, lambda p: _duckdb(arrow, p), fresh=True)]
    except OSError as exc:
        raise errors.OutputError(f"cannot write {exc.filename or target}: {exc.strerror or exc}") from exc
    raise AssertionError(kind)


def _mkdir(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise errors.OutputError(f"{path} exists and is not a folder")
    path.mkdir(parents=True, exist_ok=True)


def _atomic(path: Path, writer, fresh: bool = False) -> Path:
    """writer(tmp) beside path, then rename over it: never half a file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; an export gets a normal file's mode
    if fresh:  # a database must be created, not opened
        os.unlink(tmp)
    try:
        writer(Path(tmp))
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, tmp + ".wal"):
            if os.path.exists(leftover):
                os.unlink(leftover)
    return path


# ------------------------------------------------------------------ types

def arrow_schema(table: Table):
    import pyarrow as pa

    types = {"text": pa.string(), "code": pa.string(), "int": pa.int64(), "float": pa.float64(),
             "amount": pa.decimal128(18, 2), "date": pa.date32(), "bool": pa.bool_()}
    key = set(table.key)
    return pa.schema([pa.field(c.name, types[c.type], nullable=c.name not in key,
                               metadata={"description": c.description, "header_zh": c.head})
                      for c in table.cols],
                     metadata={"table": table.name, "description": table.doc})


# ------------------------------------------------------------------ CSV

def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _csv(rows: dict[str, list[dict]], path_of, package: Path) -> list[Path]:
    files = []
    for t, table in TABLES.items():
        def writer(p, t=t, table=table):
            with open(p, "w", encoding="utf-8-sig", newline="") as f:
                w = csv.writer(f)
                w.writerow(table.names)
                for r in rows[t]:
                    w.writerow([_cell(r.get(c)) for c in table.names])
        files.append(_atomic(path_of(t), writer))
    resources = [_resource(TABLES[t], path_of(t).name) for t in TABLES]
    doc = {"profile": "tabular-data-package", "name": "shenbao-export",
           "title": "财政项目支出绩效目标申报表 records (shenbao export)", "resources": resources}
    data = json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    files.append(_atomic(package, lambda p: p.write_text(data, encoding="utf-8")))
    return files


def _resource(table: Table, name: str) -> dict:
    fields = []
    for c in table.cols:
        f = {"name": c.name, "title": c.head, "type": FRICTIONLESS[c.type], "description": c.description}
        if c.labels:
            f["constraints"] = {"enum": list(c.labels)}
        if c.type == "bool":
            f["trueValues"], f["falseValues"] = ["true"], ["false"]
        fields.append(f)
    schema = {"fields": fields, "primaryKey": list(table.key), "missingValues": [""]}
    if table.child:
        schema["foreignKeys"] = [{"fields": ["record_id"],
                                  "reference": {"resource": "declarations", "fields": ["record_id"]}}]
    return {"name": table.name, "path": name, "profile": "tabular-data-resource", "format": "csv",
            "encoding": "utf-8-sig", "title": table.sheet, "description": table.doc, "schema": schema}


# ------------------------------------------------------------------ Parquet

def _parquet(tbl, path: Path) -> None:
    import pyarrow.parquet as pq

    pq.write_table(tbl, path)


# ------------------------------------------------------------------ Excel

def _xlsx_fits(rows: dict[str, list[dict]]) -> None:
    for t, rs in rows.items():
        if len(rs) > XLSX_MAX_ROWS:
            raise errors.UsageError(f"the {t} table has {len(rs):,} rows, more than an Excel sheet holds "
                                    f"({XLSX_MAX_ROWS:,}): export to .duckdb or .parquet instead")


def _xlsx(rows: dict[str, list[dict]], path: Path, problems: list) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    from .export import Problem

    bold, top = Font(bold=True), Alignment(vertical="top")
    wrap = Alignment(wrap_text=True, vertical="top")
    formats = {"amount": AMOUNT_FORMAT, "int": "0", "date": "yyyy-mm-dd"}
    wb = Workbook(write_only=True)
    for t, table in TABLES.items():
        ws = wb.create_sheet(table.sheet)
        ws.freeze_panes = "A2"
        sample = rows[t][:200]
        widths = {}
        for i, c in enumerate(table.cols, start=1):
            longest = max([len(c.head)] + [len(_shown(c, r.get(c.name))) for r in sample])
            widths[c.name] = min(XLSX_WIDE, 2 + 2 * longest) if c.type in ("text", "code") else \
                max(12, 2 + 2 * len(c.head))
            ws.column_dimensions[get_column_letter(i)].width = widths[c.name]
        head = []
        for c in table.cols:
            cell = WriteOnlyCell(ws, value=c.head)
            cell.font, cell.alignment = bold, wrap
            head.append(cell)
        ws.append(head)
        for r in rows[t]:
            out = []
            for c in table.cols:
                v = r.get(c.name)
                if c.type in ("text", "code"):
                    v = _shown(c, v) or None
                    if v and len(v) > XLSX_MAX_CELL:
                        problems.append(Problem(f"{r.get('record_file') or r['record_id']}", "value",
                                                f"{t}.{c.name}: {len(v):,} characters, more than an Excel "
                                                f"cell holds; cut to {XLSX_MAX_CELL:,} in the workbook"))
                        v = v[:XLSX_MAX_CELL - 1] + "…"
                cell = WriteOnlyCell(ws, value=v)
                fmt = formats.get(c.type)
                if c.type == "date" and r.get(f"{c.name}_precision") == "month":
                    fmt = "yyyy-mm"
                if fmt:
                    cell.number_format = fmt
                cell.alignment = wrap if (c.long or widths[c.name] >= XLSX_WIDE) else top
                out.append(cell)
            ws.append(out)
        ws.auto_filter.ref = f"A1:{get_column_letter(len(table.cols))}{len(rows[t]) + 1}"
    wb.save(path)


def _shown(c, v) -> str:
    """A text cell as the workbook shows it: codes in Chinese, no characters xlsx refuses."""
    if v is None:
        return ""
    if c.labels and v in c.labels:
        return c.labels[v]
    return _ILLEGAL_XLSX.sub("", str(v))


# ------------------------------------------------------------------ DuckDB

def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def ddl(table: Table) -> list[str]:
    """CREATE TABLE (types, primary key, foreign key) and COMMENT statements."""
    cols = [f"{_q(c.name)} {DUCKDB[c.type]}" + (" NOT NULL" if c.name in table.key else "")
            for c in table.cols]
    cols.append(f"PRIMARY KEY ({', '.join(map(_q, table.key))})")
    if table.child:
        cols.append("FOREIGN KEY (record_id) REFERENCES declarations (record_id)")
    out = [f"CREATE TABLE {_q(table.name)} (\n  " + ",\n  ".join(cols) + "\n)",
           f"COMMENT ON TABLE {_q(table.name)} IS {_lit(table.doc)}"]
    out += [f"COMMENT ON COLUMN {_q(table.name)}.{_q(c.name)} IS {_lit(c.head + '：' + c.description)}"
            for c in table.cols]
    return out


def _duckdb(arrow: dict, path: Path) -> None:
    import duckdb

    con = duckdb.connect(str(path))
    try:
        for t, table in TABLES.items():  # declarations first: the others refer to it
            for stmt in ddl(table):
                con.execute(stmt)
            con.register("frame", arrow[t])
            con.execute(f"INSERT INTO {_q(t)} SELECT * FROM frame")
            con.unregister("frame")
        con.execute("CHECKPOINT")
    finally:
        con.close()
