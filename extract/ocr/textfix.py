"""Repairs of recognized text that follow from how Chinese print is read.

The recognition model confuses a few look-alike marks in ways a reader of the
form never would: full-width brackets come back half-width, 《》 as （）, the
〔〕 of a document number as [], the enumeration comma 、 as a middle dot, a
comma as a full stop, an em dash as 一 and 一 as a hyphen, the thousands
commas of an amount as dots (15.000.00). Each rule below
fires only where the surrounding characters say which mark was printed (a dot
between two Chinese characters is never a decimal point), so digits, codes
and amounts are left alone. Applied to the text of a whole cell or line, so a
mark at the edge of one recognized piece still sees its neighbours.
"""

from __future__ import annotations

import re
from functools import lru_cache

HAN = r"\u3400-\u9fff"
# closing marks after which a bracket opens Chinese text
_CJK_PUNCT = "，。、；：？！“”‘’《》（）〔〕【】…—"


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """The recognition model sometimes answers in traditional characters
    (金額, 蓋章); the declarations are printed in simplified Chinese."""
    return _t2s().convert(text) if text else text


_DOT_BETWEEN_HAN = re.compile(rf"(?<=[{HAN}])\s*[．.]\s*(?=[{HAN}])")
_COMMA_BY_HAN = re.compile(rf"(?<=[{HAN}])\s*,\s*|\s*,\s*(?=[{HAN}])")
# 、 read as a middle dot; a dot before a unit of time is printed (人·年)
_MIDDOT_BETWEEN_HAN = re.compile(rf"(?<=[{HAN}）》”])\s*[·•∙]\s*(?=[{HAN}《（“])(?![年月日天时次])")
_DOC_NUMBER = re.compile(rf"(?<=[{HAN}])\s*[\[【(（〔]\s*((?:19|20)\d\d)\s*[\]】)）〕]\s*(?=\d{{1,4}}\s*号)")
# the same with its brackets lost, a gap left where they were (川残联发2015 26号)
_DOC_NUMBER_BARE = re.compile(rf"(?<=[{HAN}])\s*((?:19|20)\d\d)\s+(?=\d{{1,4}}\s*号)")
_DASH_IN_RANGE = re.compile(r"(?<=[\d年月日])\s*一\s*(?=\d)")
_HYPHEN_ORDINAL = re.compile(r"[（(]\s*[-‐‑–_]\s*[)）]")
_LEADING_HYPHEN = re.compile(rf"(?:^|(?<=[\s（(、，]))[-‐‑–]\s*(?=[{HAN}])")
# an amount whose thousands commas were read as dots (15.000.00, 1.650,000.00):
# groups of three digits after the first, then the decimals
_GROUPED = re.compile(r"(?<![\d.,])(\d{1,3})((?:[.,]\d{3})+)[.,](\d{1,2})(?![\d.,])")


def _regroup(m: re.Match) -> str:
    groups = m.group(2)
    if "." not in groups:  # 1,650,000.00 and 1,650,000,00: nothing was misread as a dot
        return m.group(0)
    return m.group(1) + groups.replace(".", ",") + "." + m.group(3)


def repair(text: str) -> str:
    """Punctuation of a recognized cell or line, as the form prints it."""
    if not text:
        return text
    t = _DOT_BETWEEN_HAN.sub("，", text)
    t = _COMMA_BY_HAN.sub("，", t)
    t = _MIDDOT_BETWEEN_HAN.sub("、", t)
    t = _DOC_NUMBER.sub(lambda m: f"〔{m.group(1)}〕", t)
    t = _DOC_NUMBER_BARE.sub(lambda m: f"〔{m.group(1)}〕", t)
    t = _DASH_IN_RANGE.sub("—", t)
    t = _HYPHEN_ORDINAL.sub("（一）", t)
    t = _LEADING_HYPHEN.sub("一", t)
    t = _GROUPED.sub(_regroup, t)
    return _brackets(t.replace("〈", "《").replace("〉", "》"))


def _is_cjk(ch: str) -> bool:
    return bool(ch) and ("\u3400" <= ch <= "\u9fff" or ch in _CJK_PUNCT)


def _brackets(t: str) -> str:
    """Half-width brackets in Chinese text → full-width (〈〉, which these
    forms never print, are 《》 read narrow); a pair the model
    read as （…》 or 《…） → 《…》 (it reads 《》 as （）, never the reverse)."""
    chars = list(t)
    stack: list[int] = []  # positions of open brackets
    prev = ""  # the last character before i that is not a space
    for i, ch in enumerate(chars):
        if ch in "(（《":
            if ch == "(":
                nxt = chars[i + 1] if i + 1 < len(chars) else ""
                if _is_cjk(prev) or (not prev and "\u3400" <= nxt <= "\u9fff"):
                    chars[i] = "（"
            stack.append(i)
        elif ch in ")）》":
            if not stack:
                if ch == ")" and _is_cjk(prev):
                    chars[i] = "）"
            else:
                j = stack.pop()
                top = chars[j]
                if top == "《" and ch in ")）":
                    chars[i] = "》"
                elif top == "（" and ch == "》":
                    chars[j] = "《"
                elif top == "（" and ch == ")":
                    chars[i] = "）"
        if not ch.isspace():
            prev = chars[i]
    return "".join(chars)


def repair_page(page) -> None:
    """Apply `repair` to the OCR'd text of a PageLayout, in place."""
    for t in page.tables:
        for c in t.cells:
            if c.text and "ocr" in c.method:
                c.text = repair(c.text)
    for ln in page.lines:
        if ln.text and "ocr" in ln.method:
            ln.text = repair(ln.text)
