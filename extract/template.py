"""Form templates: one YAML file per form variant (extract/templates/*.yaml).

A template is data: the labels a form prints (with their synonyms), the record
key each maps to, the column headers of its tables, closed vocabularies and the
default amount unit. The mapping engine (mapping.py) is the same for all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from .normalize import normalize_label

TEMPLATE_DIR = Path(__file__).parent / "templates"


@dataclass
class FieldSpec:
    key: str | None
    labels: list[str]
    type: str = "string"  # string | text | choice | date | daterange | amount | phone | number
    role: str = "start"
    options: list[str] = field(default_factory=list)
    lines: bool = False
    subfields: list["FieldSpec"] = field(default_factory=list)
    under: list[str] = field(default_factory=list)  # label printed above in the same column
    end_key: str | None = None  # daterange: where the range's end goes

    @property
    def norm_labels(self) -> list[str]:
        return [normalize_label(x) for x in self.labels]


@dataclass
class ColumnSpec:
    key: str
    labels: list[str]
    type: str = "string"
    stages: list[FieldSpec] = field(default_factory=list)

    @property
    def norm_labels(self) -> list[str]:
        return [normalize_label(x) for x in self.labels]


@dataclass
class TableSpec:
    key: str
    columns: list[ColumnSpec]
    require: list[str] = field(default_factory=list)
    carry_down: list[str] = field(default_factory=list)
    constant: dict = field(default_factory=dict)
    vocab: dict[str, list[str]] = field(default_factory=dict)
    total: dict | None = None
    heading: list[str] = field(default_factory=list)  # printed table headings (长期/年度绩效指标)
    whole_row: list[str] = field(default_factory=list)  # columns every printed row fills


@dataclass
class Template:
    id: str
    name: str
    title: str
    amount_unit: str | None
    detect: list[str]
    parts: dict[str, list[str]]
    header: dict[str, list[str]]
    section_labels: list[str]
    fields: list[FieldSpec]
    tables: list[TableSpec]
    extra_labels: list[str] = field(default_factory=list)  # printed labels → `extra`
    ignore_rows: list[str] = field(default_factory=list)  # rows with these labels are skipped
    path: Path | None = None


def _field(d: dict, parent_type: str = "string") -> FieldSpec:
    """A field spec; sub-fields take their group's type unless they name one
    (the rows of 项目资金 are amounts)."""
    type_ = d.get("type", parent_type)
    return FieldSpec(
        key=d.get("key"),
        labels=list(d["labels"]),
        type=type_,
        role=d.get("role", "start"),
        options=list(d.get("options", [])),
        lines=bool(d.get("lines", False)),
        subfields=[_field(s, type_) for s in d.get("subfields", [])],
        under=list(d.get("under", [])),
        end_key=d.get("end_key"),
    )


def _column(d: dict) -> ColumnSpec:
    return ColumnSpec(key=d["key"], labels=list(d["labels"]), type=d.get("type", "string"),
                      stages=[_field(s) for s in d.get("stages", [])])


def _table(d: dict) -> TableSpec:
    return TableSpec(
        key=d["key"],
        columns=[_column(c) for c in d["columns"]],
        require=list(d.get("require", [])),
        carry_down=list(d.get("carry_down", [])),
        constant=dict(d.get("constant", {})),
        vocab={k: list(v) for k, v in (d.get("vocab") or {}).items()},
        total=d.get("total"),
        heading=list(d.get("heading", [])),
        whole_row=list(d.get("whole_row", [])),
    )


def parse_template(data: dict, path: Path | None = None) -> Template:
    for key in ("id", "title", "fields"):
        if key not in data:
            raise ValueError(f"template {path or data.get('id')}: missing '{key}'")
    return Template(
        id=data["id"],
        name=data.get("name", data["id"]),
        title=data["title"],
        amount_unit=data.get("amount_unit"),
        detect=list(data.get("detect", [])),
        parts={k: list(v) for k, v in (data.get("parts") or {}).items()},
        header={k: list(v) for k, v in (data.get("header") or {}).items()},
        section_labels=list(data.get("section_labels", [])),
        fields=[_field(f) for f in data["fields"]],
        tables=[_table(t) for t in data.get("tables") or []],
        extra_labels=list(data.get("extra_labels", [])),
        ignore_rows=list(data.get("ignore_rows", [])),
        path=path,
    )


@lru_cache(maxsize=8)
def load_templates(directory: str | None = None) -> tuple[Template, ...]:
    d = Path(directory) if directory else TEMPLATE_DIR
    out = []
    for p in sorted(d.glob("*.yaml")):
        with open(p, encoding="utf-8") as f:
            out.append(parse_template(yaml.safe_load(f), p))
    if not out:
        raise FileNotFoundError(f"no form templates in {d}")
    return tuple(out)
