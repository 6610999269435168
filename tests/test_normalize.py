"""Unit tests for extract.normalize: printed values as the forms write them."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from extract.normalize import (
    checkbox_state,
    checked_option,
    clean_text,
    label_unit,
    normalize_label,
    parse_amount,
    parse_amount_unit,
    parse_date,
    parse_date_range,
    parse_number,
    parse_options,
    parse_phone,
    parse_year,
    snap,
    stage_ticked,
    strip_enumeration,
    strip_label,
    to_halfwidth_digits,
)

CATEGORIES = ["一次性项目", "经常性项目", "中期预算试点项目"]


# ---------------------------------------------------------------- amounts

@pytest.mark.parametrize("text,unit,expected", [
    ("384,200.00", "元", 384200.0),
    ("384200", "元", 384200.0),
    ("0", "元", 0.0),
    ("0.00", "万元", 0.0),
    ("384 200.00", "元", 384200.0),
    ("３８４，２００", "元", 384200.0),
    ("３８４２００．５０", "元", 384200.5),
    ("771,325,800.00", "元", 771325800.0),
    ("384200元", "元", 384200.0),
    ("384200 元", "万元", 384200.0),        # explicit 元 wins over the form unit
    ("38.42万元", "元", 384200.0),
    ("38.42万", "元", 384200.0),
    ("38.42 万元", "万元", 384200.0),       # 万 in the text wins, not applied twice
    ("250万", "元", 2500000.0),
    ("1.2亿元", "元", 120000000.0),
    ("38.42", "万元", 384200.0),            # bare number on a 万元 form
    ("38.4200", "万元", 384200.0),
    ("67.5600", "万元", 675600.0),
    ("67.56万元", "万元", 675600.0),
    ("0.0001", "万元", 1.0),
    ("1.23456", "万元", 12345.6),
    ("0.1234567", "元", 0.12),               # rounded to fen
    ("￥384,200.00", "元", 384200.0),
    ("¥1,000", "元", 1000.0),
    ("384200元整", "元", 384200.0),
    ("-1,000", "元", -1000.0),
    ("(1,000)", "元", -1000.0),
    ("（1,000）", "元", -1000.0),
    ("-1.5", "万元", -15000.0),
    ("叁拾捌万肆仟贰佰元整", "元", 384200.0),
    ("叁拾捌万肆仟贰佰元整", "万元", 384200.0),  # capitals always mean 元
    ("壹佰元伍角", "元", 100.5),
    ("壹佰元零伍分", "元", 100.05),
    ("伍角", "元", 0.5),
    ("零元", "元", 0.0),
    ("零元整", "元", 0.0),
    ("壹仟零伍元", "元", 1005.0),
    ("拾万元整", "元", 100000.0),
    ("壹亿伍仟万元", "元", 150000000.0),
    ("人民币叁佰元整", "元", 300.0),
    ("384200", None, 384200.0),
])
def test_parse_amount(text, unit, expected):
    assert parse_amount(text, unit) == expected


def test_parse_amount_default_unit_is_yuan():
    assert parse_amount("38.42") == 38.42


@pytest.mark.parametrize("text", [
    None, "", "  ", "--", "----", "—", "无", "/", "abc", "12a3", "1,2345", "3842 00",
    "100%", "总投入38.42万元", "元", "万元", "叁肆元", "壹佰元伍", "1.2.3", "38.42万万",
    "1e5", "12345678901234567890",
])
def test_parse_amount_not_an_amount(text):
    assert parse_amount(text, "元") is None


def test_parse_amount_no_float_noise():
    # 0.1 + 0.2 style noise must not leak: exact cents after conversion
    assert parse_amount("0.3", "万元") == 3000.0
    assert parse_amount("1.15", "万元") == 11500.0
    assert parse_amount("0.29", "元") == 0.29


@pytest.mark.parametrize("text,expected", [
    ("30.00", 30.0), ("1", 1.0), ("2,500", 2500.0), ("２，５００", 2500.0),
    (" 500.00 ", 500.0), ("-3", -3.0), ("0", 0.0),
])
def test_parse_number(text, expected):
    assert parse_number(text) == expected


@pytest.mark.parametrize("text", [None, "", "----", "人数", "30人", "1.0.0", "12a", "万"])
def test_parse_number_not_a_number(text):
    assert parse_number(text) is None


@pytest.mark.parametrize("text,expected", [
    ("金额单位：元", "元"), ("单位：万元", "万元"), ("(万元)", "万元"), ("（万元）", "万元"),
    ("金额单位:元", "元"), ("金额单位： 万元", "万元"), ("元", "元"), ("万元", "万元"),
    ("单位：万", "万元"), ("填报单位（盖章）", None), ("", None), (None, None),
])
def test_parse_amount_unit(text, expected):
    assert parse_amount_unit(text) == expected


@pytest.mark.parametrize("text,expected", [
    ("项目资金申请(万元)", "万元"), ("项目资金（元）", "元"), ("项目资金", None),
    ("填报单位（盖章）", None), ("项目实施单位", None),
])
def test_label_unit(text, expected):
    assert label_unit(text) == expected


# ------------------------------------------------------------------ dates

@pytest.mark.parametrize("text,role,expected", [
    ("2020-01-01", "start", "2020-01-01"),
    ("2020-12-31", "end", "2020-12-31"),
    ("2020年1月1日", "start", "2020-01-01"),
    ("2026年1月1日", "start", "2026-01-01"),
    ("2020.1.1", "start", "2020-01-01"),
    ("2026/1/1", "start", "2026-01-01"),
    ("2020-1-1", "start", "2020-01-01"),
    ("2020 年 12 月 31 日", "end", "2020-12-31"),
    ("20200101", "start", "2020-01-01"),
    ("2020年01月", "start", "2020-01"),
    ("2020.07", "end", "2020-07"),
    ("2020年度", "start", "2020-01-01"),
    ("2020年度", "end", "2020-12-31"),
    ("2021年", "start", "2021-01-01"),
    ("2021年", "end", "2021-12-31"),
    ("2021", "end", "2021-12-31"),
    ("44561", "start", "2021-12-31"),
    ("44,561", "end", "2021-12-31"),
    ("44561.0", "start", "2021-12-31"),
    ("２０２０－０１－０１", "start", "2020-01-01"),
    ("  2020-01-01  ", "start", "2020-01-01"),
    ("2024-01-01 00:00:00", "start", "2024-01-01"),
    ("2020-02-29", "start", "2020-02-29"),
    ("2023.07-2024.01", "start", "2023-07"),    # a range: the role picks the side
    ("2023.07-2024.01", "end", "2024-01"),
])
def test_parse_date(text, role, expected):
    assert parse_date(text, role) == expected


@pytest.mark.parametrize("text", [
    None, "", "--", "无", "2020-13-01", "2020-02-30", "2021-02-29", "2020年13月",
    "2020.1/1", "abc", "12345", "1234", "99999", "2020-01-01x",
])
def test_parse_date_invalid(text):
    assert parse_date(text) is None
    assert parse_date(text, "end") is None


def test_parse_date_bad_role():
    with pytest.raises(ValueError):
        parse_date("2020-01-01", "middle")


@pytest.mark.parametrize("text,expected", [
    ("2023.07-2024.01", ("2023-07", "2024-01")),
    ("2020年1月1日至2020年12月31日", ("2020-01-01", "2020-12-31")),
    ("2020-01-01～2020-12-31", ("2020-01-01", "2020-12-31")),
    ("2020-01-01 至 2020-12-31", ("2020-01-01", "2020-12-31")),
    ("2020/1/1-2020/12/31", ("2020-01-01", "2020-12-31")),
    ("2020-01-01—2020-12-31", ("2020-01-01", "2020-12-31")),
    ("2020年1月1日至12月31日", ("2020-01-01", "2020-12-31")),
    ("2024年-2026年", ("2024-01-01", "2026-12-31")),
    ("(2024 年-2026 年)", ("2024-01-01", "2026-12-31")),
    ("2021年度", ("2021-01-01", "2021-12-31")),
    ("2020-01-01", ("2020-01-01", None)),
    ("2020-13-01至2020-12-31", (None, None)),
    ("", (None, None)),
    (None, (None, None)),
])
def test_parse_date_range(text, expected):
    assert parse_date_range(text) == expected


@pytest.mark.parametrize("text,expected", [
    ("(2020年)", 2020), ("（2020年度）", 2020), ("2020年", 2020),
    ("财政项目支出绩效目标申报表（2026年度）", 2026), ("（２０２０年）", 2020),
    ("项目总体目标 (2024 年-2026 年)", 2024), ("3000年", None), ("无", None), (None, None),
    ("第12345号", None),
])
def test_parse_year(text, expected):
    assert parse_year(text) == expected


# -------------------------------------------------------------- checkboxes

@pytest.mark.parametrize("glyph,expected", [
    ("☑", True), ("☒", True), ("■", True), ("✓", True), ("✔", True), ("√", True),
    ("[x]", True), ("[X]", True), ("[√]", True), ("(√)", True), ("（√）", True),
    (" ☑ ", True), ('<input checked="" type="checkbox"/>', True),
    ("□", False), ("☐", False), ("[ ]", False), ("()", False), ("[]", False),
    ('<input type="checkbox"/>', False),
    ("x", None), ("", None), (None, None), ("是", None), ("☑☐", None),
])
def test_checkbox_state(glyph, expected):
    assert checkbox_state(glyph) is expected


@pytest.mark.parametrize("text,expected", [
    ("□一次性项目 ☑经常性项目 □中期预算试点项目", [False, True, False]),
    ("☐ 一次性项目 ☑ 经常性项目 ☐ 中期预算试点项目", [False, True, False]),
    ("一次性项目□ 经常性项目☑ 中期预算试点项目□", [False, True, False]),
    ("一次性项目□经常性项目☑中期预算试点项目□", [False, True, False]),
    ("[ ] 一次性项目 [x] 经常性项目 [ ] 中期预算试点项目", [False, True, False]),
    ("√一次性项目", [True, None, None]),
    ("一次性项目 经常性项目√ 中期预算试点项目", [False, True, False]),
    ("一次性项目 经常性项目 中期预算试点项目√", [False, False, True]),
    ("一次性项目 经常性项目 中期预算试点项目", [False, False, False]),
    ("☑一次性项目 ☑经常性项目", [True, True, None]),
    ("□一次姓项目 ☑经常性顶目 □中期预算试点项目", [False, True, False]),  # OCR noise
    ("□一次性 项目 ☑经常 性项目", [False, True, None]),                      # broken names
    ("项目类别 □一次性项目 ☑经常性项目 □中期预算试点项目", [False, True, False]),
    ('<input type="checkbox"/> 一次性项目 <input checked="" type="checkbox"/> 经常性项目 '
     '<input type="checkbox"/> 中期预算试点项目', [False, True, False]),   # the seed's text
    ("", [None, None, None]),
    ("无", [None, None, None]),
])
def test_parse_options_categories(text, expected):
    assert parse_options(text, CATEGORIES) == dict(zip(CATEGORIES, expected))


def test_parse_options_marks_after_with_tick():
    opts = ["新增项目", "延续项目"]
    assert parse_options("新增项目□ 延续项目√", opts) == {"新增项目": False, "延续项目": True}
    assert parse_options("新增项目√ 延续项目□", opts) == {"新增项目": True, "延续项目": False}


def test_parse_options_similar_names_do_not_steal():
    opts = ["市委市政府已确定的新增项目", "结转项目", "其他一次性项目", "经常性专项业务费", "其他经常性项目"]
    text = "市委市政府已确定的新增项目□ 结转项目□ 其他一次性项目□ 经常性专项业务费□ 其他经常性项目√"
    assert parse_options(text, opts) == {
        "市委市政府已确定的新增项目": False, "结转项目": False, "其他一次性项目": False,
        "经常性专项业务费": False, "其他经常性项目": True}
    # 其他一次性项目 is missing: 其他经常性项目 (71 % alike) must not be taken for it
    assert parse_options("其他经常性项目√", opts)["其他一次性项目"] is None
    assert parse_options("其他经常性项目√", opts)["其他经常性项目"] is True


def test_parse_options_substring_option():
    opts = ["一次性项目", "其他一次性项目"]
    assert parse_options("□其他一次性项目 ☑一次性项目", opts) == {
        "一次性项目": True, "其他一次性项目": False}


@pytest.mark.parametrize("text,expected", [
    ("□一次性项目 ☑经常性项目 □中期预算试点项目", "经常性项目"),
    ("一次性项目□ 经常性项目☑", "经常性项目"),
    ("√一次性项目", "一次性项目"),
    ("☑一次性项目 ☑经常性项目", None),
    ("□一次性项目 □经常性项目", None),
    ("", None),
])
def test_checked_option(text, expected):
    assert checked_option(text, CATEGORIES) == expected


@pytest.mark.parametrize("text,expected", [
    ("立项和计划阶段 √", True), ("实施阶段√", True), ("☑收尾和完成阶段", True),
    ("√", True), ("实施阶段 [x]", True), ("□实施阶段", False), ("实施阶段", False),
    ("实施阶段 ☐", False), ("", None), ("  ", None), (None, None),
])
def test_stage_ticked(text, expected):
    assert stage_ticked(text) is expected


# ------------------------------------------------------------------- text

@pytest.mark.parametrize("text,expected", [
    ("根据市总工会\n对职工服务", "根据市总工会对职工服务"),
    ("项目 为经常性 项目 ， 每年", "项目为经常性项目，每年"),
    ("安排落实 2017 年的工作", "安排落实2017年的工作"),
    ("“冬送温暖、 夏送清凉” 的原则", "“冬送温暖、夏送清凉”的原则"),
    ("ISO   9001 认证", "ISO 9001认证"),
    ("Hello\nworld", "Hello world"),
    ("  前后空白  ", "前后空白"),
    ("全角（括号）不变，错别字慰慰问也不变", "全角（括号）不变，错别字慰慰问也不变"),
    ("a\u3000b", "a b"),
    ("", ""),
    (None, ""),
])
def test_clean_text(text, expected):
    assert clean_text(text) == expected


def test_clean_text_keep_newlines():
    text = "完成环卫一线 高温\n慰问\r\n\n  完成区属劳模的慰问  \nISO 9001\n"
    assert clean_text(text, keep_newlines=True) == "完成环卫一线高温\n慰问\n完成区属劳模的慰问\nISO 9001"


@pytest.mark.parametrize("text,expected", [
    ("依据：《关于加强经费保障》，为工会", "《关于加强经费保障》，为工会"),
    ("依据:《关于》", "《关于》"),
    ("依据 ：《关于》", "《关于》"),
    ("依 据：《关于》", "《关于》"),
    ("1、依据：《关于》", "《关于》"),
    ("（一）依据：《关于》", "《关于》"),
    ("(一)依据：《关于》", "《关于》"),
    ("  依据：《关于》", "《关于》"),
    ("《关于》，依据：如下", "《关于》，依据：如下"),
    ("依据国家规定执行", "依据国家规定执行"),
    ("", ""),
])
def test_strip_label(text, expected):
    assert strip_label(text, ["依据"]) == expected


def test_strip_label_several_labels():
    labels = ["依据", "必要性", "可行性", "立项依据"]
    assert strip_label("必要性：职工权益保障", labels) == "职工权益保障"
    assert strip_label("可行性：项目为经常性项目", labels) == "项目为经常性项目"
    assert strip_label("立项依据：文件", labels) == "文件"
    assert strip_label("其他文字", labels) == "其他文字"


@pytest.mark.parametrize("text,expected", [
    ("一、项目总预算", "项目总预算"), ("(一) 财政拨款", "财政拨款"), ("（二）其他资金", "其他资金"),
    ("1.上级财政拨款", "上级财政拨款"), ("1. 上级财政拨款", "上级财政拨款"),
    ("1、依据", "依据"), ("2．本级财政安排", "本级财政安排"), ("①数量指标", "数量指标"),
    ("其中：财政资金", "财政资金"), ("其中:1. 上级", "上级"), ("(3)质量", "质量"),
    ("1.5万元", "1.5万元"), ("一次性项目", "一次性项目"), ("2020.07", "2020.07"),
    ("项目名称", "项目名称"), ("", ""),
])
def test_strip_enumeration(text, expected):
    assert strip_enumeration(text) == expected


@pytest.mark.parametrize("text,expected", [
    ("(一) 财政拨款：", "财政拨款"), ("填报单位（盖章）", "填报单位"),
    ("项目资金申请(万元)", "项目资金申请"), ("项目负责人:", "项目负责人"),
    ("服务对象\n满意度指\n标", "服务对象满意度指标"), ("①数量指标", "数量指标"),
    ("其中：上年结转资金", "上年结转资金"), ("（工会）维护职工权益", "(工会)维护职工权益"),
    ("起始日期：", "起始日期"),
])
def test_normalize_label(text, expected):
    assert normalize_label(text) == expected


def test_snap():
    levels = ["产出指标", "效益指标", "满意度指标", "成本指标"]
    assert snap("产出指标", levels) == ("产出指标", 1.0)
    value, conf = snap("产 出指 标", levels)
    assert (value, conf) == ("产出指标", 1.0)
    value, conf = snap("满意度指忭", levels)
    assert value == "满意度指标" and 0.7 <= conf < 1.0
    value, conf = snap("完全无关的文字", levels)
    assert value is None and 0.0 <= conf < 0.7
    assert snap("", levels) == (None, 0.0)
    assert snap("产出指标", []) == (None, 0.0)


@pytest.mark.parametrize("text,expected", [
    ("54145530", "54145530"), ("021-54145530", "021-54145530"), ("5414 5530", "54145530"),
    ("５４１４５５３０", "54145530"), ("(021)54145530", "021-54145530"),
    ("54145530/13800138000", "54145530/13800138000"), ("54145530转123", "54145530-123"),
    ("无", None), ("--", None), ("", None), (None, None),
])
def test_parse_phone(text, expected):
    assert parse_phone(text) == expected


def test_to_halfwidth_digits():
    assert to_halfwidth_digits("２０２０年（１）") == "2020年（1）"
    assert to_halfwidth_digits(None) == ""


# --------------------------------------------------------------- the seed form

def test_seed_values():
    assert parse_year("(2020年)") == 2020
    assert parse_amount_unit("金额单位：元") == "元"
    assert parse_amount("384200", "元") == 384200
    assert parse_amount("384200.00", "元") == 384200.0
    assert parse_number("30.00") == 30
    assert parse_date("2020-01-01") == "2020-01-01"
    assert parse_date("2020-12-31", "end") == "2020-12-31"
    assert parse_phone("54145530") == "54145530"
    assert strip_label("必要性：职工权益保障工作会议", ["必要性"]) == "职工权益保障工作会议"


# --------------------------------------------------------- never raise on junk

_JUNK = st.text(alphabet=st.one_of(
    st.characters(),
    st.sampled_from(list("0123456789,.-()（）万元亿角分整零壹贰叁拾佰仟年月日至~～/"
                         "☑☐□√■[]x 　\n一次性项目经常性依据：:①其中")),
), max_size=60)


@settings(max_examples=300, deadline=None)
@given(_JUNK, st.sampled_from(["元", "万元", None, "junk"]))
def test_never_raises_amount_number(text, unit):
    value = parse_amount(text, unit)
    assert value is None or isinstance(value, float)
    value = parse_number(text)
    assert value is None or isinstance(value, float)


@settings(max_examples=300, deadline=None)
@given(_JUNK)
def test_never_raises_dates(text):
    for role in ("start", "end"):
        value = parse_date(text, role)
        assert value is None or len(value) in (7, 10)
    start, end = parse_date_range(text)
    assert start is None or len(start) in (7, 10)
    assert end is None or len(end) in (7, 10)
    year = parse_year(text)
    assert year is None or 1990 <= year <= 2100


@settings(max_examples=300, deadline=None)
@given(_JUNK, st.lists(_JUNK, max_size=5))
def test_never_raises_options(text, options):
    states = parse_options(text, options)
    assert set(states) == set(options)
    assert all(v in (True, False, None) for v in states.values())
    assert checked_option(text, options) in [None, *options]
    assert stage_ticked(text) in (True, False, None)
    assert checkbox_state(text) in (True, False, None)


@settings(max_examples=300, deadline=None)
@given(_JUNK, st.lists(_JUNK, max_size=4))
def test_never_raises_text(text, labels):
    cleaned = clean_text(text)
    assert cleaned == cleaned.strip()
    # only whitespace is touched: the other characters stay, in order
    assert "".join(cleaned.split()) == "".join(text.split())
    assert "".join(clean_text(text, keep_newlines=True).split()) == "".join(text.split())
    assert isinstance(strip_label(text, labels), str)
    assert text.endswith(strip_label(text, labels))
    assert isinstance(strip_enumeration(text), str)
    assert isinstance(normalize_label(text), str)
    snap(text, labels)
    parse_phone(text)
    label_unit(text)
    parse_amount_unit(text)
