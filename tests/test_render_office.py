"""Tests for the office rendering route (pipelines/samples/render_office.py and
its office_* modules) and for the golden records written for it.

* The route's choices are a pure function of the seed (style, page model).
* What LibreOffice makes of the .xlsx / .docx holds every string and number of
  the golden records in its text layer (read back with pdfplumber, white space
  ignored, amounts and dates in the printed unit and format), in ruled cells
  that pdfplumber finds.
* The builder's ``--route office`` writes plan.json with the route and style.
* The new golden records validate against the record part of extract/schema.json
  and their sums are what corpus/README.md says.

LibreOffice conversions take seconds: the default run converts two files in one
LibreOffice start (+ one builder run); ``pytest -m slow tests/test_render_office.py``
renders every corpus record in four seeded styles of each program.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pdfplumber
import pytest

from extract import errors, sysdeps
from extract.normalize import normalize_label
from pipelines.samples import build as builder
from pipelines.samples.office_layouts import Ctx
from pipelines.samples.office_model import Table, check_part
from pipelines.samples.office_style import BOXES, FORMATS, SPELLINGS, TICKS, OfficeStyle, style_from_seed
from pipelines.samples.render_office import VARIANTS, convert, layout_records, render_many
from test_render import TextLayer, leaves

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "pipelines" / "samples" / "corpus"
SCHEMA = json.loads((ROOT / "extract" / "schema.json").read_text(encoding="utf-8"))

# the records written for the office route (corpus/README.md, "Records of the office route")
NEW = sorted(p.stem for p in CORPUS.glob("*.json")
             if not builder.reportlab_can_render(json.loads(p.read_text(encoding="utf-8"))))
INCONSISTENT_SUBTOTAL = {"province-anhui-huaining-2021-farm-services"}


def load(stem: str) -> dict:
    return json.loads((CORPUS / f"{stem}.json").read_text(encoding="utf-8"))


def printed_values(rec: dict, style: OfficeStyle) -> list[tuple[str, str]]:
    """(path, text) of everything the record says the form prints, in the
    style's typing of amounts and dates; extra keys as the printed label."""
    ctx = Ctx(rec, style)
    variant = rec["form"]["variant"]
    out = [(k, v) for k, v in leaves(rec) if isinstance(v, str) and k != "form.variant"
           and not k.endswith("_date") and not k.startswith("extra")]
    money_unit = "元" if variant == "sh-district-2026" else None
    for k, v in rec["funding"].items():
        if v is not None:
            out.append((f"funding.{k}", ctx.money(v, money_unit)))
    for i, it in enumerate(rec["budget_items"]):
        for q in ("amount", "unit_price"):
            if it[q] is not None:
                out.append((f"budget_items[{i}].{q}", ctx.money(it[q])))
    if rec["budget_total"] is not None:
        out.append(("budget_total", ctx.money(rec["budget_total"])))
    for q in ("start_date", "end_date"):
        if rec["project"][q]:
            out.append((f"project.{q}", ctx.date(rec["project"][q])))
    for k, v in rec["extra"].items():
        out.append((f"extra.{k} (label)", re.sub(r" \(\d+\)$", "", k)))
        if isinstance(v, list):
            out += [(f"extra.{k}[{i}]", x) for i, x in enumerate(v) if x is not None]
        elif isinstance(v, (int, float)):
            out.append((f"extra.{k}", ctx.money(v)))
        elif v is not None and not (k.startswith("是否") and v in ("是", "否")):
            out.append((f"extra.{k}", v))
    return out


# ---------------------------------------------------------------------- choices

def test_style_is_a_pure_function_of_the_seed():
    for seed in (0, 1, 7, 12345, 2**29 + 3):
        a, b = style_from_seed(seed), style_from_seed(seed)
        assert a == b
        assert OfficeStyle.from_dict(json.loads(json.dumps(a.to_dict()))) == a  # plan.json round trip
    assert style_from_seed(3, "docx").fmt == "docx"
    assert len({json.dumps(style_from_seed(s).to_dict()) for s in range(40)}) == 40


def test_seeds_cover_the_knobs():
    styles = [style_from_seed(s) for s in range(400)]
    assert {s.fmt for s in styles} == set(FORMATS)
    assert {s.font for s in styles} == {"WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "AR PL UMing CN",
                                        "AR PL UKai CN", "Droid Sans Fallback"}
    assert {s.box for s in styles} == set(BOXES)
    assert {s.tick for s in styles} == set(TICKS)
    for knob in ("merge_levels", "repeat_header", "break_in_table", "stage_columns", "spaced_labels",
                 "label_breaks", "half_brackets", "zero_bare", "wan_fixed4", "footer_line", "page_footer"):
        assert {getattr(s, knob) for s in styles} == {True, False}, knob
    assert {s.basis_layout for s in styles} == {"subrows", "sublabels", "one_cell"}
    assert {s.date_format for s in styles} == {"slash", "iso", "cn", "dot"}
    for canonical in ("目标值", "三级指标", "项目总目标", "起始日期"):
        drawn = {s.label(canonical) for s in styles}
        assert drawn == set(SPELLINGS[canonical]), canonical


def test_page_model_is_deterministic_and_inside_its_grid():
    recs = [load(n) for n in NEW] + [load("sh2020-union-gumei"), load("sh-qingpu-2026-river-regulation")]
    assert {r["form"]["variant"] for r in recs} == set(VARIANTS)
    for seed in range(12):
        style = style_from_seed(seed)
        a = layout_records(recs, style)
        assert a == layout_records(recs, style)
        for p in a:
            check_part(p)
            assert abs(sum(p.widths) - Ctx(recs[0], style).width(p.landscape)) < 0.5
            for b in p.blocks:
                if isinstance(b, Table):
                    for r in b.rows:
                        assert all(c.col + c.span <= len(p.widths) for c in r.cells)


def test_extra_keys_are_normalized_printed_labels():
    for stem in NEW:
        for k in load(stem)["extra"]:
            base = re.sub(r" \(\d+\)$", "", k)
            assert normalize_label(base) == base, (stem, k)


# ---------------------------------------------------------------------- LibreOffice

def _round_trip(jobs: list[tuple[list[str], OfficeStyle]], tmp_path: Path) -> None:
    outs = [tmp_path / f"job{k}-{st.fmt}.pdf" for k, (_, st) in enumerate(jobs)]
    pages = render_many([([load(n) for n in names], out, st) for (names, st), out in zip(jobs, outs)],
                        keep_dir=tmp_path / "office")
    for (names, st), out, n in zip(jobs, outs, pages):
        assert n >= len(names)
        assert (tmp_path / "office" / f"{out.stem}.{st.fmt}").is_file()
        layer = TextLayer(out)
        for name in names:
            missing = [(k, v[:24]) for k, v in printed_values(load(name), st) if v not in layer]
            assert not missing, (out.name, name, missing[:8])
        with pdfplumber.open(out) as pdf:
            tables = [len(p.find_tables()) for p in pdf.pages]
            assert all(t >= 1 for t in tables[:1]) and sum(tables) >= len(names)
            ruled = sum(len(t.rows) for p in pdf.pages for t in p.find_tables())
            assert ruled >= 10 * len(names), (out.name, ruled)


def test_office_pdfs_print_every_value_in_ruled_cells(tmp_path):
    mix = ["province-hubei-jiayu-2022-hospital-surgery-building", "ministry-hebei-fuping-2020-poverty-workshops",
           "sh-changning-2021-smart-elderly-services", "sh-jinshan-2026-coastal-seawall",
           "shmuni-2020-school-network-security"]
    _round_trip([(mix, style_from_seed(11, "xlsx")),
                 (list(reversed(mix)) + ["province-anhui-huaining-2021-farm-services"], style_from_seed(12, "docx"))],
                tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_corpus_record_in_four_styles(fmt, tmp_path):
    names = sorted(p.stem for p in CORPUS.glob("*.json"))
    jobs = [(names[k::4], style_from_seed(100 + k, fmt)) for k in range(4)]
    _round_trip(jobs, tmp_path)


def test_a_failed_conversion_is_a_coded_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sysdeps.TOOLS, "soffice", sysdeps.Tool("false", "libreoffice-calc-nogui"))
    f = tmp_path / "a.xlsx"
    f.write_bytes(b"not a workbook")
    with pytest.raises(errors.OutputError, match="LibreOffice made no PDF of a.xlsx"):
        convert([f], tmp_path / "pdf")


def test_a_missing_libreoffice_names_its_package(tmp_path, monkeypatch):
    monkeypatch.setitem(sysdeps.TOOLS, "soffice", sysdeps.Tool("no-such-soffice", "libreoffice-calc-nogui"))
    with pytest.raises(errors.MissingDependency, match="install libreoffice-calc-nogui"):
        convert([tmp_path / "a.xlsx"], tmp_path)


# ---------------------------------------------------------------------- builder

def test_reportlab_sets_do_not_change_with_office_only_records():
    corpus = builder.load_corpus()
    assert len(NEW) >= 10
    old = [(n, r) for n, r in corpus if n not in NEW]
    for seed in (0, 11, 2027):
        assert builder.plan(24, seed, corpus) == builder.plan(24, seed, old)
    assert {j["route"] for j in builder.plan(24, 5, corpus)} == {"reportlab"}
    mixed = builder.plan(40, 5, corpus, route="mixed")
    assert {j["route"] for j in mixed} == {"reportlab", "office"}
    for j in mixed:
        if any(r in NEW for r in j["records"]):
            assert j["route"] == "office"
    with pytest.raises(KeyError, match="only the office route"):
        builder.plan(1, 0, corpus, names=[NEW[0]])


def test_builder_office_route_writes_plan_with_route_and_style(tmp_path):
    names = ["sh-jinshan-2026-coastal-seawall"]  # a short form: the scan simulator runs on it too
    made = builder.build(tmp_path, count=1, seed=101, scanned=True, names=names, route="office",
                         log=lambda _: None)
    assert made == names
    plan = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    assert plan["route"] == "office"
    for job in plan["jobs"]:
        assert job["route"] == "office"
        style = OfficeStyle.from_dict(job["style"])
        assert style == style_from_seed(job["render_seed"])
        assert (tmp_path / "digital" / f"{job['name']}.pdf").is_file()
        assert (tmp_path / "office" / f"{job['name']}.{style.fmt}").is_file()
        assert list((tmp_path / "scanned").glob(f"{job['name']}.*"))
        assert (tmp_path / "golden" / f"{job['name']}.json").read_bytes() == \
            (CORPUS / f"{job['name']}.json").read_bytes()
    from pipelines.samples.contact import contact_sheet

    assert contact_sheet(tmp_path, tmp_path / "sheet.png").stat().st_size > 1000


# ---------------------------------------------------------------------- golden records

def _record_schema() -> dict:
    s = json.loads(json.dumps(SCHEMA))
    s["required"] = [k for k in s["required"] if k != "review"]  # golden records have no review
    return s


@pytest.mark.parametrize("stem", NEW)
def test_new_golden_record_validates_and_adds_up(stem):
    rec = load(stem)
    jsonschema.validate(rec, _record_schema())
    assert "review" not in rec
    f, x, v = rec["funding"], rec["extra"], rec["form"]["variant"]
    z = lambda *vals: sum(a or 0 for a in vals)  # noqa: E731
    if v == "province-county-2021":
        parts = z(x.get("一般公共预算"), x.get("政府性基金"), x.get("国有资本经营预算"))
        if stem in INCONSISTENT_SUBTOTAL:
            assert parts != f["fiscal_appropriation"]
        else:
            assert parts == f["fiscal_appropriation"]
        assert z(x.get("事业收入"), x.get("经营性收入")) == z(x.get("自有资金小计"))
        assert f["total_budget"] == z(f["fiscal_appropriation"], x.get("自有资金小计"), f["other_funds"])
    elif v == "ministry-county":
        assert f["total_budget"] == z(f["fiscal_appropriation"], x["自有资金"], f["other_funds"])
    elif v == "sh-district-2020":
        items = rec["budget_items"]
        assert sum(i["amount"] for i in items) == rec["budget_total"] == f["total_budget"]
        assert all(i["unit_price"] * i["quantity"] == i["amount"] for i in items)
        assert z(f["superior_appropriation"], f["own_level_appropriation"], f["subordinate_matching"]) \
            == f["fiscal_appropriation"]
        assert f["fiscal_appropriation"] + f["other_funds"] == f["current_year_budget"]
    elif v == "sh-municipal-2019":
        assert z(f["fiscal_appropriation"], f["other_funds"]) == f["current_year_budget"] == f["total_budget"]
        assert x["项目类型"] and x["资金用途"] and x["保证项目实施的制度、措施"]
    elif v == "sh-district-2026":
        assert f["project_fiscal_funds"] + f["project_other_funds"] == f["total_budget"]
        assert f["fiscal_appropriation"] + f["other_funds"] == f["current_year_budget"]
    if rec["form"]["amount_unit"] == "万元":  # exact with at most 4 decimals in 万元
        money = [a for a in f.values() if a is not None] + \
                [a for a in x.values() if isinstance(a, (int, float))]
        assert all(float(a) == int(a) for a in money)
    # table columns in extra: one cell per row of their table
    tables: dict[str | None, int] = {}
    for it in rec["indicators"]:
        tables[it["table"]] = tables.get(it["table"], 0) + 1
    sizes = list(tables.values())
    for k, val in x.items():
        if isinstance(val, list):
            m = re.search(r" \((\d+)\)$", k)
            base = k[:m.start()] if m else k
            if base in ("实施阶段", "实施内容", "开始时间", "完成时间", "责任单位"):
                assert len(val) == len(x["实施内容"]), k
            else:
                assert len(val) == sizes[int(m[1]) - 1 if m else 0], k
