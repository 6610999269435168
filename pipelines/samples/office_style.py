"""Every choice of the office rendering route, drawn from a seed.

:class:`OfficeStyle` holds what a person making a declaration in Excel or
Word decides without thinking about it: the program, the font, sizes, column
widths, borders, whether level-1 cells are merged or repeated, how amounts
and dates are typed, the spelling of every label and column header, how a
ticked box looks.  :func:`style_from_seed` draws one deterministically; the
sample builder writes the style into plan.json so a set can be rebuilt.

Label spellings are a rendering choice and never change the record: a label
with a record key may be printed in any spelling below; a label whose value
goes to the record's ``extra`` keeps a spelling that normalizes to its key
(numbering, colons, brackets and spacing only).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field

from .office_model import FAMILIES

FORMATS = ("xlsx", "docx")
BORDERS = ("hair", "thin", "thin", "medium")
AMOUNT_FORMATS = ("thousands", "fixed2", "plain")
DATE_FORMATS = ("slash", "iso", "cn", "dot")
BASIS_LAYOUTS = ("subrows", "sublabels", "one_cell")

# (checked, unchecked, font of the glyphs or None): a Wingdings-style box keeps
# its code point in the text layer (þ / R), as a font without the symbol font prints it
BOXES = (("☑", "□", None), ("■", "□", None), ("√", "□", None), ("☑", "☐", None),
         ("þ", "¨", "Wingdings"), ("R", "£", "Wingdings 2"))
TICKS = (("√", None), ("√", None), ("☑", None), ("■", None), ("✓", None),
         ("þ", "Wingdings"), ("R", "Wingdings 2"))

# canonical label → printed spellings (the first is the canonical one).  Many
# of these are in no template of extract/templates/: the mapper must match
# them by what they mean.
SPELLINGS: dict[str, tuple[str, ...]] = {
    "目标值": ("目标值", "指标值", "年度指标值", "年度(/项目)指标值", "指标值(包含数字及文字描述)",
            "指标值及单位", "绩效目标值", "当年预期实现值", "绩效标准"),
    "三级指标": ("三级指标", "三级指标内容", "指标内容", "评价内容", "绩效内容"),
    "一级指标": ("一级指标", "一级目标"),
    "二级指标": ("二级指标", "二级目标"),
    "项目总目标": ("项目总目标", "项目总体目标", "总体目标", "项目绩效总目标"),
    "年度绩效目标": ("年度绩效目标", "年度总体目标", "年度目标", "当年绩效目标"),
    "起始日期": ("起始日期", "计划开始日期", "开始时间", "项目开始时间"),
    "结束日期": ("结束日期", "计划完成日期", "结束时间", "项目完成时间"),
    "项目名称": ("项目名称",),
    "联系电话": ("联系电话", "联系方式", "电话"),
    "项目负责人": ("项目负责人", "负责人"),
    "主管部门": ("主管部门", "主管单位", "主管部门名称"),
    "实施单位": ("实施单位", "项目实施单位", "项目执行单位"),
    "项目概况": ("项目概况", "项目基本情况", "项目简介"),
    "需要说明的其他问题": ("需要说明的其他问题", "其他需要说明的问题", "其他说明的问题"),
    "项目相关资源投入和制度建设情况": ("项目相关资源投入和制度建设情况", "项目资源投入和制度建设情况"),
    "项目立项情况": ("项目立项情况", "立项情况"),
    "依据": ("依据", "立项依据", "项目立项依据"),
    "必要性": ("必要性", "项目设立的必要性", "立项必要性"),
    "可行性": ("可行性", "项目实施的可行性"),
    "项目类别": ("项目类别", "项目类型"),
    "项目总预算": ("项目总预算", "项目预算总额", "项目总投入"),
    "当年预算": ("当年预算", "本年度预算", "年度预算"),
    "明细金额": ("明细金额", "金额"),
    "项目明细": ("项目明细", "明细内容"),
    "具体措施": ("具体措施", "主要措施"),
    "文件名称": ("文件名称", "制度文件名称"),
    "立项和计划阶段": ("立项和计划阶段", "立项阶段"),
    "收尾和完成阶段": ("收尾和完成阶段", "完成阶段"),
}
# labels a real form renames together (one draw per group)
GROUPS: tuple[tuple[str, ...], ...] = (
    ("一级指标", "二级指标"), ("三级指标",), ("目标值",), ("项目总目标",), ("年度绩效目标",),
    ("起始日期", "结束日期"), ("联系电话",), ("项目负责人",), ("主管部门",), ("实施单位",),
    ("项目概况",), ("需要说明的其他问题",), ("项目相关资源投入和制度建设情况",), ("项目立项情况",),
    ("依据", "必要性", "可行性"), ("项目类别",), ("项目总预算", "当年预算"), ("明细金额", "项目明细"),
    ("具体措施", "文件名称"), ("立项和计划阶段", "收尾和完成阶段"),
)


@dataclass
class OfficeStyle:
    """Every visual and typing choice of the office route (defaults: a plain Excel form)."""

    fmt: str = "xlsx"                      # xlsx (openpyxl) | docx (python-docx)
    font: str = "WenQuanYi Zen Hei"        # an office_model.FAMILIES name
    font_size: float = 10.5
    title_size: float = 16.0
    border: str = "thin"                   # hair | thin | medium
    margin_mm: float = 18.0
    min_row_height: float = 20.0           # pt (xlsx); the docx rows grow with their text
    row_pad: float = 5.0                   # pt added to a row's text height (xlsx)
    width_jitter: list[float] = field(default_factory=lambda: [1.0] * 12)  # per grid column
    labels: dict[str, str] = field(default_factory=dict)  # canonical label → printed spelling
    spaced_labels: bool = False            # 项 目 名 称 (short labels spaced out)
    label_breaks: bool = False             # long labels broken over lines inside their cell
    colon: str = ""                        # after key-value labels: "" | "：" | ":"
    half_brackets: bool = False            # (万元) instead of （万元）
    merge_levels: bool = True              # level-1/level-2 cells merged down (else repeated)
    repeat_header: bool = True             # table header rows repeated after a page break
    break_in_table: bool = False           # a manual page break inside the first indicator table
    side_label: bool = True                # a table's name in a merged cell at its left
    amount_format: str = "thousands"       # 元 amounts: thousands | fixed2 | plain
    zero_bare: bool = True                 # a zero amount printed as a bare 0
    wan_fixed4: bool = False               # 万元 amounts with 4 decimals (else as few as exact)
    date_format: str = "iso"               # slash 2026/1/1 | iso 2024-01-01 | cn 2026年1月1日 | dot 2023.7.1
    box: tuple[str, str, str | None] = ("☑", "□", None)  # checked, unchecked, glyph font
    box_after: bool = False                # 新增项目□ rather than □新增项目
    tick: tuple[str, str | None] = ("√", None)  # 保障阶段 mark, glyph font
    stage_columns: bool = False            # 保障阶段 as three mark columns under a two-row header
    basis_layout: str = "subrows"          # 立项情况: subrows (依据：… rows) | sublabels (依据 | …) | one_cell
    unit_label: str = "金额单位"           # 金额单位 | 单位
    unit_right: bool = True                # unit at the right of the 填报单位 line (else a line of its own)
    page_footer: bool = False              # a page number footer 第 N 页 (office boilerplate, in no record)
    landscape_targets: bool = False        # sh-district-2020 part (b) on landscape A4
    valign: str = "center"                 # value cells: center | top
    approval: bool = True                  # ministry-style forms: the empty 审核意见 row
    footer_line: bool = False              # 填表人 / 单位负责人 / 填报日期 as a free line under the grid

    def label(self, canonical: str) -> str:
        return self.labels.get(canonical, canonical)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "OfficeStyle":
        d = dict(d)
        for k in ("box", "tick"):
            if k in d and d[k] is not None:
                d[k] = tuple(d[k])
        return cls(**d)


def check_style(s: OfficeStyle) -> None:
    if s.fmt not in FORMATS:
        raise ValueError(f"fmt {s.fmt!r} not in {FORMATS}")
    if s.font not in FAMILIES:
        raise ValueError(f"font {s.font!r} not in {sorted(FAMILIES)}")
    if s.border not in ("hair", "thin", "medium"):
        raise ValueError(f"border {s.border!r}")
    if s.amount_format not in AMOUNT_FORMATS or s.date_format not in DATE_FORMATS:
        raise ValueError("amount_format / date_format")
    if s.basis_layout not in BASIS_LAYOUTS:
        raise ValueError(f"basis_layout {s.basis_layout!r}")
    unknown = [k for k in s.labels if k not in SPELLINGS]
    if unknown:
        raise ValueError(f"labels for unknown canonical names {unknown}")


def style_from_seed(seed: int, fmt: str | None = None) -> OfficeStyle:
    """A deterministic random office style (``fmt`` forces the program)."""
    rng = random.Random(int(seed) ^ 0x0FF1CE)

    def pick(seq):
        return seq[rng.randrange(len(seq))]

    fmt_ = pick(FORMATS)
    font = pick(("WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "AR PL UMing CN", "AR PL UKai CN",
                 "Droid Sans Fallback", "AR PL UMing CN", "WenQuanYi Zen Hei"))
    font_size = pick((9.0, 10.0, 10.5, 10.5, 11.0, 12.0))
    labels: dict[str, str] = {}
    for group in GROUPS:
        if rng.random() < 0.55:
            k = rng.randrange(1, max(len(SPELLINGS[g]) for g in group))
            for g in group:
                opts = SPELLINGS[g]
                labels[g] = opts[min(k, len(opts) - 1)]
    return OfficeStyle(
        fmt=fmt or fmt_,
        font=font,
        font_size=font_size,
        title_size=pick((14.0, 16.0, 16.0, 18.0, 20.0)),
        border=pick(BORDERS),
        margin_mm=pick((12.0, 15.0, 18.0, 19.1, 25.4)),
        min_row_height=round(rng.uniform(font_size * 1.6, font_size * 2.6), 1),
        row_pad=round(rng.uniform(3.0, 9.0), 1),
        width_jitter=[round(rng.uniform(0.8, 1.25), 2) for _ in range(12)],
        labels=labels,
        spaced_labels=rng.random() < 0.3,
        label_breaks=rng.random() < 0.3,
        colon=pick(("", "", "：", ":")),
        half_brackets=rng.random() < 0.4,
        merge_levels=rng.random() < 0.6,
        repeat_header=rng.random() < 0.5,
        break_in_table=rng.random() < 0.35,
        side_label=rng.random() < 0.5,
        amount_format=pick(AMOUNT_FORMATS),
        zero_bare=rng.random() < 0.6,
        wan_fixed4=rng.random() < 0.4,
        date_format=pick(DATE_FORMATS),
        box=pick(BOXES),
        box_after=rng.random() < 0.4,
        tick=pick(TICKS),
        stage_columns=rng.random() < 0.5,
        basis_layout=pick(BASIS_LAYOUTS),
        unit_label=pick(("金额单位", "单位")),
        unit_right=rng.random() < 0.6,
        page_footer=rng.random() < 0.4,
        landscape_targets=rng.random() < 0.25,
        valign=pick(("center", "center", "top")),
        approval=rng.random() < 0.6,
        footer_line=rng.random() < 0.5,
    )
