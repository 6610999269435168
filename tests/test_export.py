"""Exports: every table keyed by record_id (the documented hash), the types
each format keeps (DATE, DECIMAL(18,2), integers, booleans) checked by reading
the files back, the review / fields / extra / warnings tables, reviewed records
taken in place of extracted ones, and every .json file of OUTDIR exported or
reported. Most tests read real pipeline output of bundled samples; the odd
cases (several declarations in a file, lists in extra, huge amounts) use small
records written here."""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from extract import errors
from extract.compare import compare_records
from extract.record import empty_record, validate
from pipelines.export import (
    check_name,
    export,
    flat_tables,
    load_records,
    record_id,
    records_from_duckdb,
)
from pipelines.export_tables import SHEETS, TABLE_NAMES, TABLES, describe
from pipelines.io import write_records

ROOT = Path(__file__).resolve().parents[1]
DIGITAL = ROOT / "samples" / "digital"
GOLDEN = ["schema_version", "form", "project", "funding", "composition", "indicators",
          "budget_items", "budget_total", "safeguards", "extra"]
# two different declarations in files of one name (a/form.pdf, b/form.pdf), and a third:
# month-only dates and extra values (pengxi), a failed check (jiangning)
SAMPLES = {"a/form.pdf": "ministry-sichuan-pengxi-2022-rural-water-supply.pdf",
           "b/form.pdf": "js-nanjing-jiangning-2019-rural-toilets.pdf",
           "c/gumei.pdf": "sh2020-union-gumei.pdf"}


# ------------------------------------------------------------------ real records

@pytest.fixture(scope="module")
def real(tmp_path_factory) -> Path:
    """OUTDIR of the real pipeline on three bundled samples, two of them copied
    to a/form.pdf and b/form.pdf: extract names their records form.json, form_2.json."""
    from extract.pipeline import extract_file

    base = tmp_path_factory.mktemp("real")
    outdir = base / "out"
    outdir.mkdir()
    taken: set[str] = set()
    for rel, sample in SAMPLES.items():
        src = base / "in" / rel
        src.parent.mkdir(parents=True, exist_ok=True)
        src.write_bytes((DIGITAL / sample).read_bytes())
        write_records(outdir, src.name, extract_file(src), taken)
    return outdir


def _records(outdir: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(outdir.glob("*.json"))}


def test_record_id_is_the_documented_hash(real):
    recs = _records(real)
    assert sorted(recs) == ["form.json", "form_2.json", "gumei.json"]
    assert recs["form.json"]["source"]["file"] == recs["form_2.json"]["source"]["file"] == "form.pdf"
    t = flat_tables(load_records(real).records)
    d = t["declarations"].set_index("record_file")
    for name, rec in recs.items():
        src = rec["source"]
        want = hashlib.sha256(f"{src['sha256']}:{src['declaration']}".encode("utf-8")).hexdigest()
        assert d.loc[name, "record_id"] == want == record_id(rec)
    assert d["record_id"].is_unique and len(d) == 3
    ids = set(d["record_id"])
    for table in TABLE_NAMES[1:]:
        assert list(t[table].columns[:1]) == ["record_id"], table
        assert set(t[table]["record_id"]) <= ids, table


def test_same_named_files_join_one_row_per_indicator(real, tmp_path):
    """The issue's case: a/form.pdf and b/form.pdf joined on the old (document,
    declaration) key gave 14 rows for 7 indicators; record_id gives one each."""
    import duckdb
    import pandas as pd

    recs = _records(real)
    want = {r["record_file"]: len(r["indicators"]) for r in
            ({"record_file": n, **rec} for n, rec in recs.items())}
    assert want["form.json"] != want["form_2.json"]
    db = tmp_path / "r.duckdb"
    export(real, db)
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute("""SELECT d.record_file, count(*) FROM indicators i
                          JOIN declarations d ON d.record_id = i.record_id GROUP BY 1""").fetchall()
    assert dict(rows) == want
    assert con.execute("SELECT count(*) FROM indicators").fetchone()[0] == sum(want.values())
    con.close()
    export(real, tmp_path / "r.parquet")
    ind = pd.read_parquet(tmp_path / "r.parquet" / "indicators.parquet")
    dec = pd.read_parquet(tmp_path / "r.parquet" / "declarations.parquet")
    joined = ind.merge(dec[["record_id", "record_file", "document"]], on="record_id", validate="many_to_one")
    assert len(joined) == len(ind) == sum(want.values())
    assert joined.groupby("record_file").size().to_dict() == want
    assert set(joined["document"]) == {"form.pdf", "gumei.pdf"}


def _pengxi(real) -> dict:
    return _records(real)["form.json"]


def test_duckdb_types_keys_and_comments(real, tmp_path):
    import duckdb

    db = tmp_path / "r.duckdb"
    assert export(real, db).files == [db]
    con = duckdb.connect(str(db))
    types = {(t, c): ty for t, c, ty in con.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE NOT internal").fetchall()}
    assert types["declarations", "project_start_date"] == "DATE"
    assert types["declarations", "funding_total_budget"] == "DECIMAL(18,2)"
    assert types["budget_items", "amount"] == "DECIMAL(18,2)"
    assert types["declarations", "year"] == "BIGINT"
    assert types["safeguards", "planning"] == "BOOLEAN"
    assert types["fields", "confidence"] == "DOUBLE"
    assert {t for t, _ in types} == set(TABLE_NAMES)
    rec = _pengxi(real)
    rid = record_id(rec)
    start, precision, total, year = con.execute(
        "SELECT project_start_date, project_start_date_precision, funding_total_budget, year "
        "FROM declarations WHERE record_id = ?", [rid]).fetchone()
    assert rec["project"]["start_date"] == "2022-03"  # printed as a month
    assert (start, precision) == (date(2022, 3, 1), "month")
    assert total == Decimal(str(rec["funding"]["total_budget"])).quantize(Decimal("0.01"))
    assert isinstance(total, Decimal) and isinstance(year, int) and year == rec["form"]["year"]
    gumei = record_id(_records(real)["gumei.json"])
    assert con.execute("SELECT project_start_date, project_start_date_precision FROM declarations "
                       "WHERE record_id = ?", [gumei]).fetchone() == (date(2020, 1, 1), "day")
    # keys are declared and enforced
    keys = con.execute("SELECT table_name, constraint_type, constraint_column_names FROM duckdb_constraints() "
                       "WHERE constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY')").fetchall()
    assert ("declarations", "PRIMARY KEY", ["record_id"]) in keys
    for t in TABLE_NAMES[1:]:
        assert (t, "FOREIGN KEY", ["record_id"]) in keys, t
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO declarations (record_id) VALUES (?)", [rid])
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO warnings VALUES ('no-such-record', 1, 'x')")
    # comments come from the schema's descriptions
    comments = {(t, c): cm for t, c, cm in con.execute(
        "SELECT table_name, column_name, comment FROM duckdb_columns() WHERE NOT internal").fetchall()}
    assert describe("funding.total_budget") in comments["declarations", "funding_total_budget"]
    assert describe("indicators[].target") in comments["indicators", "target"]
    assert describe("review[].reason") in comments["review", "reason"]
    assert comments["declarations", "funding_total_budget"].startswith("项目总预算（元）")
    assert all(comments.values())
    assert con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'review'").fetchone()[0]
    con.close()


def test_parquet_is_a_folder_of_typed_tables(real, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = export(real, tmp_path / "r.parquet").files
    assert [p.name for p in files] == [f"{t}.parquet" for t in TABLE_NAMES]
    assert all(p.parent == tmp_path / "r.parquet" for p in files)
    decl = pq.read_table(tmp_path / "r.parquet" / "declarations.parquet")
    s = decl.schema
    assert s.field("project_start_date").type == pa.date32()
    assert s.field("funding_total_budget").type == pa.decimal128(18, 2)
    assert s.field("year").type == pa.int64() and s.field("declaration").type == pa.int64()
    assert s.field("record_id").nullable is False
    meta = s.field("funding_total_budget").metadata
    assert meta[b"description"].decode() == describe("funding.total_budget")
    assert meta[b"header_zh"].decode() == "项目总预算（元）"
    items = pq.read_table(tmp_path / "r.parquet" / "budget_items.parquet")
    assert items.schema.field("amount").type == pa.decimal128(18, 2)
    amounts = [a for r in _records(real).values() for a in (i["amount"] for i in r["budget_items"])]
    assert sorted(float(a) for a in items.column("amount").to_pylist() if a is not None) == \
        sorted(a for a in amounts if a is not None)
    sg = pq.read_table(tmp_path / "r.parquet" / "safeguards.parquet")
    assert sg.schema.field("planning").type == pa.bool_()
    # the same folder again replaces the files; a file where the folder goes is refused
    export(real, f"{tmp_path / 'r.parquet'}/")
    (tmp_path / "f.parquet").write_text("x")
    with pytest.raises(errors.OutputError):
        export(real, tmp_path / "f.parquet")
    assert not list(tmp_path.rglob(".*.tmp"))


def test_csv_types_through_datapackage(real, tmp_path):
    files = export(real, f"{tmp_path / 'csv'}/").files
    assert [p.name for p in files] == [f"{t}.csv" for t in TABLE_NAMES] + ["datapackage.json"]
    pkg = json.loads((tmp_path / "csv" / "datapackage.json").read_text(encoding="utf-8"))
    res = {r["name"]: r for r in pkg["resources"]}
    assert list(res) == TABLE_NAMES
    ftype = {f["name"]: f["type"] for f in res["declarations"]["schema"]["fields"]}
    assert ftype["project_start_date"] == "date" and ftype["funding_total_budget"] == "number"
    assert ftype["year"] == "integer" and ftype["record_id"] == "string"
    assert res["declarations"]["schema"]["primaryKey"] == ["record_id"]
    assert res["indicators"]["schema"]["foreignKeys"][0]["reference"] == \
        {"resource": "declarations", "fields": ["record_id"]}
    assert {f["name"]: f["type"] for f in res["safeguards"]["schema"]["fields"]}["planning"] == "boolean"
    raw = (tmp_path / "csv" / "declarations.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the Chinese
    with open(tmp_path / "csv" / "declarations.csv", encoding="utf-8-sig", newline="") as f:
        rows = {r["record_file"]: r for r in csv.DictReader(f)}
    pengxi = rows["form.json"]
    assert pengxi["project_start_date"] == "2022-03-01" and pengxi["project_start_date_precision"] == "month"
    assert pengxi["funding_total_budget"] == f"{_pengxi(real)['funding']['total_budget']:.2f}"
    assert pengxi["year"] == "2022"  # an integer, not 2022.0
    # every typed value parses back under its declared type, equal to the typed table
    typed = flat_tables(load_records(real).records)
    parse = {"date": date.fromisoformat, "number": Decimal, "integer": int,
             "boolean": {"true": True, "false": False}.__getitem__, "string": str}
    for t in TABLE_NAMES:
        fields = {f["name"]: f["type"] for f in res[t]["schema"]["fields"]}
        with open(tmp_path / "csv" / f"{t}.csv", encoding="utf-8-sig", newline="") as f:
            back = list(csv.DictReader(f))
        want = typed[t].to_dict("records")
        assert len(back) == len(want), t
        for b, w in zip(back, want):
            for name, kind in fields.items():
                got = parse[kind](b[name]) if b[name] != "" else None
                exp = None if w[name] is None or w[name] != w[name] else w[name]
                if kind == "number" and exp is not None:
                    got, exp = float(got), float(exp)
                assert got == exp or (exp == "" and got is None), (t, name, got, exp)
    files = export(real, tmp_path / "all.csv").files
    assert [p.name for p in files] == [f"all.{t}.csv" for t in TABLE_NAMES] + ["all.datapackage.json"]


def test_xlsx_types_layout_and_chinese(real, tmp_path):
    from openpyxl import load_workbook

    xlsx = tmp_path / "申报表.xlsx"
    export(real, xlsx)
    wb = load_workbook(xlsx)
    assert wb.sheetnames == [SHEETS[t] for t in TABLE_NAMES]
    ws = wb["申报表"]
    heads = [c.value for c in ws[1]]
    assert heads == [c.head for c in TABLES["declarations"].cols]
    assert all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:{ws.cell(1, len(heads)).column_letter}{ws.max_row}"
    col = {h: i + 1 for i, h in enumerate(heads)}
    by_file = {ws.cell(r, col["记录文件"]).value: r for r in range(2, ws.max_row + 1)}
    r = by_file["form.json"]
    total = ws.cell(r, col["项目总预算（元）"])
    assert total.number_format == "#,##0.00" and total.data_type == "n"
    assert total.value == _pengxi(real)["funding"]["total_budget"]
    start = ws.cell(r, col["起始日期"])
    assert start.is_date and start.value.date() == date(2022, 3, 1) and start.number_format == "yyyy-mm"
    assert ws.cell(r, col["起始日期精度"]).value == "月"
    g = by_file["gumei.json"]
    assert ws.cell(g, col["起始日期"]).number_format == "yyyy-mm-dd"
    year = ws.cell(r, col["年度"])
    assert year.value == 2022 and isinstance(year.value, int)
    assert ws.cell(r, col["复核状态"]).value == "未复核"
    overview = ws.cell(r, col["项目概况"])
    assert overview.alignment.wrap_text and ws.column_dimensions[overview.column_letter].width == 60
    sg = wb["制度保障"]
    assert [c.value for c in sg[1]][-3:] == ["立项和计划阶段", "实施阶段", "收尾和完成阶段"]
    assert {sg.cell(i, 6).value for i in range(2, sg.max_row + 1)} <= {True, False, None}
    items = wb["项目构成分解"]
    amount_col = [c.value for c in items[1]].index("明细金额（元）") + 1
    assert items.cell(2, amount_col).number_format == "#,##0.00"
    # checks: Chinese names and details; a failed one says both values
    ck = wb["校验结果"]
    ch = [c.value for c in ck[1]]
    rows = [dict(zip(ch, (c.value for c in row))) for row in ck.iter_rows(min_row=2)]
    assert all(not r["校验项"].isascii() and not r["说明"].isascii() for r in rows)
    failed = [r for r in rows if r["是否通过"] is False]
    assert failed and all("≠" in r["说明"] and "相差" in r["说明"] for r in failed)
    assert all(h.isascii() is False for h in ch)
    rv = wb["待复核"]
    rh = [c.value for c in rv[1]]
    reasons = {row[rh.index("原因")].value for row in rv.iter_rows(min_row=2)}
    assert reasons and reasons <= set(TABLES["review"].col("reason").labels.values())
    wb.close()


def test_check_names_come_from_the_template():
    from extract.checks import checks_for

    names = {c.id: c.name for c in checks_for("sh-district-2020")}
    assert check_name("total_equals_budget", "sh-district-2020") == names["total_equals_budget"]
    assert not names["total_equals_budget"].isascii()
    assert check_name("price_times_quantity[2]", "sh-district-2020") == \
        f"第 3 行：{names['price_times_quantity']}"
    assert check_name("some_new_check", "sh-district-2020") == "some_new_check"


def test_review_fields_warnings_pages_tables(real):
    recs = _records(real)
    t = flat_tables(load_records(real).records)
    ids = {record_id(r): n for n, r in recs.items()}
    rv, fl, wn, pg = t["review"], t["fields"], t["warnings"], t["pages"]
    assert len(rv) == sum(len(r["review"]) for r in recs.values()) > 0
    assert set(rv["status"]) == {"open"}
    failed = rv[rv["reason"] == "check_failed"]
    for row in failed.itertuples():
        entry = recs[ids[row.record_id]]["review"][row.row - 1]
        assert (row.path, row.detail, row.check_id, row.page) == \
            (entry["path"], entry["detail"], entry["check"], entry["page"])
        assert [row.bbox_x0, row.bbox_top, row.bbox_x1, row.bbox_bottom] == entry["bbox"]
        if row.table_name is not None and row.table_name is not pd_na():
            assert entry["path"].startswith(f"{row.table_name}[{row.table_row - 1}]")
    assert len(fl) == sum(len(r["provenance"]) for r in recs.values())
    one = fl[(fl["path"] == "funding.total_budget")].iloc[0]
    rec = recs[ids[one["record_id"]]]
    prov = rec["provenance"]["funding.total_budget"]
    assert (one["page"], one["method"], one["confidence"], one["label"]) == \
        (prov["page"], prov["method"], prov["confidence"], prov["label"])
    assert float(one["value"]) == rec["funding"]["total_budget"]
    row = fl[fl["path"] == "indicators[0].target"].iloc[0]
    assert (row["table_name"], row["table_row"]) == ("indicators", 1)
    assert row["value"] == recs[ids[row["record_id"]]]["indicators"][0]["target"]
    assert len(wn) == sum(len(r["warnings"]) for r in recs.values())
    assert list(wn["warning"]) == [w for n in (ids[i] for i in dict.fromkeys(wn["record_id"]))
                                   for w in recs[n]["warnings"]]
    assert len(pg) == sum(len(r["source"]["page_sizes"]) for r in recs.values())
    assert set(pg["kind"]) == {"text"} and (pg["width"] > 500).all()
    ex = t["extra"]
    pengxi = _pengxi(real)["extra"]
    mine = ex[ex["record_id"] == record_id(_pengxi(real))]
    assert list(mine["label"]) == list(pengxi)
    for r in mine.itertuples():
        v = pengxi[r.label]
        assert (float(r.amount) == v) if isinstance(v, (int, float)) else (r.value == v and r.amount is pd_na())


def pd_na():
    import pandas as pd

    return pd.NA


def test_reviewed_records_are_exported_with_their_status(real, tmp_path):
    """OUTDIR/reviewed/<stem>.json (the review station's output) replaces the
    extracted record; the review table carries each entry's status."""
    import shutil

    import duckdb

    out = tmp_path / "out"
    shutil.copytree(real, out)
    rec = json.loads((out / "form_2.json").read_text(encoding="utf-8"))
    assert len(rec["review"]) >= 2
    done = copy.deepcopy(rec)
    done["funding"]["total_budget"] = 12345.6
    done["project"]["end_date"] = "2019-12"
    for e, status in zip(done["review"], ["corrected", "accepted", "postponed"] * 10):
        e["status"] = status
    done["verification"] = {"status": "in_review", "reviewer": "张敏", "updated": "2025-01-02T03:04:05+08:00"}
    validate(done)
    (out / "reviewed").mkdir()
    (out / "reviewed" / "form_2.json").write_text(json.dumps(done, ensure_ascii=False), encoding="utf-8")
    (out / "reviewed" / "audit.jsonl").write_text("{}\n")  # the station's log: not a record
    result = export(out, out / "r.duckdb")
    assert result.problems == [] and result.records == 3
    con = duckdb.connect(str(out / "r.duckdb"), read_only=True)
    rows = con.execute("SELECT record_file, review_status, reviewer, reviewed_at, funding_total_budget, "
                       "project_end_date, project_end_date_precision, review_open FROM declarations "
                       "ORDER BY record_file").fetchall()
    assert rows[0][:2] == ("form.json", "unreviewed") and rows[2][:2] == ("gumei.json", "unreviewed")
    assert rows[1] == ("form_2.json", "in_review", "张敏", "2025-01-02T03:04:05+08:00", Decimal("12345.60"),
                       date(2019, 12, 1), "month",
                       sum(e["status"] == "postponed" for e in done["review"]))
    statuses = con.execute("SELECT r.status FROM review r JOIN declarations d USING (record_id) "
                           "WHERE d.record_file = 'form_2.json' ORDER BY r.row").fetchall()
    assert [s for (s,) in statuses] == [e["status"] for e in done["review"]]
    assert {s for (s,) in con.execute("SELECT r.status FROM review r JOIN declarations d USING (record_id) "
                                      "WHERE d.record_file <> 'form_2.json'").fetchall()} <= {"open"}
    con.close()
    # a broken reviewed record is reported, and the extracted one exported as unreviewed
    (out / "reviewed" / "form_2.json").write_text(json.dumps(done)[:100], encoding="utf-8")
    (out / "reviewed" / "gone.json").write_text(json.dumps(done), encoding="utf-8")
    result = export(out, out / "r.duckdb")
    kinds = {p.file: p.kind for p in result.problems}
    assert kinds == {"reviewed/form_2.json": "truncated", "reviewed/gone.json": "review"}
    assert "extracted record is exported instead" in str(result.problems[0])
    con = duckdb.connect(str(out / "r.duckdb"), read_only=True)
    assert con.execute("SELECT review_status FROM declarations WHERE record_file = 'form_2.json'").fetchone() \
        == ("unreviewed",)
    con.close()


# ------------------------------------------------------------------ small records

def _base() -> dict:
    """A small fixed record (the sample corpus is data others edit)."""
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
    rec["review"] = []
    return rec


def _small() -> list[tuple[str, list[dict]]]:
    """(input file, its records): two files with one declaration, one file with two
    (the second in 万元 with odd values: nulls, an empty table, extra fields, a list)."""
    base = _base()
    out = []
    for i, f in enumerate(["a.pdf", "sub/a.pdf"]):
        r = copy.deepcopy(base)
        r["project"]["name"] += f"（{i}）"
        r["source"] = {"file": f, "sha256": f"{i:064d}", "declaration": 1, "page_count": 3}
        r["warnings"] = ["w1", "w2"]
        r["checks"] = [{"id": "items_sum_to_total", "passed": True, "fields": [], "detail": "明细金额之和 = 金额合计"},
                       {"id": "price_times_quantity[0]", "passed": False, "fields": [], "detail": "1 ≠ 2"}]
        out.append((f, [r]))
    r1 = copy.deepcopy(base)
    r2 = copy.deepcopy(base)
    r2["form"].update(year=2019, amount_unit="万元", filing_unit="上海市闵行区古美路街道")
    r2["project"].update(overview="第一行\n第二行，含“引号”和\t制表符\x07", phone=None, start_date="2019-03")
    r2["funding"].update(carryover=12345.67, project_fiscal_funds=0.0)
    r2["indicators"][0].update(table="年度绩效指标", note=None)
    r2["budget_items"] = []
    r2["budget_total"] = None
    r2["safeguards"][0]["stages"] = {"planning": True, "implementation": False, "completion": False}
    r2["extra"] = {"项目代码": "310112-07", "其中：上年结余（元）": 5000.5, "经办人": ["张三", "李四"]}
    for n, r in enumerate([r1, r2], start=1):
        r["source"] = {"file": "multi.pdf", "sha256": "f" * 64, "declaration": n}
    out.append(("multi.pdf", [r1, r2]))
    for _, recs in out:
        for r in recs:
            validate(r)
    return out


@pytest.fixture
def outdir(tmp_path) -> Path:
    d = tmp_path / "records"
    d.mkdir()
    for f, recs in _small():
        write_records(d, f.replace("/", "__"), recs)
    (d / "manifest.jsonl").write_text("{}\n")  # not .json: not looked at
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
    loaded = load_records(outdir)
    assert loaded.problems == [] and loaded.files == 4
    t = flat_tables(loaded.records)
    d = t["declarations"].set_index(["document", "declaration"])
    assert len(d) == 4
    assert d.loc[("sub/a.pdf", 1), "record_file"] == "sub__a.json"
    assert d.loc[("a.pdf", 1), "warning_count"] == 2 and d.loc[("a.pdf", 1), "checks_failed"] == 1
    assert d.loc[("multi.pdf", 2), "year"] == 2019
    assert d.loc[("multi.pdf", 2), "project_start_date"] == date(2019, 3, 1)
    assert d.loc[("multi.pdf", 2), "project_start_date_precision"] == "month"
    assert d.loc[("multi.pdf", 1), "project_start_date_precision"] == "day"
    assert d.loc[("multi.pdf", 2), "funding_carryover"] == Decimal("12345.67")
    assert str(d["funding_carryover"].dtype) == "decimal128(18, 2)[pyarrow]"
    assert str(d["project_start_date"].dtype) == "date32[day][pyarrow]"
    assert str(d["year"].dtype) == "int64[pyarrow]"
    assert d.loc[("multi.pdf", 2), "budget_total"] is pd_na()
    assert len(t["indicators"]) == 4 * 2
    assert list(t["indicators"]["row"][:3]) == [1, 2, 1]
    sg = t["safeguards"].set_index(["record_id", "row"])
    rid = record_id({"source": {"sha256": "f" * 64, "declaration": 2}})
    assert sg.loc[(rid, 1), ["planning", "implementation", "completion"]].tolist() == [True, False, False]
    assert len(t["checks"]) == 4 and t["checks"]["passed"].tolist().count(False) == 2
    assert set(t["checks"]["name"]) == {check_name("items_sum_to_total", "sh-district-2020"),
                                        check_name("price_times_quantity[0]", "sh-district-2020")}
    assert all(not n.isascii() for n in t["checks"]["name"])
    assert (t["budget_items"]["record_id"] == rid).sum() == 0  # the second has none
    ex = t["extra"][t["extra"]["record_id"] == rid]
    assert ex[["row", "label", "element", "value"]].astype(object).where(ex.notna(), None).values.tolist() == [
        [1, "项目代码", None, "310112-07"], [2, "其中：上年结余（元）", None, "5000.5"],
        [3, "经办人", 1, "张三"], [4, "经办人", 2, "李四"]]
    assert ex["amount"].tolist()[1] == Decimal("5000.50")


def test_duckdb_round_trip(outdir, tmp_path):
    db = tmp_path / "x.duckdb"
    assert export(outdir, db).files == [db]
    back = {(r["source"]["file"], r["source"]["declaration"]): r for r in records_from_duckdb(db)}
    originals = {(r["source"]["file"], r["source"]["declaration"]): r
                 for _, recs in _small() for r in recs}
    assert set(back) == set(originals)
    for key, orig in originals.items():
        assert _golden(back[key]) == _golden(orig), key
        assert not compare_records(orig, back[key]).diffs
    export(outdir, db)  # exporting again replaces the database
    assert len(records_from_duckdb(db)) == 4


def test_chunked_export_equals_one_chunk(outdir, tmp_path, monkeypatch):
    """Records are streamed to the writers a chunk at a time: two records a chunk
    (the fixture has four, one chunk with a record that is read again and fails)
    gives the same tables, keys intact."""
    import duckdb
    import pandas as pd

    from pipelines import export as ex

    whole = {t: df.reset_index(drop=True) for t, df in flat_tables(load_records(outdir).records).items()}
    monkeypatch.setattr(ex, "CHUNK", 2)
    for fmt in ("r.duckdb", "r.parquet", "r.xlsx", "csv/"):
        assert export(outdir, tmp_path / fmt).records == 4
    con = duckdb.connect(str(tmp_path / "r.duckdb"), read_only=True)
    for t in TABLE_NAMES:
        order = ", ".join(TABLES[t].key)
        got = con.sql(f'SELECT * FROM "{t}" ORDER BY {order}').to_arrow_table().to_pandas(
            types_mapper=pd.ArrowDtype)
        want = whole[t].sort_values(list(TABLES[t].key)).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want, check_dtype=False, obj=t)
        back = pd.read_parquet(tmp_path / "r.parquet" / f"{t}.parquet", dtype_backend="pyarrow")
        pd.testing.assert_frame_equal(back, whole[t], check_dtype=False)
    con.close()
    # a record that vanishes between listing and reading is reported, the rest exported
    loaded = load_records(outdir)
    loaded.records[1].path.unlink()
    problems: list = []
    from pipelines import export_write

    files, counts = export_write.write("duckdb", tmp_path / "s.duckdb", ex.chunks(loaded.records, problems),
                                       problems)
    assert counts["declarations"] == 3 and [p.kind for p in problems] == ["unreadable"]


def test_xlsx_round_trip_values(outdir, tmp_path):
    """The workbook holds every row and typed cells; characters xlsx refuses are dropped."""
    from openpyxl import load_workbook

    export(outdir, tmp_path / "x.xlsx")
    wb = load_workbook(tmp_path / "x.xlsx", read_only=True)
    t = flat_tables(load_records(outdir).records)
    for name in TABLE_NAMES:
        assert len(list(wb[SHEETS[name]].iter_rows())) == 1 + len(t[name]), name
    rows = list(wb["申报表"].iter_rows(values_only=True))
    head = rows[0]
    multi2 = next(r for r in rows[1:] if r[head.index("申报表序号")] == 2)
    assert multi2[head.index("项目概况")] == "第一行\n第二行，含“引号”和\t制表符"
    assert multi2[head.index("上年结转资金（元）")] == 12345.67
    assert multi2[head.index("金额合计（元）")] is None
    wb.close()


def test_nothing_to_export_is_an_error(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(errors.NoRecords, match="no .json file"):
        export(empty, tmp_path / "x.duckdb")
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "a.json").write_text('{"a":1}')
    with pytest.raises(errors.NoRecords) as info:
        export(junk, tmp_path / "x.xlsx")
    assert "1 .json file(s)" in info.value.message and "a.json: not a shenbao record" in info.value.message
    assert not (tmp_path / "x.xlsx").exists() and not (tmp_path / "x.duckdb").exists()
    # the command line: a coded error on stderr, exit status 2, no traceback, nothing written
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for d in (empty, junk):
        p = subprocess.run([sys.executable, "-m", "pipelines.cli", "export", str(d), "--to",
                            str(tmp_path / "y.duckdb")], capture_output=True, text=True, env=env, cwd=tmp_path)
        assert p.returncode == 2, p.stderr
        assert p.stderr.startswith("E_NO_RECORDS: ") and "Traceback" not in p.stderr
        assert not (tmp_path / "y.duckdb").exists()


def test_bad_files_are_reported_never_skipped_silently(outdir, tmp_path):
    good = sorted(p.name for p in outdir.glob("*.json"))
    text = (outdir / "a.json").read_text(encoding="utf-8")
    (outdir / "cut.json").write_text(text[: len(text) // 2], encoding="utf-8")
    (outdir / "plan.json").write_text('{"a": 1}')
    (outdir / "latin1.json").write_bytes('{"名": 1}'.encode("gb18030"))
    broken = json.loads(text)
    broken["funding"]["total_budget"] = "38.42万元"
    broken["source"]["sha256"] = "e" * 64
    (outdir / "broken.json").write_text(json.dumps(broken, ensure_ascii=False), encoding="utf-8")
    bad_box = json.loads(text)
    bad_box["source"]["sha256"] = "c" * 64
    bad_box["provenance"] = {"project.name": {"page": 1, "bbox": [1, 2, 3], "method": "text", "confidence": 1}}
    (outdir / "bad_box.json").write_text(json.dumps(bad_box, ensure_ascii=False), encoding="utf-8")
    (outdir / "a_copy.json").write_text(text, encoding="utf-8")  # the same declaration again
    huge = json.loads(text)
    huge["source"]["sha256"] = "d" * 64
    huge["funding"]["carryover"] = 1.5e17
    (outdir / "huge.json").write_text(json.dumps(huge, ensure_ascii=False), encoding="utf-8")
    result = export(outdir, tmp_path / "x.duckdb")
    kinds = {p.file: p.kind for p in result.problems}
    assert kinds == {"cut.json": "truncated", "plan.json": "not_record", "latin1.json": "not_json",
                     "broken.json": "invalid", "bad_box.json": "invalid", "a_copy.json": "duplicate",
                     "huge.json": "value"}
    assert result.found == len(good) + 7 and result.records == len(good) + 1
    assert "funding/total_budget" in next(str(p) for p in result.problems if p.file == "broken.json")
    assert "project.name/bbox" in next(str(p) for p in result.problems if p.file == "bad_box.json")
    assert "as a.json" in next(str(p) for p in result.problems if p.kind == "duplicate")
    import duckdb

    con = duckdb.connect(str(tmp_path / "x.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM declarations").fetchone()[0] == len(good) + 1
    assert con.execute("SELECT funding_carryover FROM declarations WHERE record_file = 'huge.json'").fetchone() \
        == (None,)
    con.close()
    from typer.testing import CliRunner

    from pipelines.cli import app

    res = CliRunner().invoke(app, ["export", str(outdir), "--to", str(tmp_path / "y.xlsx")])
    assert res.exit_code == 1, res.output
    for name in kinds:
        assert f"{name}: " in res.stderr
    assert f"exported {len(good) + 1} record(s) from {len(good) + 7} .json file(s); 7 problem(s)" in res.stderr
    assert (tmp_path / "y.xlsx").exists()


def test_a_record_cut_anywhere_is_reported_truncated(outdir, tmp_path):
    """Cut at any byte (a copy or a write that stopped), inside a character too."""
    data = (outdir / "multi-2.json").read_bytes()
    cut = tmp_path / "cut"
    cut.mkdir()
    step = max(1, len(data) // 97)
    for n in range(0, len(data) - 2, step):
        (cut / f"{n:06d}.json").write_bytes(data[:n])
    loaded = load_records(cut)
    assert loaded.records == [] and loaded.files == len(list(cut.iterdir()))
    assert {p.kind for p in loaded.problems} == {"truncated"}, [str(p) for p in loaded.problems
                                                               if p.kind != "truncated"]


def test_targets(outdir, tmp_path):
    with pytest.raises(errors.UsageError):
        export(outdir, tmp_path / "x.json")
    (tmp_path / "file").write_text("x")
    with pytest.raises(errors.OutputError):
        export(outdir, tmp_path / "file" / "x.duckdb")
    with pytest.raises(errors.OutputError):
        export(outdir, f"{tmp_path / 'file'}/")
    with pytest.raises(errors.UsageError):  # datapackage.json would sit among the records
        export(outdir, f"{outdir}/")
    with pytest.raises(errors.UsageError):
        export(outdir, outdir / "t.csv")
    files = export(outdir, tmp_path / "plain").files  # no suffix: a CSV folder
    assert files[0] == tmp_path / "plain" / "declarations.csv"
    assert oct(files[0].stat().st_mode & 0o777) != oct(0o600)  # a normal file's mode
    assert not list(tmp_path.rglob(".*.tmp"))


def test_cli_export(outdir, tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app

    result = CliRunner().invoke(app, ["export", str(outdir), "--to", str(tmp_path / "out.duckdb")])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(tmp_path / "out.duckdb")
    assert "exported 4 record(s) from 4 .json file(s)" in result.stderr
    assert len(records_from_duckdb(tmp_path / "out.duckdb")) == 4


@pytest.mark.parametrize("entry", [
    {"page": 1, "bbox": [1.0, 2, 3, 4], "method": "text", "confidence": 1.0},
    {"page": None, "bbox": None, "method": "ocr:rapidocr+pixels", "confidence": 0},
    {"page": 0, "bbox": None, "method": "text", "confidence": 0.5},
    {"page": 1, "bbox": [1, 2, 3], "method": "text", "confidence": 1.0},
    {"page": 1, "bbox": [1, 2, 3, "4"], "method": "text", "confidence": 1.0},
    {"page": -1, "bbox": None, "method": "text", "confidence": 1.0},
    {"page": True, "bbox": None, "method": "text", "confidence": 1.0},
    {"page": 1.5, "bbox": None, "method": "text", "confidence": 1.0},
    {"page": 1, "bbox": None, "method": None, "confidence": 1.0},
    {"page": 1, "bbox": None, "method": "text", "confidence": -0.1},
    {"page": 1, "bbox": None, "method": "text", "confidence": "high"},
    {"page": 1, "bbox": None, "method": "text"},
    {"page": 1, "bbox": None, "method": "text", "confidence": 1.0, "label": "一、项目总预算"},
    {"page": 1, "bbox": None, "method": "text", "confidence": 1.0, "label": 3},
    "text",
])
def test_provenance_check_agrees_with_the_schema(entry):
    """validate checks provenance by hand (jsonschema is slow on its hundred
    entries a record): it must say what the schema itself says."""
    from extract.record import _validator, provenance_problem

    rec = {**_base(), "provenance": {"project.name": entry}}
    by_schema = not list(_validator().iter_errors(rec))
    assert (provenance_problem(rec["provenance"]) is None) == by_schema
    try:
        validate(rec)
        valid = True
    except errors.InvalidRecord:
        valid = False
    assert valid == by_schema
