"""A digital page (pdfplumber) → PageLayout: ruling lines give the cells,
characters give the text. Also tells a usable text layer from a garbled one."""

from __future__ import annotations

import unicodedata

from .layout import Fragment, PageLayout, build_page

TABLE_SETTINGS = {
    "vertical_strategy": "lines",
    "horizontal_strategy": "lines",
    "snap_tolerance": 3,
    "join_tolerance": 3,
    "intersection_tolerance": 3,
}

MIN_CHARS = 10  # fewer characters than this: treat the page as an image


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF


def _is_bad(text: str) -> bool:
    """A character the text layer could not map to Unicode."""
    if text.startswith("(cid:") or "\ufffd" in text:
        return True
    return any(0xE000 <= ord(c) <= 0xF8FF or unicodedata.category(c) in ("Cc", "Co", "Cs")
               for c in text)


def triage(chars: list[dict]) -> tuple[str, str]:
    """Classify a page by its characters: ("text"|"image"|"garbled", reason)."""
    texts = [c["text"] for c in chars if c["text"].strip()]
    if len(texts) < MIN_CHARS:
        return "image", f"{len(texts)} characters in the text layer"
    bad = sum(_is_bad(t) for t in texts)
    if bad / len(texts) > 0.05:
        return "garbled", f"{bad} of {len(texts)} characters have no Unicode mapping (CID/private-use)"
    flat = "".join(texts)
    cjk = sum(_is_cjk(c) for c in flat)
    latin_ext = sum(0x80 <= ord(c) <= 0x24F for c in flat)
    if cjk / len(flat) < 0.05 and latin_ext / len(flat) > 0.2:
        return "garbled", "text layer is mojibake (Latin-1 letters where Chinese is expected)"
    return "text", ""


def page_layout(page, number: int) -> PageLayout:
    """pdfplumber page → PageLayout (kind "text"). Call triage() first."""
    tables = page.find_tables(TABLE_SETTINGS)
    boxes = [[tuple(c) for c in t.cells] for t in tables]
    frags = [
        Fragment(text=c["text"], bbox=(c["x0"], c["top"], c["x1"], c["bottom"]))
        for c in page.chars
        if c["text"].strip()
    ]
    return build_page(number, "text", float(page.width), float(page.height), boxes, frags)
