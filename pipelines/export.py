"""Records (OUTDIR/*.json) → flat tables: `shenbao export OUTDIR --to TARGET`.

Five tables, each row keyed by the document (`document` = source.file, the input's
path relative to the batch's INDIR; `declaration` = its number in that file) and
the form's year:
  declarations   one row per record: every form / project / funding field,
                 budget_total, composition, extra (JSON text), warnings and
                 failed checks counted, the record's file name and the input's sha256
  indicators     one row per 绩效目标 row (`row` = printed order, from 1)
  budget_items   one row per 项目构成分解 row
  safeguards     one row per 制度保障 row, the stages as three booleans
  checks         one row per consistency check run (check id, passed, detail)

TARGET by its form:
  DIR/, DIR (no suffix)            DIR/<table>.csv, one CSV per table
  FILE.csv                         FILE.<table>.csv beside it, one per table
  FILE.parquet                     FILE.<table>.parquet beside it, one per table
  FILE.xlsx                        one workbook, a sheet per table, Chinese headers
  FILE.duckdb                      one DuckDB table per flat table (replaced)
CSV is UTF-8 with a byte-order mark (so Excel reads the Chinese) and English
column names, like Parquet and DuckDB; only the workbook has Chinese headers.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pandas as pd

from extract.record import FUNDING_KEYS, PROJECT_KEYS, ROW_KEYS, STAGE_KEYS

TABLES = ["declarations", "indicators", "budget_items", "safeguards", "checks"]
SHEETS = {"declarations": "申报表", "indicators": "绩效指标", "budget_items": "项目构成分解",
          "safeguards": "制度保障", "checks": "校验结果"}

KEY = {"document": "文件", "declaration": "申报表序号", "year": "年度"}
FORM = {"form_title": "表名", "form_amount_unit": "金额单位", "form_filing_unit": "填报单位"}
PROJECT = {"name": "项目名称", "category": "项目类别", "nature": "项目性质", "department": "主管部门",
           "implementer": "实施单位", "manager": "项目负责人", "contact": "联系人", "phone": "联系电话",
           "start_date": "起始日期", "end_date": "结束日期", "overview": "项目概况",
           "basis": "立项依据", "necessity": "立项必要性", "feasibility": "项目实施可行性",
           "resources": "项目相关资源投入和制度建设情况", "overall_goal": "项目总目标",
           "annual_goals": "年度绩效目标", "other_issues": "需要说明的其他问题"}
FUNDING = {"total_budget": "项目总预算（元）", "current_year_budget": "当年预算（元）",
           "fiscal_appropriation": "财政拨款（元）", "superior_appropriation": "上级财政拨款（元）",
           "own_level_appropriation": "本级财政安排（元）", "subordinate_matching": "下级财政配套（元）",
           "other_funds": "其他资金（元）", "project_fiscal_funds": "项目资金总额中财政资金（元）",
           "carryover": "上年结转资金（元）", "project_other_funds": "项目资金总额中其他资金（元）"}
assert list(PROJECT) == PROJECT_KEYS and list(FUNDING) == FUNDING_KEYS

# table → {column: (Chinese header, pandas dtype)}
COLUMNS: dict[str, dict[str, tuple[str, str]]] = {
    "declarations": {
        "document": (KEY["document"], "string"), "declaration": (KEY["declaration"], "Int64"),
        "record_file": ("记录文件", "string"), "sha256": ("SHA-256", "string"),
        "year": (KEY["year"], "Int64"), "variant": ("表样", "string"),
        **{k: (v, "string") for k, v in FORM.items()},
        **{f"project_{k}": (v, "string") for k, v in PROJECT.items()},
        **{f"funding_{k}": (v, "float64") for k, v in FUNDING.items()},
        "budget_total": ("金额合计（元）", "float64"), "composition": ("项目构成", "string"),
        "extra": ("其他栏目（JSON）", "string"), "warnings": ("警告数", "Int64"),
        "checks_failed": ("未通过校验数", "Int64"),
    },
    "indicators": {
        "level1": ("一级目标", "string"), "level2": ("二级目标", "string"),
        "level3": ("三级目标", "string"), "target": ("目标值", "string"),
        "note": ("备注", "string"), "table": ("指标表", "string"),
    },
    "budget_items": {
        "project": ("项目名称", "string"), "content": ("项目内容", "string"),
        "detail": ("项目明细", "string"), "amount": ("明细金额（元）", "float64"),
        "unit_price": ("单价（元）", "float64"), "price_basis": ("单价依据", "string"),
        "quantity": ("数量", "float64"), "quantity_basis": ("数量依据", "string"),
        "note": ("备注", "string"),
    },
    "safeguards": {
        "category": ("类别", "string"), "documents": ("文件名称", "string"),
        "measures": ("具体措施", "string"), "planning": ("立项和计划阶段", "boolean"),
        "implementation": ("实施阶段", "boolean"), "completion": ("收尾和完成阶段", "boolean"),
    },
    "checks": {"check": ("校验项", "string"), "passed": ("是否通过", "boolean"),
               "detail": ("说明", "string")},
}
ROW_KEY = {"document": (KEY["document"], "string"), "declaration": (KEY["declaration"], "Int64"),
           "year": (KEY["year"], "Int64"), "row": ("行号", "Int64")}
for _t in TABLES[1:]:
    COLUMNS[_t] = {**ROW_KEY, **COLUMNS[_t]}


# ------------------------------------------------------------------ records → tables

def load_records(outdir: str | Path, include_stale: bool = False) -> list[tuple[str, dict]]:
    """(file name, record) for every record in outdir, by file name (records the
    manifest marks stale only with include_stale: pipelines/manifest.py)."""
    from pipelines.manifest import record_files

    out = []
    for p in record_files(outdir, include_stale):
        try:
            rec = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(rec, dict) and "schema_version" in rec and "form" in rec:
            out.append((p.name, rec))
    return out


def flat_tables(records: list[tuple[str, dict]]) -> dict[str, pd.DataFrame]:
    rows: dict[str, list[dict]] = {t: [] for t in TABLES}
    for fname, rec in records:
        src = rec.get("source") or {}
        form, project, funding = rec.get("form") or {}, rec.get("project") or {}, rec.get("funding") or {}
        key = {"document": src.get("file") or fname.removesuffix(".json"),
               "declaration": src.get("declaration") or 1, "year": form.get("year")}
        checks = rec.get("checks") or []
        rows["declarations"].append({
            **key, "record_file": fname, "sha256": src.get("sha256"), "variant": form.get("variant"),
            **{f"form_{k}": form.get(k) for k in ("title", "amount_unit", "filing_unit")},
            **{f"project_{k}": project.get(k) for k in PROJECT},
            **{f"funding_{k}": funding.get(k) for k in FUNDING},
            "budget_total": rec.get("budget_total"), "composition": rec.get("composition"),
            "extra": json.dumps(rec.get("extra") or {}, ensure_ascii=False),
            "warnings": len(rec.get("warnings") or []),
            "checks_failed": sum(not c.get("passed") for c in checks),
        })
        for table in ("indicators", "budget_items"):
            for i, r in enumerate(rec.get(table) or [], start=1):
                rows[table].append({**key, "row": i, **{k: r.get(k) for k in ROW_KEYS[table]}})
        for i, r in enumerate(rec.get("safeguards") or [], start=1):
            stages = r.get("stages") or {}
            rows["safeguards"].append({**key, "row": i, "category": r.get("category"),
                                       "documents": r.get("documents"), "measures": r.get("measures"),
                                       **{s: stages.get(s) for s in STAGE_KEYS}})
        for i, c in enumerate(checks, start=1):
            rows["checks"].append({**key, "row": i, "check": c.get("id"), "passed": c.get("passed"),
                                   "detail": c.get("detail")})
    return {t: _frame(rows[t], COLUMNS[t]) for t in TABLES}


def _frame(rows: list[dict], columns: dict[str, tuple[str, str]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(columns))
    return df.astype({c: dtype for c, (_, dtype) in columns.items()})


# ------------------------------------------------------------------ tables → files

def export(outdir: str | Path, to: str | Path, include_stale: bool = False) -> list[Path]:
    """Write the records of outdir to `to` (see the module docstring); returns the
    files written."""
    tables = flat_tables(load_records(outdir, include_stale))
    text = str(to)
    target = Path(to)
    if text.endswith(("/", os.sep)) or target.is_dir() or not target.suffix:
        target.mkdir(parents=True, exist_ok=True)
        return [_write(target / f"{t}.csv", _to_csv, df) for t, df in tables.items()]
    suffix = target.suffix.lower()
    target.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        return [_write(_beside(target, t), _to_csv, df) for t, df in tables.items()]
    if suffix == ".parquet":
        return [_write(_beside(target, t), lambda df, p: df.to_parquet(p, index=False), df)
                for t, df in tables.items()]
    if suffix == ".xlsx":
        return [_write(target, _to_xlsx, tables)]
    if suffix == ".duckdb":
        return [_write(target, _to_duckdb, tables)]
    raise ValueError(f"--to {to}: give a DIR/ or a FILE ending in .csv, .xlsx, .parquet or .duckdb")


def _beside(target: Path, table: str) -> Path:
    return target.with_name(f"{target.stem}.{table}{target.suffix}")


def _write(path: Path, writer, data) -> Path:
    """Write through a temporary file beside `path`, then rename: never half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        writer(data, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _to_csv(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, encoding="utf-8-sig")


_ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # characters openpyxl refuses


def _to_xlsx(tables: dict[str, pd.DataFrame], path: Path) -> None:
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for t, df in tables.items():
            df = df.copy()
            for c, (_, dtype) in COLUMNS[t].items():
                if dtype == "string":
                    df[c] = df[c].str.replace(_ILLEGAL_XLSX, "", regex=True)
            df = df.rename(columns={c: head for c, (head, _) in COLUMNS[t].items()})
            df.to_excel(xw, sheet_name=SHEETS[t], index=False)
            ws = xw.sheets[SHEETS[t]]
            ws.freeze_panes = "A2"
            for i, c in enumerate(df.columns):
                longest = max([len(str(c))] + [len(str(v)) for v in df[c].head(200) if pd.notna(v)])
                ws.column_dimensions[ws.cell(row=1, column=i + 1).column_letter].width = \
                    min(60, 2 + 2 * longest)


def _to_duckdb(tables: dict[str, pd.DataFrame], path: Path) -> None:
    import duckdb

    con = duckdb.connect(str(path))
    try:
        for t, df in tables.items():
            con.register("frame", df)
            con.execute(f"CREATE OR REPLACE TABLE {t} AS SELECT * FROM frame")
            con.unregister("frame")
    finally:
        con.close()


# ------------------------------------------------------------------ DuckDB → records

def records_from_duckdb(db_path: str | Path) -> list[dict]:
    """The records (golden fields, plus source.file / source.declaration) back from
    an exported DuckDB file, ordered by document and declaration."""
    import duckdb

    con = duckdb.connect(str(db_path), read_only=True)
    try:
        def rows(table: str) -> list[dict]:
            order = "document, declaration" + (", row" if table != "declarations" else "")
            df = con.execute(f"SELECT * FROM {table} ORDER BY {order}").df()
            return [{k: _py(v) for k, v in r.items()} for r in df.to_dict("records")]

        children: dict[tuple, dict[str, list]] = {}
        for table in TABLES[1:4]:
            for r in rows(table):
                children.setdefault((r["document"], r["declaration"]), {}).setdefault(table, []).append(r)
        out = []
        for d in rows("declarations"):
            kids = children.get((d["document"], d["declaration"]), {})
            out.append({
                "schema_version": "1",
                "form": {"title": d["form_title"], "year": d["year"],
                         "amount_unit": d["form_amount_unit"], "filing_unit": d["form_filing_unit"],
                         "variant": d["variant"]},
                "project": {k: d[f"project_{k}"] for k in PROJECT},
                "funding": {k: d[f"funding_{k}"] for k in FUNDING},
                "composition": d["composition"],
                "indicators": [{k: r[k] for k in ROW_KEYS["indicators"]}
                               for r in kids.get("indicators", [])],
                "budget_items": [{k: r[k] for k in ROW_KEYS["budget_items"]}
                                 for r in kids.get("budget_items", [])],
                "budget_total": d["budget_total"],
                "safeguards": [{"category": r["category"], "documents": r["documents"],
                                "measures": r["measures"], "stages": {s: r[s] for s in STAGE_KEYS}}
                               for r in kids.get("safeguards", [])],
                "extra": json.loads(d["extra"]) if d["extra"] else {},
                "source": {"file": d["document"], "declaration": d["declaration"]},
            })
        return out
    finally:
        con.close()


def _py(v):
    """A DuckDB/pandas cell as a plain Python value (missing → None)."""
    if v is None or (not isinstance(v, (list, dict, str)) and pd.isna(v)):
        return None
    return v.item() if hasattr(v, "item") else v
