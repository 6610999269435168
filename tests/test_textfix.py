"""Repairs of recognized punctuation (extract/ocr/textfix.py). Each case is a
confusion the recognizer made on the project's scans; the expected text is
what the form prints."""

import pytest

from extract.layout import Cell, PageLayout, Table, TextLine
from extract.ocr.textfix import repair, repair_page


@pytest.mark.parametrize("read, printed", [
    # a comma read as a full stop; digits keep their dots
    ("养护不到位．易出现病虫害", "养护不到位，易出现病虫害"),
    ("单价2.00元，1．项目", "单价2.00元，1．项目"),
    ("23条.约134万平方米", "23条，约134万平方米"),
    # a half-width comma beside Chinese text; thousands separators stay
    ("11万,老年人", "11万，老年人"),
    ("1,706,000.00", "1,706,000.00"),
    # 、 read as a middle dot; the dot of a unit (人·年) is printed
    ("美观·生长良好", "美观、生长良好"),
    ("办公厅·国务院", "办公厅、国务院"),
    ("人·年", "人·年"),
    ("5元/生·天", "5元/生·天"),
    # the 〔〕 of a document number
    ("国卫疾控发[2018]13号", "国卫疾控发〔2018〕13号"),
    ("杭财教（2013）1156号", "杭财教〔2013〕1156号"),
    ("第[2018]号文", "第[2018]号文"),
    ("川残联发2015 26号", "川残联发〔2015〕26号"),  # brackets lost, their gap left
    ("共2015 26人", "共2015 26人"),
    # an em dash between the parts of a range read as 一
    ("2024年9月一10月", "2024年9月—10月"),
    ("2022一2026年", "2022—2026年"),
    ("第一阶段", "第一阶段"),
    # 一 read as a hyphen where a word starts
    ("-级养护道路绿地养护", "一级养护道路绿地养护"),
    ("（-）财政拨款", "（一）财政拨款"),
    ("DG/TJ08-19-2011", "DG/TJ08-19-2011"),
    # half-width brackets in Chinese text; after a number they stay
    ("道路(沪闵路、莘庄立交周边)行道树", "道路（沪闵路、莘庄立交周边）行道树"),
    ("方案(2018-2020年)》", "方案（2018-2020年）》"),
    ("≥90.00(%)", "≥90.00(%)"),
    ("=12(处)", "=12(处)"),
    # 《》 read as （）: a mismatched pair is a title pair
    ("依据（中华人民共和国精神卫生法》", "依据《中华人民共和国精神卫生法》"),
    ("《上海市精神卫生条例）以及", "《上海市精神卫生条例》以及"),
    ("（国发〔2016〕37号）", "（国发〔2016〕37号）"),
    ("（关于加强经费保障的指导意见〉，为", "《关于加强经费保障的指导意见》，为"),
    ("", ""),
])
def test_repair(read, printed):
    assert repair(read) == printed


def test_repair_is_idempotent():
    for t in ["依据（中华人民共和国精神卫生法》", "2024年9月一10月", "美观·生长", "-级目标"]:
        assert repair(repair(t)) == repair(t)


def test_repair_page_touches_only_recognized_text():
    ocr = Cell(bbox=(0, 0, 10, 10), row=0, col=0, text="组织.建立", method="ocr:rapidocr")
    mixed = Cell(bbox=(10, 0, 20, 10), row=0, col=1, text="美观·生长", method="ocr:rapidocr+pixels")
    printed = Cell(bbox=(20, 0, 30, 10), row=0, col=2, text="组织.建立", method="text")
    page = PageLayout(number=1, kind="image", width=30, height=10)
    page.tables = [Table(page=1, bbox=(0, 0, 30, 10), cells=[ocr, mixed, printed], n_rows=1, n_cols=3)]
    page.lines = [TextLine(text="国发[2016]37号", bbox=(0, 20, 30, 30), page=1, method="ocr:rapidocr")]
    repair_page(page)
    assert [c.text for c in page.tables[0].cells] == ["组织，建立", "美观、生长", "组织.建立"]
    assert page.lines[0].text == "国发〔2016〕37号"


def test_thousands_commas_read_as_dots():
    from extract.normalize import parse_amount

    for got, want in (("15.000.00", "15,000.00"), ("1.650,000.00", "1,650,000.00"),
                      ("5,645.000.00", "5,645,000.00"), ("本级财政安排:720.000.00", "本级财政安排:720,000.00")):
        assert repair(got) == want
        assert parse_amount(repair(got).split(":")[-1], "元") == parse_amount(want.split(":")[-1], "元")
    for keep in ("1,650,000.00", "38.42", "2019.12", "1.5", "12.400"):
        assert repair(keep) == keep
