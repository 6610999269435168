"""Pass 1: the document stream → one segment per declaration, and the
template that fits each (or the finding that none does, or that the segment
is a look-alike document such as a self-evaluation)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable

from rapidfuzz import fuzz

from ..layout import PageLayout, Table, TextLine
from ..normalize import normalize_label
from ..template import Template

_COLON_RE = re.compile(r"^(.{1,40}?)[：:]\s*(.*)$", re.S)
# a title is a line of its own: a short place or body name before it at most,
# and no words of running text (关于报送…的函)
TITLE_MAX, TITLE_PREFIX_MAX, TITLE_TAIL_MAX = 60, 24, 30
_RUNNING_TEXT = re.compile(r"关于|报送|请予|现将|如下|。")


@dataclass
class Segment:
    """One declaration's share of the document stream."""

    items: list[TextLine | Table] = field(default_factory=list)

    @property
    def pages(self) -> list[int]:
        return sorted({i.page for i in self.items})

    def texts(self) -> Iterable[str]:
        for it in self.items:
            if isinstance(it, TextLine):
                yield it.text
            else:
                for c in it.cells:
                    if c.text:
                        yield c.text

    def lines(self) -> list[str]:
        return [it.text for it in self.items if isinstance(it, TextLine)]


def stream(pages: Iterable[PageLayout]) -> list[TextLine | Table]:
    """Pages → one reading-order stream of free lines and tables."""
    out: list[TextLine | Table] = []
    for p in pages:
        items: list[TextLine | Table] = [*p.lines, *p.tables]
        items.sort(key=lambda i: (i.bbox[1], i.bbox[0]))
        out.extend(items)
    return out


@lru_cache(maxsize=64)
def _title_re(patterns: tuple[str, ...]) -> re.Pattern:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


def _titles(templates) -> tuple[tuple[str, ...], str]:
    pats: list[str] = []
    words = ""
    for t in templates:
        pats += [p for p in t.titles if p not in pats]
        words = words or t.title_words
    return tuple(pats), words


def title_part(text: str, templates: Iterable[Template]) -> str | None:
    """If a line is a form title, which part it heads ("" when the title names
    no part); None when it is not a title. OCR'd titles may have a wrong
    character or two, so the title words are also matched fuzzily. A title named
    inside running text (a cover letter) is not a title."""
    templates = list(templates)
    flat = normalize_label(text)
    if not flat or len(flat) > TITLE_MAX or _RUNNING_TEXT.search(flat):
        return None
    pats, words = _titles(templates)
    m = _title_re(pats).search(flat) if pats else None
    if m:
        if m.start() > TITLE_PREFIX_MAX:
            return None
        tail = flat[m.end():]
    elif words and 6 <= len(flat) <= 40:
        al = fuzz.partial_ratio_alignment(words, flat, score_cutoff=80)
        if al is None:
            return None
        tail = flat[al.dest_end:]
    else:
        return None
    if len(tail) > TITLE_TAIL_MAX:
        return None
    for t in templates:
        for part, pwords in t.parts.items():
            if any(w in tail or (len(tail) >= 3 and fuzz.partial_ratio(w, tail) >= 80) for w in pwords):
                return part
    return ""


def lookalike(seg: Segment, templates: Iterable[Template]) -> str | None:
    """Why the segment is a look-alike document (a self-evaluation, a
    department-level form, an approval sheet, a cover letter), or None. Decided
    from its title lines and the labels only look-alikes print."""
    templates = list(templates)
    refuse = [p for t in templates for p in t.refuse_titles]
    labels = {normalize_label(x) for t in templates for x in t.refuse_labels}
    rx = re.compile("|".join(f"(?:{p})" for p in refuse)) if refuse else None
    for it in seg.items:
        if isinstance(it, TextLine):
            flat = normalize_label(it.text)
            if rx and len(flat) <= TITLE_MAX * 2 and rx.search(flat) and ("表" in flat or "函" in flat):
                return f"titled as another document: '{it.text.strip()[:40]}'"
    heads = set()
    for t in seg.texts():
        n = normalize_label(t)
        m = _COLON_RE.match(n)
        heads.add(normalize_label(m.group(1)) if m else n)
    hit = sorted(labels & heads)
    if len(hit) >= 2:
        return f"prints labels of another document: {', '.join(hit[:4])}"
    return None


def split_declarations(items: list[TextLine | Table], templates) -> list[Segment]:
    """Split the stream into declarations at their titles."""
    segs: list[Segment] = [Segment()]
    seen: set[str] = set()
    for it in items:
        if isinstance(it, TextLine):
            part = title_part(it.text, templates)
            if part is not None:
                # a part printed again starts a new declaration; so does any
                # title next to the title of a one-part form ("")
                if part in seen or (seen and (part == "" or "" in seen)):
                    segs.append(Segment())
                    seen = set()
                seen.add(part)
        segs[-1].items.append(it)
    return [s for s in segs if s.items]


def detect_variant(seg: Segment, templates) -> tuple[Template, float, dict[str, float]]:
    """Score every template by the share of its identifying labels printed in
    the segment; the best wins."""
    printed = {normalize_label(t) for t in seg.texts()}
    heads = set()
    for t in printed:
        m = _COLON_RE.match(t)
        heads.add(normalize_label(m.group(1)) if m else t)
    blob = "".join(sorted(printed))
    scores = {}
    for tpl in templates:
        if not tpl.detect:
            scores[tpl.id] = 0.0
            continue
        hit = 0.0
        for lab in tpl.detect:
            n = normalize_label(lab)
            if n in heads:
                hit += 1
            elif n in blob:
                hit += 0.6
        scores[tpl.id] = hit / len(tpl.detect)
    best = max(templates, key=lambda t: scores[t.id])
    return best, scores[best.id], scores
