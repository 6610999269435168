"""Typed tables → files: CSV (+ a Frictionless datapackage.json that carries the
types and keys), Parquet (one file per table in a folder), an Excel workbook,
a DuckDB database with primary and foreign keys and column comments.

The tables come as a stream of chunks ({table: pyarrow.RecordBatch}, see
export.chunks) and every writer takes them as they come, so an export's memory
does not grow with the number of records. Every file is written beside its
target under a temporary name and renamed into place once all are complete:
each file is the previous one or the new one, never half written."""

from __future__ import annotations

import csv
import json
import os
import re
import tempfile
from contextlib import ExitStack
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
ROW_GROUP = 65_536              # rows of a Parquet row group (chunks are gathered up to it)
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


def refuse_inside(kind: str, target: Path, outdir: Path) -> None:
    """CSV beside the records would put datapackage.json among them (the next
    export would take it for a record that is not one)."""
    folder = target if kind == "csv-dir" else target.parent
    if kind in ("csv-dir", "csv") and folder.resolve() == Path(outdir).resolve():
        raise errors.UsageError(f"--to {target}: CSV files would land among the records of {outdir}; "
                                "give another folder")


def write(kind: str, target: Path, chunks, problems: list) -> tuple[list[Path], dict[str, int]]:
    """Write the stream of chunks; returns the files written and the rows of
    each table. OSError → E_OUTPUT."""
    counts = dict.fromkeys(TABLES, 0)

    def counted():
        for chunk in chunks:
            for t, b in chunk.items():
                counts[t] += b.num_rows
            yield chunk

    try:
        if kind == "csv-dir":
            _mkdir(target)
            files = _csv(counted(), {t: target / f"{t}.csv" for t in TABLES}, target / "datapackage.json")
        elif kind == "csv":
            _mkdir(target.parent)
            files = _csv(counted(), {t: target.with_name(f"{target.stem}.{t}.csv") for t in TABLES},
                         target.with_name(f"{target.stem}.datapackage.json"))
        elif kind == "parquet":
            _mkdir(target)
            files = _parquet(counted(), {t: target / f"{t}.parquet" for t in TABLES})
        elif kind == "xlsx":
            _mkdir(target.parent)
            files = _xlsx(counted(), target, problems)
        elif kind == "duckdb":
            _mkdir(target.parent)
            files = _duckdb(counted(), target)
        else:
            raise AssertionError(kind)
    except OSError as exc:
        raise errors.OutputError(f"cannot write {exc.filename or target}: {exc.strerror or exc}") from exc
    return files, counts


def _mkdir(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise errors.OutputError(f"{path} exists and is not a folder")
    path.mkdir(parents=True, exist_ok=True)


class _Staged:
    """Temporary files beside their targets, renamed into place by commit();
    removed if anything fails before."""

    def __init__(self, targets: list[Path], fresh: bool = False):
        self.targets = targets
        self.tmp: list[Path] = []
        for path in targets:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            os.close(fd)
            os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; an export gets a normal file's mode
            if fresh:  # a database must be created, not opened
                os.unlink(tmp)
            self.tmp.append(Path(tmp))

    def __enter__(self) -> list[Path]:
        return self.tmp

    def __exit__(self, kind, exc, tb):
        try:
            if kind is None:
                for tmp, path in zip(self.tmp, self.targets):
                    wal = Path(f"{path}.wal")  # an old database's log would replay onto the new one
                    if wal.exists():
                        wal.unlink()
                    os.replace(tmp, path)
        finally:
            for tmp in self.tmp:
                for leftover in (tmp, Path(f"{tmp}.wal")):
                    leftover.unlink(missing_ok=True)
        return False


def _rows(batch):
    """A RecordBatch's rows as dicts of Python values (Decimal, date, int, …)."""
    return batch.to_pylist()


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


def _csv(chunks, paths: dict[str, Path], package: Path) -> list[Path]:
    targets = [*paths.values(), package]
    with _Staged(targets) as tmp, ExitStack() as files:
        writers = {}
        for (t, table), p in zip(TABLES.items(), tmp):
            w = csv.writer(files.enter_context(open(p, "w", encoding="utf-8-sig", newline="")))
            w.writerow(table.names)
            writers[t] = w
        for chunk in chunks:
            for t, table in TABLES.items():
                writers[t].writerows([_cell(r[c]) for c in table.names] for r in _rows(chunk[t]))
        doc = {"profile": "tabular-data-package", "name": "shenbao-export",
               "title": "财政项目支出绩效目标申报表 records (shenbao export)",
               "resources": [_resource(TABLES[t], paths[t].name) for t in TABLES]}
        tmp[-1].write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        files.close()
    return targets


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

def _parquet(chunks, paths: dict[str, Path]) -> list[Path]:
    import pyarrow.parquet as pq

    import pyarrow as pa

    targets = list(paths.values())
    pending: dict[str, list] = {t: [] for t in TABLES}  # chunks gathered into row groups of ROW_GROUP rows

    def flush(t: str) -> None:
        if pending[t]:
            writers[t].write_table(pa.Table.from_batches(pending[t]))
            pending[t] = []

    with _Staged(targets) as tmp, ExitStack() as files:
        writers = {t: files.enter_context(pq.ParquetWriter(p, arrow_schema(TABLES[t])))
                   for t, p in zip(TABLES, tmp)}
        for chunk in chunks:
            for t, batch in chunk.items():
                if batch.num_rows:
                    pending[t].append(batch)
                    if sum(b.num_rows for b in pending[t]) >= ROW_GROUP:
                        flush(t)
        for t in TABLES:
            flush(t)
        files.close()
    return targets


# ------------------------------------------------------------------ Excel

def _xlsx(chunks, path: Path, problems: list) -> list[Path]:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    sheets = {t: _Sheet(wb, table, problems) for t, table in TABLES.items()}
    for chunk in chunks:
        for t, sheet in sheets.items():
            sheet.append(chunk[t])
    for sheet in sheets.values():
        sheet.close()
    with _Staged([path]) as (tmp,):
        wb.save(tmp)
    return [path]


class _Sheet:
    """One table's sheet: Chinese bold header, frozen, autofilter, column widths
    from the first rows, wrapped long text, number formats, codes in Chinese."""

    def __init__(self, wb, table: Table, problems: list):
        self.ws = wb.create_sheet(table.sheet)
        self.ws.freeze_panes = "A2"
        self.table, self.problems, self.rows = table, problems, 0
        self.wrapped: set[str] | None = None  # decided by the first rows

    def _start(self, sample: list[dict]) -> None:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Alignment, Font
        from openpyxl.utils import get_column_letter

        self.wrap = Alignment(wrap_text=True, vertical="top")
        self.wrapped = set()
        for i, c in enumerate(self.table.cols, start=1):
            longest = max([len(c.head)] + [len(_shown(c, r[c.name])) for r in sample[:200]])
            width = min(XLSX_WIDE, 2 + 2 * longest) if c.type in ("text", "code") else max(12, 2 + 2 * len(c.head))
            self.ws.column_dimensions[get_column_letter(i)].width = width
            if c.long or (c.type == "text" and width >= XLSX_WIDE):
                self.wrapped.add(c.name)
        bold = Font(bold=True)
        head = []
        for c in self.table.cols:
            cell = WriteOnlyCell(self.ws, value=c.head)
            cell.font, cell.alignment = bold, self.wrap
            head.append(cell)
        self.ws.append(head)

    def append(self, batch) -> None:
        from openpyxl.cell import WriteOnlyCell

        rows = _rows(batch)
        if self.wrapped is None:
            if not rows:
                return
            self._start(rows)
        if self.rows + len(rows) > XLSX_MAX_ROWS:
            raise errors.UsageError(f"the {self.table.name} table has more than {XLSX_MAX_ROWS:,} rows, more "
                                    "than an Excel sheet holds: export to .duckdb or .parquet instead")
        self.rows += len(rows)
        formats = {"amount": AMOUNT_FORMAT, "date": "yyyy-mm-dd"}
        # only cells that need a style are cell objects: a plain value is much cheaper
        for r in rows:
            out = []
            for c in self.table.cols:
                v = r[c.name]
                if c.type in ("text", "code"):
                    v = _shown(c, v) or None
                    if v and len(v) > XLSX_MAX_CELL:
                        self._clipped(r, c, v)
                        v = v[:XLSX_MAX_CELL - 1] + "…"
                    if v and c.name in self.wrapped:
                        v = WriteOnlyCell(self.ws, value=v)
                        v.alignment = self.wrap
                elif c.type in formats and v is not None:
                    v = WriteOnlyCell(self.ws, value=v)
                    v.number_format = formats[c.type]
                    if c.type == "date" and r.get(f"{c.name}_precision") == "month":
                        v.number_format = "yyyy-mm"
                out.append(v)
            self.ws.append(out)

    def _clipped(self, r: dict, c, v: str) -> None:
        from .export import Problem

        self.problems.append(Problem(r.get("record_file") or r["record_id"], "value",
                                     f"{self.table.name}.{c.name}: {len(v):,} characters, more than an Excel "
                                     f"cell holds; cut to {XLSX_MAX_CELL:,} in the workbook"))

    def close(self) -> None:
        from openpyxl.utils import get_column_letter

        if self.wrapped is None:  # an empty table: the header alone
            self._start([])
        self.ws.auto_filter.ref = f"A1:{get_column_letter(len(self.table.cols))}{self.rows + 1}"


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


def _duckdb(chunks, path: Path) -> list[Path]:
    import duckdb

    with _Staged([path], fresh=True) as (tmp,):
        con = duckdb.connect(str(tmp))
        try:
            for table in TABLES.values():  # declarations first: the others refer to it
                for stmt in ddl(table):
                    con.execute(stmt)
            for chunk in chunks:  # a chunk's rows refer to its own declarations
                for t, batch in chunk.items():
                    if batch.num_rows:
                        con.register("frame", batch)
                        con.execute(f"INSERT INTO {_q(t)} SELECT * FROM frame")
                        con.unregister("frame")
            con.execute("CHECKPOINT")
        finally:
            con.close()
    return [path]
