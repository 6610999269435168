"""Raw fields → the record of record-spec.md: normalization, provenance,
confidence, and validation against schema.json."""

from __future__ import annotations

import re

from functools import lru_cache

from . import contract, errors
from .mapping import Mapped, Raw
from .settings import DEFAULT as DEFAULT_SETTINGS
from .normalize import (
    CHECKED_GLYPHS,
    UNCHECKED_GLYPHS,
    clean_text,
    has_marks,
    parse_amount,
    parse_date,
    parse_date_range,
    parse_number,
    parse_options,
    parse_phone,
    parse_year,
    snap,
    stage_ticked,
    ticked_words,
)
from .template import FieldSpec, TableSpec

SCHEMA_PATH = contract.SCHEMA_PATH

# the record's keys, from the contract (extract/schema.json, read by extract/contract.py)
PROJECT_KEYS = contract.part_keys("project")
FUNDING_KEYS = contract.part_keys("funding")
ROW_KEYS = {t: contract.row_keys(t) for t in ("indicators", "budget_items", "safeguards")}
STAGE_KEYS = contract.stage_keys()


def empty_record() -> dict:
    return {
        "schema_version": "1",
        "form": {**{k: None for k in contract.part_keys("form")}, "variant": ""},
        "project": {k: None for k in PROJECT_KEYS},
        "funding": {k: None for k in FUNDING_KEYS},
        "composition": None,
        "indicators": [],
        "budget_items": [],
        "budget_total": None,
        "safeguards": [],
        "extra": {},
    }


class Builder:
    """Normalizes one Mapped declaration into a record, keeping for every value
    where it came from and how sure we are."""

    def __init__(self, mapped: Mapped):
        self.m = mapped
        self.rec = empty_record()
        self.prov: dict[str, dict] = {}
        self.f = mapped.findings  # review entries and warnings, written together
        self.unit = None

    # --------------------------------------------------------------- helpers
    def _prov(self, path: str, raw: Raw, confidence: float | None = None) -> None:
        conf = raw.certainty if confidence is None else confidence
        self.prov[path] = {
            "page": raw.page,
            "bbox": [round(v, 1) for v in raw.bbox] if raw.bbox else None,
            "method": raw.method,
            "confidence": round(conf, 3),
        }
        if raw.label:
            self.prov[path]["label"] = raw.label.strip()
        odd = _odd_chars(raw.text) if raw.method.startswith("ocr") else ""
        if odd and conf >= DEFAULT_SETTINGS.review.review_below:
            self.f.flag(path, "low_confidence", f"the reading holds '{odd}', which these forms do not print",
                        where=raw)
        if conf < DEFAULT_SETTINGS.review.review_below:
            self.f.flag(path, "low_confidence", f"confidence {conf:.2f}", where=raw,
                        warning=f"{path}: low confidence {conf:.2f}, needs review")

    def _unreadable(self, path: str, raw: Raw, kind: str) -> None:
        self.f.flag(path, "not_normalized", f"'{raw.text.strip()}' is not a readable {kind}; left empty",
                    where=raw)

    def _amount(self, path: str, raw: Raw, unit: str | None) -> float | None:
        value = parse_amount(raw.text, unit)
        if value is None and not _placeholder(raw.text):
            self._unreadable(path, raw, "amount")
        others = []
        for r in raw.reads[1:]:  # the other readings of a number read twice (the image path)
            v = parse_amount(r.get("text"), unit)
            if v is not None and v != value and all(v != o for o, _ in others):
                others.append((v, r))
        if others:
            self.m.alternatives[path] = others
        return value

    def _value(self, path: str, spec_type: str, raw: Raw, spec: FieldSpec | None = None):
        self.f.carry(path, raw.flags, where=raw)
        t = spec_type
        if t == "amount":
            return self._amount(path, raw, raw.unit or self.unit)
        if t == "number":
            v = parse_number(raw.text)
            if v is None and not _placeholder(raw.text):
                self._unreadable(path, raw, "number")
            return v
        if t == "date":
            v = parse_date(raw.text, role=spec.role if spec else "start")
            if v is None and raw.text.strip():
                self._unreadable(path, raw, "date")
            return v
        if t == "phone":
            v = parse_phone(raw.text)
            if v is None and not _placeholder(raw.text):
                self._unreadable(path, raw, "phone number")
            return v
        if t == "choice":
            states = parse_options(raw.text, spec.options)
            ticked = [o for o, st in states.items() if st]
            v = ticked[0] if len(ticked) == 1 else None
            if len(ticked) > 1:
                self.f.flag(path, "suspect_value", f"several options ticked in '{clean_text(raw.text)}'",
                            where=raw)
            elif not ticked and raw.method != "text":
                self.f.flag(path, "low_confidence", f"no option ticked in '{clean_text(raw.text)}' "
                            "(a faint tick may be missed)", where=raw)
            elif not ticked:
                self.f.warn(f"{path}: no single option ticked in '{clean_text(raw.text)}'")
            return v
        if t == "text":
            v = clean_text(raw.text, keep_newlines=bool(spec and spec.lines))
            return v if v else None
        v = clean_text(raw.text)
        return v or None

    # --------------------------------------------------------------- parts
    def form(self) -> None:
        h = self.m.header
        t = self.m.template
        f = self.rec["form"]
        f["title"] = t.title
        f["variant"] = t.id
        if "year" in h:
            f["year"] = parse_year(h["year"].text)
            self._prov("form.year", h["year"])
        if "amount_unit" in h:
            f["amount_unit"] = h["amount_unit"].text
            self._prov("form.amount_unit", h["amount_unit"])
        else:
            f["amount_unit"] = self.m.label_unit  # printed in a label: 项目资金（元）
        self.unit = f["amount_unit"] or t.amount_unit
        if "filing_unit" in h:
            v = clean_text(h["filing_unit"].text)
            f["filing_unit"] = v or None
            if v:
                self._prov("form.filing_unit", h["filing_unit"])

    def fields(self) -> None:
        for key, raw in self.m.fields.items():
            spec = self.m.specs.get(key)
            if spec is not None and spec.type == "daterange":
                self._daterange(key, spec, raw)
                continue
            value = self._value(key, spec.type if spec else "string", raw, spec)
            section, _, name = key.partition(".")
            if name:
                self.rec[section][name] = value
            else:
                self.rec[section] = value
            if value is not None:
                self._prov(key, raw)
        # 项目名称 printed above parts (b) and (c) stands in when part (a) is missing
        hdr = self.m.header.get("project_name")
        if hdr is not None:
            printed = clean_text(hdr.text)
            if self.rec["project"]["name"] is None and printed:
                self.rec["project"]["name"] = printed
                self._prov("project.name", hdr)

    def _daterange(self, key: str, spec: FieldSpec, raw: Raw) -> None:
        """项目起止时间 printed as one range → start and end dates."""
        start, end = parse_date_range(raw.text)
        if start is None and end is None and raw.text.strip():
            self._unreadable(key, raw, "date range")
        for path, value in ((key, start), (spec.end_key, end)):
            if path is None:
                continue
            section, _, name = path.partition(".")
            self.rec[section][name] = value
            if value is not None:
                self._prov(path, raw)
            elif raw.text.strip() and (path != key or end is not None):
                self.f.flag(path, "not_normalized", f"the printed range '{raw.text.strip()[:40]}' gives no "
                            f"{'end' if path != key else 'start'} date", where=raw)

    def tables(self) -> None:
        for spec in self.m.template.tables:
            if spec.to_extra:
                continue  # its columns are in extra (the accounting pass put them there)
            rows = self.m.rows.get(spec.key, [])
            # the table prints ☐/☑ boxes in its stage cells
            boxes = any(_BOX.search(raw.text) for row in rows for k, raw in row.items() if k.startswith("stages."))
            out = []
            for i, row in enumerate(rows):
                out.append(self._row(spec, i, row, boxes))
            self._no_mark_at_all(spec, rows, out)
            if spec.key in self.rec:
                self.rec[spec.key] = out
            if spec.total:
                raw = self.m.totals.get(spec.total.key)
                if raw is not None:
                    path = spec.total.key
                    self.rec[path] = self._amount(path, raw, self.unit)
                    self._prov(path, raw)

    def _no_mark_at_all(self, spec: TableSpec, rows: list[dict[str, Raw]], out: list[dict]) -> None:
        """A scanned stage table where not one stage of any row reads ticked:
        no declaration plans its safeguards for no stage, the marks were lost."""
        for col in spec.columns:
            if col.type != "stages" or not out:
                continue
            values = [v for r in out for v in (r.get(col.key) or {}).values() if v is not None]
            raws = [raw for row in rows for k, raw in row.items() if k.startswith("stages.")]
            if len(values) >= 2 and not any(values) and any(r.method.startswith("ocr") for r in raws):
                for i, r in enumerate(out):
                    for stage, v in (r.get(col.key) or {}).items():
                        if v is False:
                            raw = rows[i].get(f"stages.{stage}")
                            self.f.flag(f"{spec.key}[{i}].{col.key}.{stage}", "low_confidence",
                                        "no stage of the table reads ticked: the marks may be lost", where=raw)

    def _row(self, spec: TableSpec, i: int, row: dict[str, Raw], boxes: bool = False) -> dict:
        keys = ROW_KEYS.get(spec.key, [c.key for c in spec.columns])
        out: dict = {k: None for k in keys}
        out.update(spec.constant)
        if "table" in row:  # the printed heading over the row (长期绩效指标 / 年度绩效指标)
            out["table"] = clean_text(row["table"].text)
        types = {c.key: c.type for c in spec.columns}
        for col in spec.columns:
            if col.type == "stages":
                stages = {}
                for st in col.stages:
                    raw = row.get(f"stages.{st.key}")
                    path = f"{spec.key}[{i}].stages.{st.key}"
                    if raw is None:
                        stages[st.key] = None
                        self.f.flag(path, "not_found", "stage cell not found")
                        continue
                    self.f.carry(path, raw.flags, where=raw)
                    stages[st.key] = bool(stage_ticked(raw.text))
                    if _glyph_only_mark(raw):
                        self.f.flag(path, "low_confidence", "the mark was told from a box glyph the recognizer "
                                    "read, not from the box's pixels", where=raw)
                    elif boxes and _no_mark_read(raw):
                        self.f.flag(path, "low_confidence", "no box was read in this stage cell, while the "
                                    "table prints boxes: the mark was not seen", where=raw)
                    self._prov(path, raw)
                out[col.key] = stages
                continue
            raw = row.get(col.key)
            if raw is None:
                continue
            path = f"{spec.key}[{i}].{col.key}"
            value = self._value(path, types.get(col.key, "string"), raw)
            if isinstance(value, str) and col.key in spec.vocab and raw.method.startswith("ocr"):
                value = self._snap(path, value, spec.vocab[col.key], raw)
            out[col.key] = value
            if value is not None:
                self._prov(path, raw)
        return out

    def _snap(self, path: str, value: str, vocab: list[str], raw: Raw) -> str:
        """OCR'd text of a closed vocabulary → the nearest allowed value."""
        best, score = snap(value, vocab, min_score=80)
        if best is None:
            self.f.flag(path, "low_confidence", f"'{value}' is not a known value; kept as read", where=raw)
            return value
        raw.confidence = min(raw.confidence, score)
        return best

    def build(self) -> dict:
        self.form()
        self.fields()
        self.tables()
        self.extra()
        return self.rec

    def extra(self) -> None:
        """Printed labels no record key has, with their values: money as a
        number in 元, the rest as printed; a table column as the list of its
        values in row order."""
        money = self.m.template.money_words
        out = {}
        below = DEFAULT_SETTINGS.review.review_below
        for label, val in self.m.extra.items():
            path = f"extra.{label}"
            if isinstance(val, list):
                out[label] = [clean_text(r.text) or None if r is not None else None for r in val]
                weak = [r for r in val if r is not None and r.text.strip() and r.certainty < below]
                if weak:  # the column's entry covers each of its values
                    self.f.flag(path, "low_confidence", f"{len(weak)} of its values read with confidence "
                                f"as low as {min(r.certainty for r in weak):.2f}", where=weak[0])
                continue
            if val.text.strip() and val.certainty < below:
                self.f.flag(path, "low_confidence", f"confidence {val.certainty:.2f}", where=val)
            if val.options or has_marks(val.text):
                ticked = ticked_words(val.text, val.options)
                if ticked is not None:
                    out[label] = ticked
                    self.f.carry(f"extra.{label}", val.flags, where=val)
                    continue
            amount = None
            if val.amount or any(w in label for w in money):
                amount = parse_amount(val.text, val.unit or self.unit)
                if amount is None and re.search(r"\d", val.text) and not _placeholder(val.text):
                    self.f.flag(path, "not_normalized", f"'{val.text.strip()}' is not a readable amount; "
                                "kept as printed", where=val)
            out[label] = amount if amount is not None else clean_text(val.text)
            self.f.carry(f"extra.{label}", val.flags, where=val)
        self.rec["extra"] = out


def _placeholder(text: str | None) -> bool:
    """Printed nothing a value could be read from: blank, a dash, a slash, 无."""
    return clean_text(text) in ("", "-", "--", "---", "----", "/", "无", "—", "——")


def build_record(mapped: Mapped) -> tuple[dict, dict]:
    """The normalized record and its provenance; review entries and warnings
    are added to mapped.findings."""
    b = Builder(mapped)
    rec = b.build()
    return rec, b.prov


@lru_cache(maxsize=1)
def _validator():
    import jsonschema

    return jsonschema.Draft202012Validator(contract.schema())


def validate(record: dict) -> None:
    """Raise InvalidRecord listing every way the record breaks the contract.
    Provenance (a hundred entries a record) is checked by hand, as the schema
    says, four times faster than by jsonschema."""
    prov = record.get("provenance") if isinstance(record, dict) else None
    whole = {**record, "provenance": {}} if isinstance(prov, dict) else record
    problems = sorted(_validator().iter_errors(whole), key=lambda e: list(e.path))
    lines = [f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in problems[:10]]
    bad = provenance_problem(prov) if isinstance(prov, dict) else None
    if bad:
        lines.append(bad)
    if lines:
        raise errors.InvalidRecord("; ".join(lines))


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def provenance_problem(prov: dict) -> str | None:
    """What schema.json says of provenance entries, checked without jsonschema."""
    for path, p in prov.items():
        if not isinstance(p, dict) or not {"page", "bbox", "method", "confidence"} <= p.keys():
            return f"provenance/{path}: not an object with page, bbox, method and confidence"
        page, bbox = p["page"], p["bbox"]
        if not (page is None or (isinstance(page, int) and not isinstance(page, bool) and page >= 0)):
            return f"provenance/{path}/page: {page!r} is not a page number"
        if not (bbox is None or (isinstance(bbox, list) and len(bbox) == 4 and all(map(_number, bbox)))):
            return f"provenance/{path}/bbox: {bbox!r} is not four numbers"
        if not isinstance(p["method"], str) or not _number(p["confidence"]) or p["confidence"] < 0:
            return f"provenance/{path}: method must be text and confidence a number ≥ 0"
        if not isinstance(p.get("label", ""), str):
            return f"provenance/{path}/label: {p['label']!r} is not text"
    return None


_BOX = re.compile(r"[☐□☑☒■▣口]")
# what a declaration prints: CJK text and punctuation, ASCII, full-width forms,
# and the signs of targets and amounts; a recognizer's other output (• à ¢ ß…)
# is a speck or a misread
_ODD = re.compile(r"[^\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef\x20-\x7e\s"
                  r"¥≥≤＞＜>=<±×÷%‰℃°·—–―…‘’“”《》〈〉【】〔〕、。，；：？！（）Ⅰ-Ⅻ☐□☑☒■▣√✓✔㎡㎞ⅰ-ⅹ①-⑳]")


def _odd_chars(text: str) -> str:
    return "".join(dict.fromkeys(_ODD.findall(text or "")))


def _no_mark_read(raw: Raw) -> bool:
    """An OCR'd stage cell with neither a box glyph in its text nor a mark
    found in its pixels."""
    return raw.method.startswith("ocr") and "pixels" not in raw.method \
        and not any(c in raw.text for c in CHECKED_GLYPHS + UNCHECKED_GLYPHS + "口") \
        and bool(re.search(r"[\u4e00-\u9fff]", raw.text))


def _glyph_only_mark(raw: Raw) -> bool:
    """A stage read by OCR whose state rests on a box glyph (☐ ☑ 口) the
    recognizer put in the text, with no box found in the pixels: at 150 dpi a
    tick inside a 2 mm box is a few pixels, and the recognizer's confidence
    is the line's, not the mark's."""
    if not raw.method.startswith("ocr") or "pixels" in raw.method:
        return False
    return bool(_BOX.search(raw.text))
