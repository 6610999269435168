"""Right or flagged on forms no template foresaw: open-world labels, the layout
families of real forms, and the accounting pass (every printed span ends in a
field, a label, boilerplate, extra or a review entry). Grids are built by hand
from what published forms print; expected values are read off the form."""

from extract.layout import TextLine
from extract.mapping import Segment
from extract.pipeline import _record
from extract.record import validate
from extract.template import load_templates
from test_mapping import TPL, line, table

TPLS = {t.id: t for t in load_templates()}


def run(items, tpl=TPL):
    rec = _record(Segment(items=items), tpl, 0.5, {tpl.id: 0.5})
    validate({**rec, "source": {}})
    return rec


def entries(rec, path=None, reason=None):
    return [e for e in rec["review"] if (path is None or e["path"] == path)
            and (reason is None or e["reason"] == reason)]


def test_column_headers_by_meaning_and_unknown_columns_kept():
    t = table([
        [("绩效目标", 1, 3), "一级指标", "二级指标", "三级指标内容", "年度(/项目)指标值", "分值", "备注"],
        [None, "产出指标", "数量指标", "完成培训", "≥63人", "10", "计划"],
        [None, "效益指标", "社会效益指标", "就业率", "≥70%", "20", ""],
    ])
    rec = run([t])
    assert [(i["level3"], i["target"], i["note"]) for i in rec["indicators"]] == [
        ("完成培训", "≥63人", "计划"), ("就业率", "≥70%", None)]
    assert rec["extra"] == {"分值": ["10", "20"]}  # a column no record key has: kept, never dropped
    assert entries(rec, "extra.分值", "low_confidence")


def test_target_column_by_core_term():
    t = table([
        ["一级目标", "二级目标", "三级目标", "当年预期实现值"],
        ["产出目标", "数量", "完成培训", "63人"],
    ])
    assert run([t])["indicators"][0]["target"] == "63人"


def test_stage_marks_in_mark_columns_under_a_two_row_header():
    t = table([
        [("制度保障", 1, 2), ("文件名称", 1, 2), ("具体措施", 1, 2), ("保障阶段", 3)],
        [None, None, None, "立项和计划阶段", "实施阶段", "收尾和完成阶段"],
        ["项目管理制度", "档案制度", "制度健全", "√", "", "√"],
        ["财务管理制度", "财务办法", "专款专用", "", "R", ""],  # R: a Wingdings 2 tick in the text layer
    ])
    rec = run([t])
    assert rec["safeguards"] == [
        {"category": "项目管理制度", "documents": "档案制度", "measures": "制度健全",
         "stages": {"planning": True, "implementation": False, "completion": True}},
        {"category": "财务管理制度", "documents": "财务办法", "measures": "专款专用",
         "stages": {"planning": False, "implementation": True, "completion": False}}]


def test_footer_rows_go_to_extra_and_header_labels_split():
    rec = run([line("填报单位：某发展中心 单位：万元", 10),
               line("填表人：张敏  填报日期：2016年11月20日", 700)])
    assert rec["form"]["filing_unit"] == "某发展中心"
    assert rec["form"]["amount_unit"] == "万元"
    assert rec["extra"] == {"填表人": "张敏", "填报日期": "2016年11月20日"}


def test_sub_fields_in_one_cell_and_a_neighbours_label():
    t = table([
        ["项目名称", ("某项目", 3)],
        ["项目立项情况", ("1、依据：《关于加强》，为工\n会服务\n2、必要性：职工权益\n3、可行性：项目为经常性", 3)],
        ["主管部门", "坝塘镇", "主管部门编码", "001"],
    ])
    p = run([t])["project"]
    assert (p["basis"], p["necessity"], p["feasibility"]) == ("《关于加强》，为工会服务", "职工权益", "项目为经常性")
    assert p["department"] == "坝塘镇"


def test_a_sub_field_run_into_the_previous_one_is_split():
    # a word processor ran 必要性 and 可行性 into the 依据 row's cell, after full stops
    t = table([
        ["项目名称", ("某项目", 3)],
        ["项目立项情况", "依据", ("《防控工作方案》。必要性：病害蔓延。项目实施的可行性：防控网络已建立。", 2)],
    ])
    rec = run([t])
    p = rec["project"]
    assert (p["basis"], p["necessity"], p["feasibility"]) == ("《防控工作方案》。", "病害蔓延。", "防控网络已建立。")
    assert not entries(rec, "project.necessity")  # label and colon after a sentence: a certain split
    # words before the label (项目实施的可行性): split, and named for review
    assert entries(rec, "project.feasibility", "suspect_value")


def test_a_label_inside_a_value_whose_field_is_set_is_suspect():
    t = table([
        [("项目立项情况", 1, 2), "依据", ("《方案》。可行性：网络已建立。", 2)],
        [None, "可行性", ("条件具备。", 2)],
    ])
    rec = run([t])
    assert rec["project"]["feasibility"] == "条件具备。"
    assert entries(rec, "project.basis", "suspect_value")


def test_a_label_matched_by_its_core_term_is_flagged():
    t = table([["项目计划开始时间", "2020-01-01", "联系电话号码", "54145530"]])
    rec = run([t])
    assert rec["project"]["start_date"] == "2020-01-01"
    assert entries(rec, "project.start_date", "low_confidence")
    # a value in review is never 'sure': its confidence agrees with the review list
    assert rec["provenance"]["project.start_date"]["confidence"] <= 0.5
    assert rec["project"]["phone"] == "54145530" and entries(rec, "project.phone", "low_confidence")


def test_a_value_holding_another_label_is_suspect():
    t = table([["主管部门", "坝塘镇主管部门编码"]])
    rec = run([t], TPLS["sh-district-2026"])
    assert entries(rec, "project.department", "suspect_value")


def test_text_no_field_took_is_named_with_page_and_box():
    stray = TextLine(text="本页由财务科复核 2016.11", bbox=(40.0, 700.0, 300.0, 718.0), page=2)
    rec = run([stray, line("附件1-3", 5)])
    unread = entries(rec, None, "unread_text")
    assert unread == [{"path": None, "reason": "unread_text", "page": 2, "bbox": [40.0, 700.0, 300.0, 718.0],
                       "detail": "本页由财务科复核 2016.11"}]
    assert rec["source"]["coverage"] < 1.0  # the 附件 caption is boilerplate: accounted for


def test_expected_fields_the_form_lacks_are_not_found():
    rec = run([table([["项目名称", "某项目"]])])
    missing = {e["path"] for e in entries(rec, reason="not_found")}
    assert {"project.manager", "funding.total_budget", "indicators", "budget_items", "safeguards"} <= missing
    assert "project.name" not in missing
    assert "project.nature" not in missing  # optional in this layout


def test_rows_under_two_headings_do_not_share_merged_cells():
    tpl = TPLS["ministry-county"]
    long_ = table([
        ["一级指标", "二级指标", "指标内容", "指标值", "备注"],
        [("产出指标", 1, 2), "数量指标", "培训人次", "600人次", ""],
        [None, "质量指标", "合格率", "≥90%", ""],
    ], top=120)
    annual = table([
        ["一级指标", "二级指标", "指标内容", "指标值", "备注"],
        ["", "数量指标", "年度培训", "300人次", ""],
    ], top=400)
    rec = run([line("长期绩效指标", 100), long_, line("年度绩效指标", 380), annual], tpl)
    rows = rec["indicators"]
    assert [r["table"] for r in rows] == ["长期绩效指标", "长期绩效指标", "年度绩效指标"]
    assert rows[1]["level1"] == "产出指标"
    assert rows[2]["level1"] is None  # not carried over the heading of another table
    assert entries(rec, "indicators[2].level1", "not_found")


def test_one_cell_read_into_two_fields_is_suspect():
    # a scan lost the rule between two rows: one cell spans both value slots
    t = table([
        ["一级目标", "二级目标", "三级目标", "目标值"],
        ["产出目标", "数量", ("建成运动场设施合格率", 1, 2), "6个"],
        ["产出目标", "质量", None, "100%"],
    ], method="ocr:rapidocr", confidence=0.99)
    rec = run([t])
    assert entries(rec, "indicators[0].level3", "suspect_value")
    assert entries(rec, "indicators[1].level3", "suspect_value")


def test_symbol_font_ticks_in_option_lists():
    tpl = TPLS["ministry-county"]
    rec = run([table([["项目属性", "新增项目£ 延续项目R"]])], tpl)
    assert rec["project"]["nature"] == "延续项目"


def test_an_amount_that_breaks_a_check_is_read_again():
    """Two reads of one cell (846000 kept, 346000 the second): the sum that
    the kept read breaks passes with the other read, which the record takes and
    names for review as a disagreement with both readings."""
    t = table([
        ["项目资金", "一、项目总预算：", "846000"],
        [None, "二、当年预算：", "846000"],
        [None, "（一）财政拨款：", "346000"],
        [None, "（二）其他资金：", "500000"],
    ], method="ocr:rapidocr", confidence=0.99)
    cell = next(c for c in t.cells if c.text == "346000")
    cell.reads = [{"text": "346000", "source": "rapidocr", "confidence": 0.97},
                  {"text": "846000", "source": "rapidocr, binarized", "confidence": 0.91}]
    # with 其他资金 500000 the kept read adds up (346000 + 500000 = 846000): nothing is read again
    rec = run([t])
    assert rec["funding"]["fiscal_appropriation"] == 346000
    assert not entries(rec, "funding.fiscal_appropriation", "disagreement")
    t.cells[-1].text = "0"  # with 0 the kept read breaks 财政拨款 + 其他资金 = 当年预算
    rec = run([t])
    assert rec["funding"]["fiscal_appropriation"] == 846000
    (e,) = entries(rec, "funding.fiscal_appropriation", "disagreement")
    assert [r["text"] for r in e["reads"]] == ["346000.00", "846000"]
    assert all(c["passed"] for c in rec["checks"] if c["id"] == "current_year_parts")


def test_a_stage_mark_the_scan_did_not_show_is_flagged():
    # OCR of a 150-dpi scan: two cells kept their box glyph, one lost it (the
    # recognizer read the label only), one has the box only as a glyph it read
    t = table([
        [("制度保障", 1, 2), ("文件名称", 1, 2), ("具体措施", 1, 2), ("保障阶段", 3)],
        [None, None, None, "", "", ""],
        ["项目管理制度", "档案制度", "制度健全", "☑立项和计划阶段", "实施阶段", "口收尾和完成阶段"],
    ], method="ocr:rapidocr", confidence=0.98)
    rec = run([t])
    assert rec["safeguards"][0]["stages"] == {"planning": True, "implementation": False, "completion": False}
    assert entries(rec, "safeguards[0].stages.implementation", "low_confidence")  # no box seen at all
    assert entries(rec, "safeguards[0].stages.completion", "low_confidence")  # a glyph, not pixels
    assert rec["provenance"]["safeguards[0].stages.implementation"]["confidence"] <= 0.5
    # read from the text layer, a stage without a box is simply not ticked
    t = table([
        [("制度保障", 1, 2), ("文件名称", 1, 2), ("具体措施", 1, 2), ("保障阶段", 3)],
        [None, None, None, "", "", ""],
        ["项目管理制度", "档案制度", "制度健全", "☑立项和计划阶段", "实施阶段", "☐收尾和完成阶段"],
    ])
    assert not [e for e in run([t])["review"] if "stages" in (e["path"] or "")]


def test_what_a_scan_left_unsure_outside_the_fields_is_named():
    # OCR'd cells: an extra label with a weak value, an extra amount that is no number,
    # the budget table without its 金额合计 row, a value that is the tail of a wrapped label
    t = table([
        ["项目构成", ("的详细描述", 5)],
        ["项目名称", "项目内容", "项目明细", "明细金额", "单价", "依据"],
        ["绿化养护", "日常养护", "乔木", "1000", "10", "定额"],
    ], top=300, method="ocr:rapidocr", confidence=0.97)
    weak = table([["项目名称", "某项目"], ["自有资金", "1286.56.à)"], ["实施计划", "春季学期按在校学生"]], top=20,
                 method="ocr:rapidocr", confidence=0.6)
    rec = run([weak, t])
    assert entries(rec, "composition", "suspect_value")
    assert entries(rec, "budget_total", "not_found")
    assert entries(run([table([["项目构成", "某"]])]), "budget_total", "not_found")  # no table at all
    assert rec["extra"]["自有资金"] == "1286.56.à)" and entries(rec, "extra.自有资金", "not_normalized")
    assert entries(rec, "extra.实施计划", "low_confidence")


def test_a_range_that_does_not_read_names_both_ends():
    tpl = TPLS["ministry-county"]
    rec = run([table([["项目起止时间", "2024年1月1日至 ——"]], method="ocr:rapidocr", confidence=0.97)], tpl)
    assert rec["project"]["start_date"] is None and rec["project"]["end_date"] is None
    assert entries(rec, "project.start_date", "not_normalized")
    assert entries(rec, "project.end_date", "not_normalized")  # the end has no label of its own


def test_a_reading_with_a_character_no_form_prints_is_flagged():
    t = table([["项目名称", "河道整治•"], ["项目负责人", "张伟"]], method="ocr:rapidocr", confidence=0.97)
    rec = run([t])
    assert rec["project"]["name"] == "河道整治•"
    assert entries(rec, "project.name", "low_confidence")
    assert not entries(rec, "project.manager")  # ordinary print is not
    # the same in a text layer is what the PDF says: not a misread
    assert not entries(run([table([["项目名称", "河道整治•"]])]), "project.name")


def test_a_printed_table_whose_rows_were_all_lost_names_the_list():
    tpl = TPLS["ministry-county"]
    long_ = table([
        ["一级指标", "二级指标", "指标内容", "指标值", "备注"],
        ["产出指标", "数量指标", "培训人次", "600人次", ""],
    ], top=120)
    rec = run([line("长期绩效指标", 100), long_], tpl)  # the 年度 table of the form was not read
    assert [e["detail"] for e in entries(rec, "indicators", "not_found")] == [
        "no rows under the heading 年度绩效指标: that table was not read"]
    annual = table([["一级指标", "二级指标", "指标内容", "指标值", "备注"],
                    ["产出指标", "数量指标", "年度培训", "300人次", ""]], top=400)
    assert not entries(run([line("长期绩效指标", 100), long_, line("年度绩效指标", 380), annual], tpl),
                       "indicators", "not_found")


def test_rows_after_a_lost_table_are_named_as_shifted():
    """The 长期 table (printed first) was lost, its heading misread: the
    annual rows stand where the long-term ones belong, and each is named."""
    tpl = TPLS["ministry-county"]
    annual = table([["一级指标", "二级指标", "指标内容", "指标值", "备注"],
                    ["产出指标", "数量指标", "年度培训", "300人次", ""],
                    ["产出指标", "质量指标", "合格率", "≥90%", ""]], top=400)
    rec = run([line("长期续效指标", 100), line("年度绩效指标", 380), annual], tpl)
    assert [i["level3"] for i in rec["indicators"]] == ["年度培训", "合格率"]
    assert [e["detail"] for e in entries(rec, "indicators", "not_found")] == [
        "no rows under the heading 长期绩效指标: that table was not read"]
    shifted = [e["path"] for e in rec["review"] if "shifted" in (e["detail"] or "")]
    assert shifted == ["indicators[0]", "indicators[1]"]
    # the 年度 table lost instead (printed last): the rows read are in their place
    long_ = table([["一级指标", "二级指标", "指标内容", "指标值", "备注"],
                   ["产出指标", "数量指标", "培训人次", "600人次", ""]], top=120)
    rec = run([line("长期绩效指标", 100), long_], tpl)
    assert not [e for e in rec["review"] if "shifted" in (e["detail"] or "")]


def test_a_header_line_read_without_its_value_is_not_found():
    """填报单位（盖章）： read, the unit's name (under the seal) not."""
    tpl = TPLS["sh-district-2020"]
    t = table([["项目名称", "河道轮浚"], ["主管部门", "区水务局"]], top=120)
    scanned = TextLine(text="填报单位（盖章）：", bbox=(0, 100, 200, 110), page=1, method="ocr:rapidocr")
    rec = run([scanned, t], tpl)
    assert rec["form"]["filing_unit"] is None
    assert [e["detail"] for e in entries(rec, "form.filing_unit", "not_found")] == [
        "the filing_unit line was read, but no value on it"]
    # a text layer's empty line is an empty line: many forms leave the unit to the stamp
    rec = run([line("填报单位（盖章）：", 100), t], tpl)
    assert rec["form"]["filing_unit"] is None and not entries(rec, "form.filing_unit")
    rec = run([line("填报单位（盖章）：区水务局", 100), t], tpl)
    assert rec["form"]["filing_unit"] == "区水务局" and not entries(rec, "form.filing_unit")


def test_a_value_holding_a_neighbouring_cells_header_is_suspect():
    t = table([
        ["需要说明的其他问题", ("无√文件名称具体措施保障阶段", 5)],
        [("制度保障", 1, 2), ("文件名称", 1, 2), ("具体措施", 1, 2), ("保障阶段", 3)],
        [None, None, None, "立项和计划阶段", "实施阶段", "收尾和完成阶段"],
        ["项目管理制度", "档案制度", "考评结果与补贴挂钩立项和计划阶段√", "√", "", "√"],
    ], method="ocr:rapidocr", confidence=0.97)
    rec = run([t])
    assert entries(rec, "project.other_issues", "suspect_value")
    assert entries(rec, "safeguards[0].measures", "suspect_value")
    assert not entries(rec, "safeguards[0].documents", "suspect_value")


def test_the_filing_unit_printed_as_a_label_cell_is_the_header_item():
    t = table([["填报单位 （盖章）", "上海市黄浦区房屋管理局"], ["项目名称", ("某项目", 1)]])
    rec = run([t], TPLS["sh-district-2026"])
    assert rec["form"]["filing_unit"] == "上海市黄浦区房屋管理局"
    assert "填报单位" not in rec["extra"]


def test_a_scanned_stage_table_with_no_tick_at_all_is_flagged():
    rows = [[("制度保障", 1, 2), ("文件名称", 1, 2), ("具体措施", 1, 2), ("保障阶段", 3)],
            [None, None, None, "立项和计划阶段", "实施阶段", "收尾和完成阶段"],
            ["项目管理制度", "档案制度", "制度健全", "", "", ""],
            ["财务管理制度", "财务办法", "专款专用", "", "", ""]]
    rec = run([table(rows, method="ocr:rapidocr", confidence=0.98)])
    assert all(v is False for r in rec["safeguards"] for v in r["stages"].values())
    assert entries(rec, "safeguards[1].stages.completion", "low_confidence")
    # one tick read: the blanks are blanks
    rows[2][3] = "√"
    assert not [e for e in run([table(rows, method="ocr:rapidocr", confidence=0.98)])["review"]
                if "stages" in (e["path"] or "")]


def test_a_cell_holding_its_own_header_twice_is_suspect():
    t = table([
        ["一级目标", "二级目标", "三级目标", "目标值", "备注"],
        ["产出目标", "数量", "完成培训", "63人", "备注备注"],
    ], method="ocr:rapidocr", confidence=0.97)
    assert entries(run([t]), "indicators[0].note", "suspect_value")


def test_a_reread_that_fills_an_amount_read_as_nothing_is_flagged(monkeypatch):
    """A total that did not normalize (null) breaks its check; the second
    reading makes it pass: the record takes it, flagged as a disagreement
    that names 'no reading' (this crashed a batch with a TypeError when the
    kept value was formatted as a number)."""
    import extract.pipeline as pl
    from extract.review import Findings

    def checks(rec, _checks):
        ok = rec["funding"]["total"] == 5.0
        return [{"id": "sum", "passed": ok, "fields": ["funding.total"]}]

    monkeypatch.setattr(pl, "run_checks", checks)
    rec = {"funding": {"total": None}, "checks": checks({"funding": {"total": None}}, None)}
    f = Findings()

    class Tpl:
        checks = ()

    pl._reread(rec, {"funding.total": [(5.0, {"text": "5.00", "source": "second read", "confidence": 0.9})]},
               Tpl, f, {"funding.total": {"page": 1, "bbox": [1, 2, 3, 4]}})
    assert rec["funding"]["total"] == 5.0 and rec["checks"][0]["passed"]
    (e,) = [e for e in f.entries if e.path == "funding.total"]
    assert e.reason == "disagreement" and e.detail.startswith("no reading broke a check")


def test_a_failed_sum_over_a_list_names_the_list_so_missing_rows_are_flagged():
    """Items that do not add up to their total: a row may be missing (the
    1,000-page batch lost rows of degraded budget tables silently). The list
    itself is named, which covers the rows the record lacks — and only those."""
    from extract.pipeline import _check_paths
    from extract.review import covers

    rec = {"budget_items": [{"amount": 1.0}, {"amount": 2.0}], "budget_total": 9.0}
    paths = _check_paths(rec, ["budget_items[].amount", "budget_total"])
    assert paths == ["budget_items[0]", "budget_items[1]", "budget_items", "budget_total"]
    assert covers("budget_items", "check_failed", "budget_items[3].amount", missing_row=True)
    assert not covers("budget_items", "check_failed", "budget_items[1].amount", missing_row=False)
