"""Form templates: one YAML file per form variant (extract/templates/*.yaml).

A template is data: the labels a form prints (with their synonyms and core
terms), the record key each maps to, the column headers of its tables, closed
vocabularies, the boilerplate it prints, the sums to check. The mapping engine
(extract/mapping/) is the same for all.

Files whose name starts with `_` are shared parts: `_common.yaml` holds what
every form of the family prints (titles, boilerplate, the money words, the
checks); a template names it with `extends`. A template loads into the typed
models below; an unknown key or a value of the wrong type is E_TEMPLATE naming
the file and the key (`tpye:` is an error, not silently ignored).
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import MISSING, dataclass, field, fields
from functools import cached_property, lru_cache
from pathlib import Path

import yaml

from . import errors
from .normalize import normalize_label

TEMPLATE_DIR = Path(__file__).parent / "templates"
FIELD_TYPES = ("string", "text", "choice", "date", "daterange", "amount", "phone", "number")
COLUMN_TYPES = ("string", "text", "amount", "number", "date", "stages", "mark")


# ------------------------------------------------------------------ models


@dataclass
class FieldSpec:
    """A printed label (and its synonyms) → a record key."""

    labels: list[str]
    key: str | None = None  # None: a group label, or a label whose value goes to `extra`
    type: str | None = None  # default: its group's type (the rows of 项目资金 are amounts), else string
    role: str = "start"  # date: start | end (a bare year)
    options: list[str] = field(default_factory=list)  # choice: the printed options
    lines: bool = False  # text: printed items joined by "\n"
    subfields: list["FieldSpec"] = field(default_factory=list)  # a label spanning several rows
    under: list[str] = field(default_factory=list)  # the label printed above it in the same column
    end_key: str | None = None  # daterange: where the range's end goes
    optional: bool = False  # the variant's forms do not all print it: no not_found when absent
    core: list[str] = field(default_factory=list)  # core terms: a label ending in one names this field

    @cached_property
    def norm_labels(self) -> list[str]:
        return [normalize_label(x) for x in self.labels]

    def walk(self):
        yield self
        for s in self.subfields:
            yield from s.walk()


@dataclass
class ColumnSpec:
    key: str
    labels: list[str]
    type: str = "string"
    stages: list[FieldSpec] = field(default_factory=list)  # type stages: the stage names
    core: list[str] = field(default_factory=list)  # core terms of headers no list foresees (…指标值)
    optional: bool = False  # not every form prints the column: no not_found when a row lacks it

    @cached_property
    def norm_labels(self) -> list[str]:
        return [normalize_label(x) for x in self.labels]

    @cached_property
    def norm_core(self) -> list[str]:
        return [normalize_label(x) for x in self.core]


@dataclass
class TotalSpec:
    labels: list[str]
    key: str
    column: str


@dataclass
class TableSpec:
    key: str
    columns: list[ColumnSpec]
    require: list[str] = field(default_factory=list)  # a row is kept when one of these has text
    carry_down: list[str] = field(default_factory=list)  # merged cells: carried to the rows below
    constant: dict = field(default_factory=dict)
    vocab: dict[str, list[str]] = field(default_factory=dict)  # closed vocabularies OCR snaps to
    total: TotalSpec | None = None
    heading: list[str] = field(default_factory=list)  # printed table headings, in printed order (长期, 年度绩效指标)
    whole_row: list[str] = field(default_factory=list)  # columns every printed row fills
    optional: bool = False  # not every form of the variant prints this table
    to_extra: bool = False  # no record list: each printed column goes to `extra` as a list of its values


@dataclass
class CheckSpec:
    """A consistency check, as data. kind sum: the parts add up to the total
    (a part path may hold `[]`: every row); product: in every row of `each`,
    the factors multiply to `equals`; order: `first` ≤ `second` (dates)."""

    id: str
    name: str  # 中文 name of the check, for people and exports
    kind: str = "sum"
    total: str | None = None
    parts: list[str] = field(default_factory=list)
    zero_if_missing: list[str] = field(default_factory=list)  # parts read as 0 when not printed
    when: list[str] = field(default_factory=list)  # run only when these fields have values
    each: str | None = None
    factors: list[str] = field(default_factory=list)
    equals: str | None = None
    first: str | None = None
    second: str | None = None


@dataclass
class Template:
    id: str
    title: str
    fields: list[FieldSpec]
    name: str = ""
    amount_unit: str | None = None
    detect: list[str] = field(default_factory=list)
    parts: dict[str, list[str]] = field(default_factory=dict)  # part → words after the title
    part_names: dict[str, str] = field(default_factory=dict)  # part → its printed name
    header: dict[str, list[str]] = field(default_factory=dict)  # labels of free lines
    section_labels: list[str] = field(default_factory=list)  # cells naming a section only
    tables: list[TableSpec] = field(default_factory=list)
    extra_labels: list[str] = field(default_factory=list)  # printed labels → `extra` (expected, unless
    optional_extra: list[str] = field(default_factory=list)  # … listed here)
    expect_header: list[str] = field(default_factory=list)  # form header items every form prints
    ignore_rows: list[str] = field(default_factory=list)  # rows never part of the record
    titles: list[str] = field(default_factory=list)  # regexes of the form's title
    title_words: str = ""  # the title as OCR may mar it (fuzzy)
    refuse_titles: list[str] = field(default_factory=list)  # look-alike forms (自评表 …)
    refuse_labels: list[str] = field(default_factory=list)  # labels only look-alikes print (执行率 …)
    boilerplate: list[str] = field(default_factory=list)  # regexes of printed text that is no field
    seal_words: str = "盖章签"  # characters of the seal note after 填报单位（盖章）
    money_words: list[str] = field(default_factory=list)  # a label naming money: its extra is an amount
    label_suffixes: list[str] = field(default_factory=list)  # generic endings a label may carry (…名称)
    checks: list[CheckSpec] = field(default_factory=list)
    extends: str | None = None
    path: Path | None = None

    def all_fields(self) -> list[FieldSpec]:
        return [s for f in self.fields for s in f.walk()]

    def expected_paths(self) -> list[str]:
        """Record keys a form of this variant always prints (the accounting pass
        names each one it did not find): its fields, and the `extra` labels it
        always prints (a sub-field without a record key, or an extra label)."""
        out = []
        for f in self.fields:
            for s in f.walk():
                if s.optional or (f.optional and s is not f):
                    continue
                if s.key:
                    out.append(s.key)
                elif not s.subfields:
                    out.append(f"extra.{normalize_label(s.labels[0])}")
                if s.end_key:
                    out.append(s.end_key)
        optional = {normalize_label(x) for x in self.optional_extra}
        out += [f"extra.{normalize_label(x)}" for x in self.extra_labels if normalize_label(x) not in optional]
        return out


# ------------------------------------------------------------------ strict loading


class _Invalid(Exception):
    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: {message}")
        self.where, self.message = where, message


def _typename(tp) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(tp, value, where: str):
    """value checked (and built) as type tp; _Invalid names where it is wrong."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(inner[0], value, where)
    if tp is typing.Any or tp is dict and not args:
        return value
    if origin is list:
        if not isinstance(value, list):
            raise _Invalid(where, f"must be a list, not {type(value).__name__}")
        return [_coerce(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise _Invalid(where, f"must be a mapping, not {type(value).__name__}")
        kt, vt = args if args else (str, typing.Any)
        return {_coerce(kt, k, where): _coerce(vt, v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(tp, type) and hasattr(tp, "__dataclass_fields__"):
        return _build(tp, value, where)
    if tp is Path:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise _Invalid(where, f"must be true or false, not {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise _Invalid(where, f"must be text, not {type(value).__name__} {value!r}")
        return value
    if tp in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _Invalid(where, f"must be a number, not {value!r}")
        return tp(value)
    raise _Invalid(where, f"has a type the loader does not know ({_typename(tp)})")


def _build(cls, data, where: str):
    if not isinstance(data, dict):
        raise _Invalid(where, f"must be a mapping with keys {', '.join(f.name for f in fields(cls))}, "
                              f"not {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls) if f.name != "path"}
    unknown = [k for k in data if k not in known]
    if unknown:
        raise _Invalid(f"{where}.{unknown[0]}" if where else unknown[0],
                       f"unknown key (known: {', '.join(sorted(known))})")
    kwargs = {}
    for name, f in known.items():
        if name in data:
            kwargs[name] = _coerce(hints[name], data[name], f"{where}.{name}" if where else name)
        elif f.default is MISSING and f.default_factory is MISSING:
            raise _Invalid(f"{where}.{name}" if where else name, "missing (required)")
    return cls(**kwargs)


def _inherit_types(specs: list[FieldSpec], parent: str) -> None:
    """Sub-fields take their group's type unless they name one."""
    for f in specs:
        f.type = f.type or parent
        _inherit_types(f.subfields, f.type)


def _check(tpl: Template) -> None:
    """Values the types alone do not pin down."""
    _inherit_types(tpl.fields, "string")
    for i, f in enumerate(tpl.all_fields()):
        if f.type not in FIELD_TYPES:
            raise _Invalid(f"fields (label {f.labels[:1]}).type", f"{f.type!r} is not one of {', '.join(FIELD_TYPES)}")
        if f.type == "choice" and not f.options and f.key:
            raise _Invalid(f"fields (label {f.labels[:1]}).options", "a choice needs its options")
        if not f.labels:
            raise _Invalid(f"fields[{i}].labels", "needs at least one label")
    for t in tpl.tables:
        keys = [c.key for c in t.columns]
        for c in t.columns:
            if c.type not in COLUMN_TYPES:
                raise _Invalid(f"tables.{t.key}.columns.{c.key}.type",
                               f"{c.type!r} is not one of {', '.join(COLUMN_TYPES)}")
        for name in ("require", "carry_down", "whole_row"):
            for k in getattr(t, name):
                if k not in keys:
                    raise _Invalid(f"tables.{t.key}.{name}", f"{k!r} is not a column of the table")
        if t.total and t.total.column not in keys:
            raise _Invalid(f"tables.{t.key}.total.column", f"{t.total.column!r} is not a column")
    for c in tpl.checks:
        if c.kind not in ("sum", "product", "order"):
            raise _Invalid(f"checks.{c.id}.kind", f"{c.kind!r} is not sum, product or order")
    for rx in tpl.titles + tpl.refuse_titles + tpl.boilerplate:
        try:
            re.compile(rx)
        except re.error as exc:
            raise _Invalid("titles/boilerplate", f"{rx!r} is not a regular expression ({exc})")


def _merge(base: dict, own: dict) -> dict:
    """A template over its shared part: its own keys win; lists of the shared
    part named in `+key` are extended instead."""
    out = dict(base)
    for k, v in own.items():
        if k.startswith("+"):
            out[k[1:]] = list(base.get(k[1:], [])) + list(v)
        else:
            out[k] = v
    return out


def _read_yaml(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            # libyaml's loader when PyYAML has it (its wheels do): the same
            # safe constructors, ten times faster than the pure-Python one,
            # which was a third of a digital run's start
            data = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as exc:
        raise errors.TemplateError(f"{path}: cannot be read as YAML ({exc})") from None
    if not isinstance(data, dict):
        raise errors.TemplateError(f"{path}: must be a mapping of keys, not {type(data).__name__}")
    return data


def parse_template(data: dict, path: Path | None = None, shared: dict[str, dict] | None = None) -> Template:
    where = str(path) if path else f"template {data.get('id', '?')}"
    base = data.get("extends")
    if base:
        if not shared or base not in shared:
            raise errors.TemplateError(f"{where}: extends: no shared part {base!r} "
                                       f"(known: {', '.join(sorted(shared or {})) or 'none'})")
        data = _merge(shared[base], data)
    try:
        tpl = _build(Template, data, "")
        _check(tpl)
    except _Invalid as exc:
        raise errors.TemplateError(f"{where}: {exc.where}: {exc.message}") from None
    tpl.path = path
    tpl.name = tpl.name or tpl.id
    return tpl


def load_dir(d: Path) -> tuple[Template, ...]:
    if not d.is_dir():
        raise errors.TemplateError(f"{d}: not a folder of templates")
    shared = {p.stem.lstrip("_"): _read_yaml(p) for p in sorted(d.glob("_*.yaml"))}
    if d != TEMPLATE_DIR:  # a user's folder may lean on the shipped shared parts
        for p in sorted(TEMPLATE_DIR.glob("_*.yaml")):
            shared.setdefault(p.stem.lstrip("_"), _read_yaml(p))
    out = []
    ids: dict[str, Path] = {}
    for p in sorted(d.glob("*.yaml")):
        if p.name.startswith("_"):
            continue
        tpl = parse_template(_read_yaml(p), p, shared)
        if tpl.id in ids:
            raise errors.TemplateError(f"{p}: id {tpl.id!r} is already used by {ids[tpl.id]}")
        ids[tpl.id] = p
        out.append(tpl)
    if not out:
        raise errors.TemplateError(f"no form templates (*.yaml) in {d}")
    return tuple(out)


@lru_cache(maxsize=8)
def load_templates(directory: str | None = None) -> tuple[Template, ...]:
    """The shipped templates, or those of a user's folder (`--templates DIR`)."""
    return load_dir(Path(directory) if directory else TEMPLATE_DIR)
