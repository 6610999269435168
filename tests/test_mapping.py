"""Field mapping on hand-built cell grids: the engine reads cells, not PDFs, so
these tests need no renderer. Expected values are written from the form."""

from extract.checks import run_checks
from extract.layout import Cell, PageLayout, Table, TextLine
from extract.mapping import Segment, map_segment, split_declarations, stream
from extract.pipeline import _record
from extract.record import build_record, validate
from extract.template import load_templates

W, H = 60.0, 20.0


def table(rows, page=1, top=100.0, method="text", confidence=1.0):
    """rows: list of rows; each cell is "text" or (text, colspan) or
    (text, colspan, rowspan). Slots covered by a span from above are skipped;
    a None in a row only marks such a slot for the reader."""
    cells = []
    occupied = set()
    for r, row in enumerate(rows):
        c = 0
        for item in row:
            while (r, c) in occupied:
                c += 1
            if item is None:
                continue
            text, cs, rs = (item, 1, 1) if isinstance(item, str) else (tuple(item) + (1, 1))[:3]
            for rr in range(r, r + rs):
                for cc in range(c, c + cs):
                    occupied.add((rr, cc))
            bbox = (c * W, top + r * H, (c + cs) * W, top + (r + rs) * H)
            cells.append(Cell(bbox=bbox, row=r, col=c, row_span=rs, col_span=cs, text=text,
                              page=page, method=method, confidence=confidence))
            c += cs
    n_cols = max(c.col + c.col_span for c in cells)
    return Table(page=page, bbox=(0, top, n_cols * W, top + len(rows) * H), cells=cells,
                 n_rows=len(rows), n_cols=n_cols)


def line(text, top, page=1):
    return TextLine(text=text, bbox=(0, top, 200, top + 10), page=page)


TPL = {t.id: t for t in load_templates()}["sh-district-2020"]

PART_A = [
    line("财政项目支出绩效目标申报表（项目总体情况）", 10),
    line("(2020年)", 30),
    line("填报单位（盖章）", 50),
    line("金额单位：元", 50),
    table([
        ["项目名称", ("(工会) 维护职工权益", 5)],
        ["项目类别", ("☐一次性项目 ☑经常性项目 ☐中期预算试点项目", 5)],
        ["项目负责人:", "朱怡", "联系人:", "朱怡", "联系电话:", "54145530"],
        ["起始日期:", ("2020-01-01", 2), "结束日期:", ("2020-12-31", 2)],
        [("项目立项情况", 1, 3), ("依据：《关于加强经费保障》，为工会", 5)],
        [None, ("必要性：职工权益保障工作会议", 5)],
        [None, ("可行性：项目为经常性项目", 5)],
        [("项目资金", 1, 3), ("一、项目总预算：384200", 5)],
        [None, ("二、当年预算：", 2), ("384200", 3)],
        [None, ("(二) 其他资金：", 2), ("0", 3)],
        ["年度绩效目标", ("完成高温慰问\n完成劳模慰问", 5)],
    ]),
]
def test_part_a_fields():
    seg = Segment(items=PART_A)
    m = map_segment(seg, TPL)
    rec, prov = build_record(m)
    p = rec["project"]
    assert rec["form"]["year"] == 2020
    assert rec["form"]["amount_unit"] == "元"
    assert rec["form"]["filing_unit"] is None
    assert p["name"] == "(工会)维护职工权益"
    assert p["category"] == "经常性项目"
    assert (p["manager"], p["contact"], p["phone"]) == ("朱怡", "朱怡", "54145530")
    assert (p["start_date"], p["end_date"]) == ("2020-01-01", "2020-12-31")
    assert p["basis"] == "《关于加强经费保障》，为工会"
    assert p["necessity"] == "职工权益保障工作会议"
    assert p["feasibility"] == "项目为经常性项目"
    assert rec["funding"]["total_budget"] == 384200
    assert rec["funding"]["current_year_budget"] == 384200
    assert rec["funding"]["other_funds"] == 0
    assert p["annual_goals"] == "完成高温慰问\n完成劳模慰问"
    assert prov["project.phone"]["page"] == 1 and prov["project.phone"]["method"] == "text"


def test_indicator_table_merged_cells_carry_down():
    t = table([
        [("绩效目标", 1, 4), "一级目标", "二级目标", "三级目标", "目标值", "备注"],
        [None, ("产出目标", 1, 2), "数量", "完成全年4个内容的工作", "4个", "工作计划"],
        [None, None, "质量", "补贴慰问发放准确性", "100%", ""],
        [None, "效果目标", "社会效益", "职工满意度", "≥90%", "满意度常规标杆"],
    ])
    m = map_segment(Segment(items=[t]), TPL)
    rec, _ = build_record(m)
    assert rec["indicators"] == [
        {"level1": "产出目标", "level2": "数量", "level3": "完成全年4个内容的工作", "target": "4个",
         "note": "工作计划", "table": None},
        {"level1": "产出目标", "level2": "质量", "level3": "补贴慰问发放准确性", "target": "100%",
         "note": None, "table": None},
        {"level1": "效果目标", "level2": "社会效益", "level3": "职工满意度", "target": "≥90%",
         "note": "满意度常规标杆", "table": None},
    ]


def test_budget_table_duplicate_headers_and_total():
    t = table([
        [("项目构成分解", 1, 4), "项目名称", "项目内容", "项目明细", "明细金额", "单价", "依据", "数量",
         "依据", "备注"],
        [None, "工会", "送温暖", "慰问", "15,000.00", "500.00", "历年经验", "30.00", "人数", "年度项目"],
        [None, "工会", "协商", "劳务费", "19200.00", "19200.00", "历年经验", "1.00", "年度", ""],
        [None, ("金额合计", 3), "34200.00", "----", "----", "----", "----", "----"],
    ])
    m = map_segment(Segment(items=[line("金额单位：元", 5), t]), TPL)
    rec, _ = build_record(m)
    assert rec["budget_total"] == 34200
    assert [i["amount"] for i in rec["budget_items"]] == [15000, 19200]
    assert rec["budget_items"][0]["price_basis"] == "历年经验"
    assert rec["budget_items"][0]["quantity_basis"] == "人数"
    assert rec["budget_items"][0]["quantity"] == 30
    assert rec["budget_items"][1]["note"] is None
    checks = {c["id"]: c["passed"] for c in run_checks(rec)}
    assert checks["items_sum_to_total"] is True
    assert checks["price_times_quantity[0]"] is True


def test_wan_yuan_form_scales_amounts():
    t = table([
        ["项目资金", ("一、项目总预算：38.42", 3)],
    ])
    m = map_segment(Segment(items=[line("金额单位：万元", 5), t]), TPL)
    rec, _ = build_record(m)
    assert rec["form"]["amount_unit"] == "万元"
    assert rec["funding"]["total_budget"] == 384200


def test_safeguard_stages():
    t = table([
        ["制度保障", "文件名称", "具体措施", ("保障阶段", 3)],
        ["项目管理制度", "档案制度", "制度健全", "立项和计划阶段 √", "实施阶段", "收尾和完成阶段 √"],
    ])
    rec, _ = build_record(map_segment(Segment(items=[t]), TPL))
    assert rec["safeguards"] == [{"category": "项目管理制度", "documents": "档案制度",
                                  "measures": "制度健全",
                                  "stages": {"planning": True, "implementation": False,
                                             "completion": True}}]


def test_missing_parts_and_unreadable_checkbox_give_nulls_and_warnings():
    items = [
        line("财政项目支出绩效目标申报表（项目总体情况）", 10),
        table([
            ["项目名称", ("某项目", 3)],
            ["项目类别", ("一次性项目 经常性项目 中期预算试点项目", 3)],
        ]),
    ]
    rec = _record(Segment(items=items), TPL, 0.5, {TPL.id: 0.5})
    validate(rec)
    assert rec["project"]["name"] == "某项目"
    assert rec["project"]["category"] is None
    assert rec["indicators"] == [] and rec["budget_items"] == [] and rec["safeguards"] == []
    assert rec["budget_total"] is None
    w = "\n".join(rec["warnings"])
    assert "project.category" in w
    assert "indicators: table not found" in w
    assert "制度保障 not found" in w
    assert {"path": "indicators", "reason": "not_found", "page": None, "bbox": None,
            "detail": "table not found"} in rec["review"]


def test_unknown_label_goes_to_extra():
    t = table([
        ["项目名称", ("某项目", 3)],
        ["项目编号：", ("XM-2020-001", 3)],
    ])
    rec, _ = build_record(map_segment(Segment(items=[t]), TPL))
    assert rec["extra"] == {"项目编号": "XM-2020-001"}


def test_repeated_part_title_starts_new_declaration():
    items = [line("财政项目支出绩效目标申报表（项目总体情况）", 10),
             line("财政项目支出绩效目标申报表（绩效目标）", 10, page=2),
             line("财政项目支出绩效目标申报表（项目总体情况）", 10, page=3)]
    segs = split_declarations(items, [TPL])
    assert [s.pages for s in segs] == [[1, 2], [3]]


def test_stream_orders_by_position():
    p = PageLayout(number=1, kind="text", width=600, height=800,
                   tables=[table([["a", "b"]], top=300)], lines=[line("t", 10), line("u", 500)])
    assert [getattr(i, "text", "table") for i in stream([p])] == ["t", "table", "u"]


def test_ocr_year_line_with_broken_digits():
    from extract.mapping import ocr_year_line as _ocr_year_line

    assert _ocr_year_line("(20:15年)") == "2015"
    assert _ocr_year_line("（2020年度）") == "2020"
    assert _ocr_year_line("20:.5年)") is None  # three digits: not a year, left empty
    assert _ocr_year_line("项目名称：2015年度农村河道轮浚工程") is None


def test_ocr_year_line_feeds_the_record_year():
    items = [TextLine(text="财政项目支出绩效目标申报表（项目总体情况）", bbox=(0, 10, 200, 20), page=1,
                      method="ocr:rapidocr"),
             TextLine(text="(20:15年)", bbox=(0, 30, 200, 40), page=1, method="ocr:rapidocr")]
    rec, prov = build_record(map_segment(Segment(items=items), TPL))
    assert rec["form"]["year"] == 2015
    assert prov["form.year"]["method"] == "ocr:rapidocr"


def test_total_row_without_its_column_header_warns_instead_of_crashing():
    # a scan whose 明细金额 header was not read: the total cannot be placed
    t = table([
        ["项目名称", "项目内容", "项目明细", "", "单价", "依据", "数量"],
        ["工会", "送温暖", "慰问", "15,000.00", "500.00", "历年经验", "30"],
        [("金额合计", 3), "15000.00", "----", "----", "----"],
    ], method="ocr:rapidocr", confidence=0.9)
    m = map_segment(Segment(items=[t]), TPL)
    rec, _ = build_record(m)
    assert rec["budget_total"] is None
    assert any("budget_total" in w for w in m.findings.warnings)
    assert any(e.path == "budget_total" and e.reason == "not_found" for e in m.findings.entries)
