"""The flat tables `shenbao export` writes: their columns, types, Chinese headers
and descriptions, as data. Every format is written from these definitions
(pipelines/export_write.py), and docs/export.md is generated from them
(pipelines/docgen.py), so the three never disagree.

A column that holds a record field names it (`field`): its description is that
field's description in extract/schema.json (the DuckDB column comment). Other
columns carry their own (`doc`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from extract.record import FUNDING_KEYS, PROJECT_KEYS, SCHEMA_PATH, STAGE_KEYS

# column type → how each format stores it
TYPES = ("text", "code", "int", "float", "amount", "date", "bool")
DUCKDB = {"text": "VARCHAR", "code": "VARCHAR", "int": "BIGINT", "float": "DOUBLE",
          "amount": "DECIMAL(18,2)", "date": "DATE", "bool": "BOOLEAN"}
FRICTIONLESS = {"text": "string", "code": "string", "int": "integer", "float": "number",
                "amount": "number", "date": "date", "bool": "boolean"}
AMOUNT_FORMAT = "#,##0.00"   # the workbook's number format for amounts
AMOUNT_MAX = 10 ** 16        # DECIMAL(18,2) holds |x| < 10^16


@dataclass(frozen=True)
class Col:
    name: str
    head: str                      # Chinese header (the workbook)
    type: str = "text"
    field: str | None = None       # the record field it holds (schema path, [] for list items)
    doc: str = ""                  # description when it is not a record field
    labels: dict[str, str] | None = None  # code → Chinese, shown in the workbook
    long: bool = False             # long text: wrapped in the workbook

    def __post_init__(self):
        assert self.type in TYPES, self.type
        assert self.field or self.doc, self.name

    @property
    def description(self) -> str:
        if self.field:
            return describe(self.field) + (f" {self.doc}" if self.doc else "")
        return self.doc


@dataclass(frozen=True)
class Table:
    name: str
    sheet: str                     # the workbook's sheet name
    doc: str
    cols: tuple[Col, ...]
    key: tuple[str, ...]           # primary key
    child: bool = True             # record_id refers to declarations

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.cols]

    def col(self, name: str) -> Col:
        return next(c for c in self.cols if c.name == name)


@lru_cache(maxsize=1)
def _schema() -> dict:
    return json.loads(Path(SCHEMA_PATH).read_text(encoding="utf-8"))


def describe(path: str) -> str:
    """The schema description of a record field: `funding.total_budget`,
    `indicators[].target`, `source.page_sizes[].dpi`, `review[].reason`."""
    schema = _schema()
    node = schema
    for part in path.replace("[]", ".[]").split("."):
        if part == "[]":
            node = node["items"]
        elif part in node.get("properties", {}):
            node = node["properties"][part]
        else:  # a map such as provenance: {path: {page, …}}
            node = node["additionalProperties"]["properties"][part]
        if "$ref" in node:
            node = {**schema["$defs"][node["$ref"].removeprefix("#/$defs/")], **node}
    return node["description"]


# ------------------------------------------------------------------ labels (workbook)

REVIEW_STATUS = {"unreviewed": "未复核", "in_review": "复核中", "verified": "已核实"}
ENTRY_STATUS = {"open": "待复核", "accepted": "已确认", "corrected": "已更正", "postponed": "暂缓"}
REASONS = {"not_found": "未找到", "low_confidence": "置信度低", "disagreement": "两次识读不一致",
           "check_failed": "校验未通过", "not_normalized": "无法规范化", "suspect_value": "可疑值",
           "unread_text": "未归入字段的文字", "template_mismatch": "表样不匹配"}
PRECISION = {"day": "日", "month": "月"}
PAGE_KINDS = {"text": "文字层", "image": "图像（OCR）", "garbled": "乱码文字层（OCR）", "error": "无法读取"}

PROJECT_HEADS = {"name": "项目名称", "category": "项目类别", "nature": "项目性质", "department": "主管部门",
                 "implementer": "实施单位", "manager": "项目负责人", "contact": "联系人", "phone": "联系电话",
                 "start_date": "起始日期", "end_date": "结束日期", "overview": "项目概况",
                 "basis": "立项依据", "necessity": "立项必要性", "feasibility": "项目实施可行性",
                 "resources": "项目相关资源投入和制度建设情况", "overall_goal": "项目总目标",
                 "annual_goals": "年度绩效目标", "other_issues": "需要说明的其他问题"}
FUNDING_HEADS = {"total_budget": "项目总预算（元）", "current_year_budget": "当年预算（元）",
                 "fiscal_appropriation": "财政拨款（元）", "superior_appropriation": "上级财政拨款（元）",
                 "own_level_appropriation": "本级财政安排（元）", "subordinate_matching": "下级财政配套（元）",
                 "other_funds": "其他资金（元）", "project_fiscal_funds": "项目资金总额中财政资金（元）",
                 "carryover": "上年结转资金（元）", "project_other_funds": "项目资金总额中其他资金（元）"}
assert list(PROJECT_HEADS) == PROJECT_KEYS and list(FUNDING_HEADS) == FUNDING_KEYS
DATE_KEYS = ("start_date", "end_date")
LONG_TEXT = ("overview", "basis", "necessity", "feasibility", "resources", "overall_goal",
             "annual_goals", "other_issues")
STAGE_HEADS = {"planning": "立项和计划阶段", "implementation": "实施阶段", "completion": "收尾和完成阶段"}
assert list(STAGE_HEADS) == STAGE_KEYS

RECORD_ID = Col("record_id", "记录编号", doc=(
    "The declaration's stable key: lower-case hex SHA-256 of the UTF-8 text "
    "'<source.sha256>:<source.declaration>' (the input file's SHA-256, a colon, the "
    "declaration's number in the file). The same input gives the same id in every run, "
    "whatever the file is called or where it lies."))
ROW = Col("row", "行号", "int", doc="Printed order in the record's list, from 1.")
BBOX = (Col("bbox_x0", "左", "float", doc="Left edge of the box, PDF points from the page's left."),
        Col("bbox_top", "上", "float", doc="Top edge, PDF points from the page's top."),
        Col("bbox_x1", "右", "float", doc="Right edge, PDF points."),
        Col("bbox_bottom", "下", "float", doc="Bottom edge, PDF points from the page's top."))
TABLE_NAME = Col("table_name", "所在表", doc=(
    "The list the path points into (indicators, budget_items, safeguards), null for a "
    "field outside the lists: with table_row, it joins this row to that table's row."))
TABLE_ROW = Col("table_row", "所在行", "int", doc=(
    "The row of that table (its `row`, from 1: the path's index plus one), null outside the lists."))


def _declaration_cols() -> tuple[Col, ...]:
    cols = [
        RECORD_ID,
        Col("document", "文件", field="source.file"),
        Col("declaration", "申报表序号", "int", field="source.declaration"),
        Col("declarations_in_file", "文件中申报表数", "int", field="source.declarations_in_file"),
        Col("record_file", "记录文件", doc="The record's file name in OUTDIR."),
        Col("sha256", "SHA-256", field="source.sha256"),
        Col("review_status", "复核状态", "code", labels=REVIEW_STATUS, doc=(
            "unreviewed (no reviewed record in OUTDIR/reviewed/), in_review or verified "
            "(verification.status of the reviewed record, whose values this row holds).")),
        Col("reviewer", "复核人", field="verification.reviewer"),
        Col("reviewed_at", "复核时间", field="verification.updated"),
        Col("year", "年度", "int", field="form.year"),
        Col("variant", "表样", field="form.variant"),
        Col("form_title", "表名", field="form.title"),
        Col("form_amount_unit", "金额单位", field="form.amount_unit"),
        Col("form_filing_unit", "填报单位", field="form.filing_unit"),
    ]
    for k, head in PROJECT_HEADS.items():
        if k in DATE_KEYS:
            cols.append(Col(f"project_{k}", head, "date", field=f"project.{k}",
                            doc="A month-only date is the month's first day; see the precision column."))
            cols.append(Col(f"project_{k}_precision", f"{head}精度", "code", labels=PRECISION, doc=(
                f"day, or month when project.{k} gives only the month (YYYY-MM); null with the date.")))
        else:
            cols.append(Col(f"project_{k}", head, field=f"project.{k}", long=k in LONG_TEXT))
    cols += [Col(f"funding_{k}", head, "amount", field=f"funding.{k}") for k, head in FUNDING_HEADS.items()]
    cols += [
        Col("budget_total", "金额合计（元）", "amount", field="budget_total"),
        Col("composition", "项目构成", field="composition", long=True),
        Col("page_count", "文件页数", "int", field="source.page_count"),
        Col("ocr_engine", "OCR 引擎", field="source.ocr_engine"),
        Col("tool", "生成程序", field="source.tool"),
        Col("warning_count", "警告数", "int", doc="Number of warnings (the warnings table lists them)."),
        Col("review_count", "待复核条目数", "int", doc="Number of review entries (the review table lists them)."),
        Col("review_open", "未处理条目数", "int", doc=(
            "Review entries not yet accepted or corrected (open or postponed; every entry of an "
            "unreviewed record).")),
        Col("checks_failed", "未通过校验数", "int", doc="Number of failed consistency checks."),
    ]
    return tuple(cols)


TABLES: dict[str, Table] = {t.name: t for t in [
    Table("declarations", "申报表", "One row per declaration (record): form, project, funding, "
          "where it comes from and its review state.", _declaration_cols(), ("record_id",), child=False),
    Table("indicators", "绩效指标", "One row per 绩效目标 row (indicators[] of the record).", (
        RECORD_ID, ROW,
        Col("level1", "一级目标", field="indicators[].level1"),
        Col("level2", "二级目标", field="indicators[].level2"),
        Col("level3", "三级目标", field="indicators[].level3"),
        Col("target", "目标值", field="indicators[].target"),
        Col("note", "备注", field="indicators[].note"),
        Col("indicator_table", "指标表", field="indicators[].table"),
    ), ("record_id", "row")),
    Table("budget_items", "项目构成分解", "One row per 项目构成分解 row (budget_items[]).", (
        RECORD_ID, ROW,
        Col("project", "项目名称", field="budget_items[].project"),
        Col("content", "项目内容", field="budget_items[].content"),
        Col("detail", "项目明细", field="budget_items[].detail", long=True),
        Col("amount", "明细金额（元）", "amount", field="budget_items[].amount"),
        Col("unit_price", "单价（元）", "amount", field="budget_items[].unit_price"),
        Col("price_basis", "单价依据", field="budget_items[].price_basis"),
        Col("quantity", "数量", "float", field="budget_items[].quantity"),
        Col("quantity_basis", "数量依据", field="budget_items[].quantity_basis"),
        Col("note", "备注", field="budget_items[].note"),
    ), ("record_id", "row")),
    Table("safeguards", "制度保障", "One row per 制度保障 row (safeguards[]), the stages as booleans.", (
        RECORD_ID, ROW,
        Col("category", "类别", field="safeguards[].category"),
        Col("documents", "文件名称", field="safeguards[].documents", long=True),
        Col("measures", "具体措施", field="safeguards[].measures", long=True),
        *(Col(k, head, "bool", field=f"safeguards[].stages.{k}") for k, head in STAGE_HEADS.items()),
    ), ("record_id", "row")),
    Table("checks", "校验结果", "One row per consistency check run (checks[]).", (
        RECORD_ID, ROW,
        Col("check_id", "校验编号", field="checks[].id"),
        Col("name", "校验项", doc="The check's name in Chinese, from the record's template (`checks` in extract/templates/)."),
        Col("passed", "是否通过", "bool", field="checks[].passed"),
        Col("fields", "涉及字段", field="checks[].fields", doc="Here joined with ', '."),
        Col("detail", "说明", field="checks[].detail", long=True),
    ), ("record_id", "row")),
    Table("review", "待复核", "One row per review entry (review[]): what a person must look at, "
          "where, why, and what was done about it.", (
        RECORD_ID, ROW,
        Col("path", "字段路径", field="review[].path"),
        TABLE_NAME, TABLE_ROW,
        Col("reason", "原因", "code", field="review[].reason", labels=REASONS),
        Col("page", "页码", "int", field="review[].page"),
        *BBOX,
        Col("detail", "说明", field="review[].detail", long=True),
        Col("check_id", "校验编号", field="review[].check"),
        Col("reads", "识读结果（JSON）", field="review[].reads", doc="Here as JSON text."),
        Col("status", "处理状态", "code", field="review[].status", labels=ENTRY_STATUS,
            doc="open for every entry of an unreviewed record."),
    ), ("record_id", "row")),
    Table("fields", "字段来源", "One row per value with provenance: where on which page it was read, "
          "how, and how surely.", (
        RECORD_ID,
        Col("path", "字段路径", doc="The field's path in the record (indicators[0].target: indices from 0)."),
        TABLE_NAME, TABLE_ROW,
        Col("value", "值", doc="The field's value in the exported record, as text (numbers and booleans "
                                "as JSON: 384200.0, true); null when the field is empty."),
        Col("page", "页码", "int", field="provenance.page"),
        *BBOX,
        Col("method", "识读方式", field="provenance.method"),
        Col("confidence", "置信度", "float", field="provenance.confidence"),
        Col("label", "所在栏目", field="provenance.label"),
    ), ("record_id", "path")),
    Table("extra", "其他栏目", "One row per value under a printed label no template field takes (extra).", (
        RECORD_ID,
        Col("row", "行号", "int", doc="Order in the record's extra, from 1 (each list element its own row)."),
        Col("label", "栏目", doc="The label as printed."),
        Col("element", "序号", "int", doc="For a value that is a list: the element's position, from 1 "
                                         "(one row per element); null for a single value."),
        Col("value", "值", doc="The value as text (a number as written in JSON).", long=True),
        Col("amount", "金额（元）", "amount", doc="The value when it is a number: an amount in 元 "
                                              "(values under money labels are read as amounts)."),
    ), ("record_id", "row")),
    Table("warnings", "警告", "One row per warning sentence (warnings[]).", (
        RECORD_ID, ROW,
        Col("warning", "警告", doc="The sentence, as in the record's warnings.", long=True),
    ), ("record_id", "row")),
    Table("pages", "页面", "One row per page the declaration was read from (source.page_sizes): "
          "what bbox values are measured on.", (
        RECORD_ID,
        Col("page", "页码", "int", field="source.page_sizes[].page"),
        Col("kind", "读取方式", "code", field="source.page_sizes[].kind", labels=PAGE_KINDS),
        Col("width", "宽（点）", "float", field="source.page_sizes[].width"),
        Col("height", "高（点）", "float", field="source.page_sizes[].height"),
        Col("dpi", "分辨率（dpi）", "float", field="source.page_sizes[].dpi"),
        Col("rotation", "旋转（度）", "int", field="source.page_sizes[].rotation"),
    ), ("record_id", "page")),
]}
TABLE_NAMES = list(TABLES)
SHEETS = {t.name: t.sheet for t in TABLES.values()}
