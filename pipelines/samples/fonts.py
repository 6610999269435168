"""Font registry for the sample renderer.

Every font is embedded (reportlab subsets TrueType outlines and writes a
ToUnicode map), so the PDF's text layer carries the real characters.  A font
that lacks a glyph (☑ ☐ ✓ in the CJK fonts, all of ASCII in Droid Sans
Fallback) hands that character to the next font of its fallback chain; the
renderer draws a line as runs, one per font.
"""

from __future__ import annotations

from functools import lru_cache
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from extract import sysdeps

# The fonts the renderer knows: extract/sysdeps.py names their files and the
# Debian packages that install them.
FONT_FILES = sysdeps.FONTS

# The fonts a style may choose as its main font (dejavu is a fallback only).
MAIN_FONTS = ("wqy-zenhei", "wqy-microhei", "uming", "droid")

# Fallback order after the main font.  Droid Sans Fallback has no Latin at all,
# so its digits and ASCII come from DejaVu Sans (as a word processor would do).
_FALLBACKS = {
    "droid": ("dejavu", "wqy-microhei"),
}
_DEFAULT_FALLBACKS = ("wqy-microhei", "dejavu")


def pdf_name(key: str) -> str:
    return "SB-" + key


@lru_cache(maxsize=None)
def register(key: str) -> str:
    """Register the font with reportlab (once per process); return its name."""
    if key not in FONT_FILES:
        raise KeyError(f"unknown font {key!r}; known: {sorted(FONT_FILES)}")
    f = sysdeps.font(key)  # E_MISSING_DEPENDENCY when the package is not installed
    path, index = f.path, f.index
    name = pdf_name(key)
    if index is None:
        font = TTFont(name, path)
    else:
        font = TTFont(name, path, subfontIndex=index)
    pdfmetrics.registerFont(font)
    return name


@lru_cache(maxsize=None)
def _cmap(key: str) -> frozenset[int]:
    register(key)
    font = pdfmetrics.getFont(pdf_name(key))
    return frozenset(font.face.charToGlyph.keys())


def has_glyph(key: str, ch: str) -> bool:
    return ord(ch) in _cmap(key)


def chain(key: str) -> tuple[str, ...]:
    out = [key]
    for k in _FALLBACKS.get(key, _DEFAULT_FALLBACKS):
        if k not in out:
            out.append(k)
    return tuple(out)


class FontSet:
    """A main font with its fallback chain: measuring and splitting into runs."""

    def __init__(self, key: str):
        self.key = key
        self.keys = chain(key)
        self.names = tuple(register(k) for k in self.keys)
        self._font_of: dict[str, str] = {}
        self._width: dict[str, float] = {}
        self.unknown: set[str] = set()   # characters no font of the chain has

    def font_of(self, ch: str) -> str:
        name = self._font_of.get(ch)
        if name is None:
            name = None
            for k, n in zip(self.keys, self.names):
                if has_glyph(k, ch):
                    name = n
                    break
            if name is None:
                name = self.names[0]
                if not ch.isspace() and ch != "\n":
                    self.unknown.add(ch)
            self._font_of[ch] = name
        return name

    def missing(self, text: str) -> list[str]:
        """Characters no font of the chain has (they would print as boxes)."""
        return sorted({ch for ch in text if not ch.isspace()
                       and not any(has_glyph(k, ch) for k in self.keys)})

    def char_width(self, ch: str) -> float:
        """Advance width of ``ch`` at size 1."""
        w = self._width.get(ch)
        if w is None:
            w = pdfmetrics.stringWidth(ch, self.font_of(ch), 1.0)
            self._width[ch] = w
        return w

    def width(self, text: str, size: float) -> float:
        cw = self.char_width
        return sum(cw(ch) for ch in text) * size

    def runs(self, text: str) -> list[tuple[str, str]]:
        """Split ``text`` into (font name, substring) runs."""
        out: list[tuple[str, str]] = []
        cur_name = None
        buf: list[str] = []
        for ch in text:
            n = self.font_of(ch)
            if n != cur_name and buf:
                out.append((cur_name, "".join(buf)))
                buf = []
            cur_name = n
            buf.append(ch)
        if buf:
            out.append((cur_name, "".join(buf)))
        return out


@lru_cache(maxsize=None)
def fontset(key: str) -> FontSet:
    return FontSet(key)
