"""The data the mapping passes hand on: raw values with where they came from,
and the raw fields of one declaration."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..layout import Cell, TextLine
from ..review import Findings, Flag
from ..template import FieldSpec, Template

BBox = tuple[float, float, float, float]


@dataclass
class Raw:
    """A printed value and where it was found: its text as printed, page and box,
    how sure the reading is, the label it was found under and the rule that
    paired them (what `shenbao explain` prints)."""

    text: str
    page: int
    bbox: BBox | None
    confidence: float = 1.0
    method: str = "text"
    label_score: float = 1.0  # how surely the printed label names the field (1.0: exactly)
    unit: str | None = None  # amount unit printed in the value's label: 项目资金申请（万元）
    flags: list[Flag] = field(default_factory=list)  # doubts raised where it was read
    label: str | None = None  # the printed label it was found under
    rule: str = ""  # how it was found: kv, inline, group, header-line, table, total, …
    sources: list = field(default_factory=list)  # the cells or lines it was read from
    amount: bool = False  # (extra) money: recorded as a number in 元
    options: list[str] = field(default_factory=list)  # (extra) a printed option list: the ticked option

    @classmethod
    def of(cls, cells: list[Cell], text: str | None = None, label_score: float = 1.0,
           label: str | None = None, rule: str = "") -> "Raw":
        if not cells:
            return cls(text or "", 0, None, label_score=label_score, label=label, rule=rule)
        bbox = (min(c.bbox[0] for c in cells), min(c.bbox[1] for c in cells),
                max(c.bbox[2] for c in cells), max(c.bbox[3] for c in cells))
        methods = sorted({c.method for c in cells})
        return cls(
            text=text if text is not None else "\n".join(c.text for c in cells if c.text),
            page=cells[0].page, bbox=bbox,
            confidence=min(c.confidence for c in cells),
            method="+".join(methods), label_score=label_score,
            flags=[f for c in cells for f in c.flags], label=label, rule=rule, sources=list(cells),
        )

    @classmethod
    def of_line(cls, line: TextLine, text: str, label: str | None = None, rule: str = "line") -> "Raw":
        return cls(text, line.page, line.bbox, line.confidence, line.method, flags=list(line.flags),
                   label=label, rule=rule, sources=[line])

    @property
    def certainty(self) -> float:
        """How sure the value is: the reading's confidence times how well its
        label matched (what provenance records as confidence)."""
        return self.confidence * self.label_score

    @property
    def reads(self) -> list[dict]:
        """Every reading of a value read from one cell more than once (a number:
        the kept reading first, then second reads and runner-ups)."""
        return list(getattr(self.sources[0], "reads", []) or []) if len(self.sources) == 1 else []

    def extend(self, other: "Raw") -> None:
        """The rest of this value, printed further on (after a page break)."""
        if other.text.strip():
            self.text = f"{self.text}\n{other.text}" if self.text.strip() else other.text
        self.confidence = min(self.confidence, other.confidence)
        self.flags = self.flags + other.flags
        self.sources = self.sources + other.sources


@dataclass
class Mapped:
    """Raw fields of one declaration, before normalization."""

    template: Template
    fields: dict[str, Raw] = field(default_factory=dict)
    rows: dict[str, list[dict[str, Raw]]] = field(default_factory=dict)
    totals: dict[str, Raw] = field(default_factory=dict)
    header: dict[str, Raw] = field(default_factory=dict)
    extra: dict[str, Raw] = field(default_factory=dict)
    extra_columns: dict[str, list[Raw | None]] = field(default_factory=dict)  # table columns no key has
    findings: Findings = field(default_factory=Findings)
    specs: dict[str, FieldSpec] = field(default_factory=dict)  # field key → the spec that set it
    label_unit: str | None = None  # the first amount unit printed in a label
    pages: list[int] = field(default_factory=list)
    coverage: float = 1.0  # share of printed characters accounted for
    found_labels: set[str] = field(default_factory=set)  # record keys whose label was printed
    alternatives: dict[str, list[tuple[float, dict]]] = field(default_factory=dict)  # amount path → other reads
