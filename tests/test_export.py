"""Exports: records → flat tables → DuckDB → records gives the same values; the
workbook has a sheet per table with Chinese headers; CSV / Parquet file naming."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pandas as pd
import pytest

from extract.compare import compare_records
from pipelines.export import SHEETS, TABLES, export, flat_tables, load_records, records_from_duckdb
from pipelines.io import write_records

GOLDEN = ["schema_version", "form", "project", "funding", "composition", "indicators",
          "budget_items", "budget_total", "safeguards", "extra"]


def _base() -> dict:
    """A small fixed record (the sample corpus is data others edit)."""
    from extract.record import empty_record

    rec = empty_record()
    rec["form"].update(title="财政项目支出绩效目标申报表", year=2020, amount_unit="元",
                       variant="sh-district-2020")
    rec["project"].update(name="（工会）维护职工权益", category="经常性项目", manager="朱怡",
                          phone="54145530", start_date="2020-01-01", end_date="2020-12-31",
                          overview="根据市总工会对职工服务项目的要求，本着“冬送温暖、夏送清凉”的原则。",
                          annual_goals="完成区属劳模的慰问\n完成集体协商指导工作", other_issues="无")
    rec["funding"].update(total_budget=384200, current_year_budget=384200,
                          fiscal_appropriation=384200, superior_appropriation=0,
                          own_level_appropriation=384200, subordinate_matching=0, other_funds=0)
    rec["composition"] = "项目预算总额为38.42万元，共包含3个子项目。"
    rec["indicators"] = [
        {"level1": "产出目标", "level2": "数量", "level3": "完成全年4个内容的工作", "target": "4个",
         "note": "工作计划", "table": None},
        {"level1": "效果目标", "level2": "社会效益", "level3": "职工满意度", "target": "≥90%",
         "note": "满意度常规标杆", "table": None}]
    rec["budget_items"] = [
        {"project": "（工会）维护职工权益", "content": "送温暖", "detail": "11名区属劳模慰问",
         "amount": 15000.0, "unit_price": 500.0, "price_basis": "历年经验", "quantity": 30,
         "quantity_basis": "人数", "note": "年度项目"},
        {"project": "（工会）维护职工权益", "content": "集体协商", "detail": "指导工作",
         "amount": 369200.0, "unit_price": None, "price_basis": None, "quantity": None,
         "quantity_basis": None, "note": None}]
    rec["budget_total"] = 384200.0
    rec["safeguards"] = [{"category": "项目管理制度", "documents": "职工档案建设制度",
                          "measures": "制度健全并被有效执行",
                          "stages": {"planning": True, "implementation": True, "completion": True}}]
    return rec


def _records() -> list[tuple[str, list[dict]]]:
    """(input file, its records): two files with one declaration, one file with two
    (the second in 万元 with odd values: nulls, an empty table, extra fields)."""
    base = _base()
    out = []
    for i, f in enumerate(["a.pdf", "sub/a.pdf"]):
        r = copy.deepcopy(base)
        r["project"]["name"] += f"（{i}）"
        r["source"] = {"file": f, "sha256": f"{i:064d}", "declaration": 1, "page_count": 3}
        r["warnings"] = ["w1", "w2"]
        r["checks"] = [{"id": "items_sum_to_total", "passed": True, "fields": [], "detail": "ok"},
                       {"id": "price_times_quantity", "passed": False, "fields": [], "detail": "1 ≠ 2"}]
        out.append((f, [r]))
    r1 = copy.deepcopy(base)
    r2 = copy.deepcopy(base)
    r2["form"].update(year=2019, amount_unit="万元", filing_unit="上海市闵行区古美路街道")
    r2["project"].update(overview="第一行\n第二行，含“引号”和\t制表符", phone=None, start_date="2019-03")
    r2["funding"].update(carryover=12345.67, project_fiscal_funds=0.0)
    r2["indicators"][0].update(table="年度绩效指标", note=None)
    r2["budget_items"] = []
    r2["budget_total"] = None
    r2["safeguards"][0]["stages"] = {"planning": True, "implementation": False, "completion": False}
    r2["extra"] = {"项目代码": "310112-07", "其中：上年结余（元）": 5000.5}
    for n, r in enumerate([r1, r2], start=1):
        r["source"] = {"file": "multi.pdf", "sha256": "f" * 64, "declaration": n}
    out.append(("multi.pdf", [r1, r2]))
    return out


@pytest.fixture
def outdir(tmp_path) -> Path:
    d = tmp_path / "records"
    d.mkdir()
    for f, recs in _records():
        write_records(d, f.replace("/", "__"), recs)
    (d / "manifest.jsonl").write_text("{}\n")
    (d / "plan.json").write_text("{}")  # not a record: ignored
    return d


def _golden(rec: dict) -> dict:
    def num(v):
        if isinstance(v, dict):
            return {k: num(x) for k, x in v.items()}
        if isinstance(v, list):
            return [num(x) for x in v]
        if isinstance(v, int) and not isinstance(v, bool):
            return float(v)
        return v
    return num({k: rec[k] for k in GOLDEN})


def test_flat_tables(outdir):
    t = flat_tables(load_records(outdir))
    d = t["declarations"].set_index(["document", "declaration"])
    assert len(d) == 4
    assert d.loc[("sub/a.pdf", 1), "record_file"] == "sub__a.json"
    assert d.loc[("a.pdf", 1), "warnings"] == 2 and d.loc[("a.pdf", 1), "checks_failed"] == 1
    assert json.loads(d.loc[("multi.pdf", 2), "extra"])["项目代码"] == "310112-07"
    assert d.loc[("multi.pdf", 2), "year"] == 2019
    assert pd.isna(d.loc[("multi.pdf", 2), "budget_total"])
    assert len(t["indicators"]) == 4 * 2
    assert list(t["indicators"]["row"][:3]) == [1, 2, 1]
    sg = t["safeguards"].set_index(["document", "declaration", "row"])
    assert sg.loc[("multi.pdf", 2, 1), ["planning", "implementation", "completion"]].tolist() == \
        [True, False, False]
    assert len(t["checks"]) == 4 and t["checks"]["passed"].tolist().count(False) == 2
    assert (t["budget_items"]["document"] == "multi.pdf").sum() == 2  # the second has none


def test_duckdb_round_trip(outdir, tmp_path):
    db = tmp_path / "x.duckdb"
    assert export(outdir, db) == [db]
    back = {(r["source"]["file"], r["source"]["declaration"]): r for r in records_from_duckdb(db)}
    originals = {(r["source"]["file"], r["source"]["declaration"]): r
                 for _, recs in _records() for r in recs}
    assert set(back) == set(originals)
    for key, orig in originals.items():
        assert _golden(back[key]) == _golden(orig), key
        assert not compare_records(orig, back[key]).diffs
    export(outdir, db)  # exporting again replaces the tables
    assert len(records_from_duckdb(db)) == 4


def test_xlsx_has_a_sheet_per_table_with_chinese_headers(outdir, tmp_path):
    from openpyxl import load_workbook

    xlsx = tmp_path / "申报表.xlsx"
    export(outdir, xlsx)
    wb = load_workbook(xlsx, read_only=True)
    assert wb.sheetnames == [SHEETS[t] for t in TABLES]
    heads = [c.value for c in next(wb["申报表"].iter_rows(max_row=1))]
    for h in ["文件", "申报表序号", "年度", "项目名称", "项目总预算（元）", "项目构成", "警告数"]:
        assert h in heads
    assert all(not h.isascii() for h in heads if h != "SHA-256")
    assert [c.value for c in next(wb["制度保障"].iter_rows(max_row=1))][-3:] == \
        ["立项和计划阶段", "实施阶段", "收尾和完成阶段"]
    assert wb["绩效指标"].max_row == 1 + len(flat_tables(load_records(outdir))["indicators"])
    wb.close()


def test_csv_and_parquet_one_file_per_table(outdir, tmp_path):
    files = export(outdir, f"{tmp_path / 'csvdir'}/")
    assert [p.name for p in files] == [f"{t}.csv" for t in TABLES]
    d = pd.read_csv(tmp_path / "csvdir" / "declarations.csv", encoding="utf-8-sig")
    assert "（工会）维护职工权益（1）" in set(d["project_name"])
    files = export(outdir, tmp_path / "all.csv")
    assert [p.name for p in files] == [f"all.{t}.csv" for t in TABLES]
    files = export(outdir, tmp_path / "all.parquet")
    assert [p.name for p in files] == [f"all.{t}.parquet" for t in TABLES]
    ind = pd.read_parquet(tmp_path / "all.indicators.parquet")
    assert ind["table"].dropna().tolist() == ["年度绩效指标"]
    with pytest.raises(ValueError):
        export(outdir, tmp_path / "x.json")
    assert not list(tmp_path.glob(".*.tmp"))


def test_cli_export(outdir, tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app

    result = CliRunner().invoke(app, ["export", str(outdir), "--to", str(tmp_path / "out.duckdb")])
    assert result.exit_code == 0, result.output
    assert len(records_from_duckdb(tmp_path / "out.duckdb")) == 4
