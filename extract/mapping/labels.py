"""Pass 2: printed text → the label it prints, matched by what it means rather
than by one fixed spelling.

A printed label is tried in the forms a form may print it in, surest first:
  exact      after normalization (white space, numbering, colon, unit and seal
             notes removed: `（一）财政拨款（万元）：` → 财政拨款)
  bracket    with bracketed qualifiers dropped (`年度(/项目)指标值` → 年度指标值,
             `项目总体目标（2024年-2026年）` → 项目总体目标, `（450字内）`)
  inline     `label：value` in one cell
  ocr        (scans) cleaned of the marks OCR adds (`·级目标` → 一级目标), a label
             merged with its value, one misread character when nothing else is close
  core       the label ends with a core term of exactly one field (`项目计划开始时间`
             → 开始时间): matched, but not surely, so the value is flagged for review
A label nothing matches is a finding for the accounting pass (`extra` or review).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable

from rapidfuzz import fuzz, process

from ..normalize import normalize_label

FUZZY_LABEL = 88  # rapidfuzz ratio for OCR'd labels
# one character in four may be misread when no other label comes close
FUZZY_LOOSE, FUZZY_MARGIN = 75, 15
CORE_SCORE = 0.75  # a label matched by its core term only: below the review threshold on purpose
CORE_MAX_LEN = 16  # longer text is a value, not a label that merely ends with a core term
_COLON_RE = re.compile(r"^(.{1,40}?)[：:]\s*(.*)$", re.S)
_BRACKETS = re.compile(r"[（(【\[〔][^（）()【】\[\]〔〕]*[)）】\]〕]")
_EDGE_JUNK = re.compile(r"^(?:[^\w(\u3400-\u9fff]|_)+|(?:[^\w)\u3400-\u9fff]|_)+$")
_DASH_FOR_ONE = re.compile(r"^[-‐‑–—_·•.~](?=[\u3400-\u9fff])")
_SENTENCE = re.compile(r"[，。；！？,;]|\d")


@dataclass(frozen=True)
class Match:
    spec: object
    score: float  # 1.0 exact … CORE_SCORE
    rest: str  # the value printed after the label in the same cell ("" if none)
    printed: str  # the label as printed
    rule: str  # exact | bracket | inline | ocr | merged | fuzzy | core


def ocr_label_keys(norm: str) -> list[str]:
    """A normalized label as OCR may have marred it, cleaned, in the ways it
    may have been marred: 一 read as a dash or a dot where a label starts
    (·级目标), or a stray mark there (_数量); stray marks at its end
    (满意度·); brackets whose ordinal was lost (（）财政拨款)."""
    s = re.sub(r"^\([^\w\u3400-\u9fff]*\)", "", norm)
    keys = [_EDGE_JUNK.sub("", _DASH_FOR_ONE.sub("一", s)), _EDGE_JUNK.sub("", s)]
    return [k for i, k in enumerate(keys) if k and k not in keys[:i]]


def fuzzy_pick(text: str, choices: list[str]) -> tuple[str, float] | None:
    """The choice a (recognized) label most likely prints: close enough
    (FUZZY_LABEL), or, for a label of four characters or more, one misread
    character away while every other choice is far off (一级目标 never
    passes for 二级目标: both are as close)."""
    if len(text) < 2 or not choices:
        return None
    found = process.extract(text, choices, scorer=fuzz.ratio, limit=2)
    if not found:
        return None
    best, score = found[0][0], found[0][1]
    second = found[1][1] if len(found) > 1 else 0.0
    if score >= FUZZY_LABEL or (len(text) >= 4 and score >= FUZZY_LOOSE and score - second >= FUZZY_MARGIN):
        return best, score
    return None


def label_forms(norm: str) -> list[tuple[str, str]]:
    """(form, rule) of a normalized label: itself, then without bracketed
    qualifiers (anywhere: 年度(/项目)指标值 → 年度指标值)."""
    out = [(norm, "exact")]
    bare = _BRACKETS.sub("", norm)
    if bare and bare != norm:
        out.append((bare, "bracket"))
    return out


def cut_prefix(text: str, n: int) -> str:
    """text without its first n non-space characters."""
    seen = 0
    for i, ch in enumerate(text):
        if seen == n:
            return text[i:].strip()
        if not ch.isspace():
            seen += 1
    return ""


class LabelIndex:
    """The labels of a set of specs (fields, sub-fields, columns), matched as
    the module's docstring says."""

    def __init__(self, specs: Iterable, core: bool = True):
        self.exact: dict[str, list] = {}
        self.cores: list[tuple[str, object]] = []
        for s in specs:
            for lab in s.norm_labels:
                self.exact.setdefault(lab, []).append(s)
            if core:
                for c in getattr(s, "core", []) or []:
                    self.cores.append((normalize_label(c), s))
        self.cores.sort(key=lambda x: -len(x[0]))
        self.keys = list(self.exact)

    def __bool__(self) -> bool:
        return bool(self.exact)

    def match(self, text: str, fuzzy: bool = False, resolve: Callable[[list], object] | None = None,
              core: bool = False) -> Match | None:
        """The label text prints, or None. `fuzzy`: the text was recognized by
        OCR. `core`: the text stands where a label stands, so the looser rules
        apply (core terms; for OCR, a label merged with its value and one
        misread character): a value that happens to begin or end like a label
        is not taken for one. When one label names several fields (其他资金 in
        two columns), `resolve` picks among them by position."""
        t = text.strip()
        if not t:
            return None

        def pick(key: str):
            cands = self.exact[key]
            return cands[0] if len(cands) == 1 or resolve is None else resolve(cands)

        m = _COLON_RE.match(t)
        tries = [(normalize_label(t), "", t)]
        if m:
            tries.append((normalize_label(m.group(1)), m.group(2).strip(), m.group(1)))
        for n, rest, printed in tries:
            for form, rule in label_forms(n):
                if form in self.exact:
                    return Match(pick(form), 1.0, rest, printed, "inline" if rest else rule)
        cleaned = []
        if fuzzy:
            cleaned = [(ocr_label_keys(n), rest, printed) for n, rest, printed in tries]
            for keys, rest, printed in cleaned:
                for key in keys:
                    for form, _ in label_forms(key):
                        if form in self.exact:
                            return Match(pick(form), 0.95, rest, printed, "ocr")
        if fuzzy and core:
            # OCR may merge a label with its value when the rule between them is
            # lost: a long label at the start of the text, without a colon
            n = tries[0][0]
            for lab in sorted(self.keys, key=len, reverse=True):
                if len(lab) >= 4 and n.startswith(lab) and len(n) > len(lab):
                    return Match(pick(lab), 0.9, cut_prefix(t, len(lab)), t[:len(lab)], "merged")
            if self.keys:
                for keys, rest, printed in cleaned:
                    for key in keys:
                        best = fuzzy_pick(key, self.keys)
                        if best:
                            return Match(pick(best[0]), best[1] / 100, rest, printed, "fuzzy")
        if core and self.cores:
            for n, rest, printed in tries:
                hit = self._core(n)
                if hit is not None:
                    return Match(hit, CORE_SCORE, rest, printed, "core")
        return None

    def _core(self, norm: str):
        """The one spec whose core term the label ends with (the longest core
        term wins; two specs tied at it is no match)."""
        for form, _ in label_forms(norm):
            if not form or len(form) > CORE_MAX_LEN or _SENTENCE.search(form):
                continue
            hits = [(c, s) for c, s in self.cores if form.endswith(c) and len(form) > len(c)]
            if not hits:
                continue
            top = len(hits[0][0])
            specs = {id(s): s for c, s in hits if len(c) == top}
            if len(specs) == 1:
                return next(iter(specs.values()))
        return None


def fuzzy_column(columns, name: str, j: int) -> int | None:
    """The column (from j on) a recognized header names, judged against every
    column of the table (二级目标 must not pass for 三级目标)."""
    labels = [lab for col in columns for lab in col.norm_labels]
    hit = fuzzy_pick(name, labels)
    if hit is None:
        return None
    for k in range(j, len(columns)):
        if hit[0] in columns[k].norm_labels:
            return k
    return None


def core_column(columns, name: str, j: int) -> int | None:
    """The column (from j on) whose core term a header no list foresees begins
    or ends with (`绩效目标值`, `当年预期实现值` → the target column; `指标值及单位`);
    None when no column's, or more than one column's, core term fits."""
    best: list[tuple[int, int]] = []  # (core length, column index)
    for form, _ in label_forms(name):
        for k in range(j, len(columns)):
            for c in columns[k].norm_core:
                if c and (form.endswith(c) or form.startswith(c)):
                    best.append((len(c), k))
        if best:
            break
    if not best:
        return None
    top = max(n for n, _ in best)
    ks = {k for n, k in best if n == top}
    return ks.pop() if len(ks) == 1 else None
