"""Printed values → record values.

Pure functions (no I/O, standard library + rapidfuzz) that read one printed
value the way the forms write it (see form-variants.md) and return what the
record stores (see record-spec.md): amounts in 元, ISO dates, checkbox states,
free text without layout whitespace, labels for comparison.

Conventions shared by all parsers:

* Full-width forms are read as their ASCII equivalents (Unicode NFKC), but free
  text returned to the record keeps its characters as printed.
* A parser returns ``None`` when the text is not clearly a value of its kind
  (placeholders such as ``--``/``无``/``/``, stray letters, impossible dates):
  it never raises on arbitrary text and never guesses.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from rapidfuzz import fuzz

# Checkbox glyphs (keep in sync with extract.layout.CHECKED_GLYPHS / UNCHECKED_GLYPHS).
CHECKED_GLYPHS = "☑☒■✓✔√▣"
UNCHECKED_GLYPHS = "☐□"
_MARK_CHARS = CHECKED_GLYPHS + UNCHECKED_GLYPHS

YEAR_MIN, YEAR_MAX = 1990, 2100  # plausible years for bare years and Excel serials
_EXCEL_EPOCH = date(1899, 12, 30)
_MAX_INT_DIGITS = 15  # longer "amounts" are not amounts (and would lose float precision)

_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def to_halfwidth_digits(text: str | None) -> str:
    """Replace full-width digits ０-９ with ASCII digits; nothing else changes."""
    return (text or "").translate(_FULLWIDTH_DIGITS)


# --------------------------------------------------------------------------- numbers

# An ASCII number with optional thousands separators (strictly groups of three).
_NUMBER = r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?"
_NUMBER_RE = re.compile(_NUMBER)
_AMOUNT_RE = re.compile(rf"(?P<num>{_NUMBER})(?P<unit>亿元|亿|万元|万|千元|元)?")
_UNIT_FACTORS = {"亿元": 100_000_000, "亿": 100_000_000, "万元": 10_000, "万": 10_000,
                 "千元": 1_000, "元": 1}


def _prepare_number(text: str) -> tuple[str, bool]:
    """NFKC, spaces between digit groups read as thousands separators, other
    whitespace dropped, sign taken off. Returns (rest, negative)."""
    s = _nfkc(text).strip()
    s = re.sub(r"(?<=[0-9])\s+(?=[0-9])", ",", s)
    s = re.sub(r"\s+", "", s)
    negative = False
    if len(s) > 2 and s[0] == "(" and s[-1] == ")":  # accounting style (1,000)
        s, negative = s[1:-1], True
    s = re.sub(r"^(?:¥|人民币|RMB)", "", s)
    if s[:1] in ("-", "−"):
        s, negative = s[1:], not negative
    s = re.sub(r"^(?:¥|人民币|RMB)", "", s)
    return s, negative


def _to_decimal(num: str) -> Decimal | None:
    digits = num.replace(",", "")
    if len(digits.split(".")[0]) > _MAX_INT_DIGITS:
        return None
    return Decimal(digits)


def parse_number(text: str | None) -> float | None:
    """A printed quantity or unit price (``30.00``, ``1``, ``2,500``, full-width
    digits, ``-3``) as a float, without any unit conversion; ``None`` if the
    text is not just a number."""
    if not text:
        return None
    s, negative = _prepare_number(text)
    if not _NUMBER_RE.fullmatch(s):
        return None
    value = _to_decimal(s)
    if value is None:
        return None
    return float(-value if negative else value) + 0.0


def _unit_factor(unit: str | None) -> int:
    u = _nfkc(unit or "")
    for key, factor in (("亿", 100_000_000), ("万", 10_000), ("千", 1_000)):
        if key in u:
            return factor
    return 1


def parse_amount(text: str | None, unit: str | None = "元") -> float | None:
    """A printed amount → number in 元, rounded to 2 decimals.

    ``unit`` is the form's printed 金额单位 (``"元"``/``"万元"``); it applies to
    bare numbers only: a unit written in the text itself (``38.42万元``,
    ``250万``, ``1.2亿元``, ``384200元``) wins over the form's unit. Accepts
    thousands separators (``,`` or spaces), full-width characters, a ``¥``
    prefix, ``元整`` suffix, negatives as ``-1,000`` or ``(1,000)``, and
    capital numerals (``叁拾捌万肆仟贰佰元整``, ``壹佰元伍角``, ``零元``), which
    always denote 元 and must name 元/角/分. Placeholders (``--``, ``无``,
    ``/``) and anything else that is not exactly an amount → ``None``.
    """
    if not text:
        return None
    s, negative = _prepare_number(text)
    s = re.sub(r"[整正]$", "", s)
    if not s:
        return None
    if re.search(r"[0-9]", s):
        m = _AMOUNT_RE.fullmatch(s)
        if not m:
            return None
        value = _to_decimal(m["num"])
        if value is None:
            return None
        factor = _UNIT_FACTORS[m["unit"]] if m["unit"] else _unit_factor(unit)
        value *= factor
    else:
        value = _parse_capital_amount(s)
        if value is None:
            return None
    value = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return float(-value if negative else value) + 0.0  # + 0.0 turns -0.0 into 0.0


_CN_DIGITS = {"零": 0, "〇": 0, "壹": 1, "贰": 2, "貳": 2, "叁": 3, "參": 3, "肆": 4,
              "伍": 5, "陆": 6, "陸": 6, "柒": 7, "捌": 8, "玖": 9, "一": 1, "二": 2,
              "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_SMALL = {"拾": 10, "十": 10, "佰": 100, "百": 100, "仟": 1000, "千": 1000}
_CN_BIG = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000}


def _cn_integer(s: str) -> int | None:
    """Chinese numerals (capital or ordinary) → int; None if malformed."""
    total = 0      # finished 亿 groups
    section = 0    # finished 万 group below 亿
    current = 0    # below 万
    number: int | None = None
    seen_digit = False
    for ch in s:
        if ch in _CN_DIGITS:
            if number:  # two non-zero digits in a row (叁肆) is not a numeral
                return None
            number, seen_digit = _CN_DIGITS[ch], True
        elif ch in _CN_SMALL:
            if number is None and ch not in "拾十":
                return None
            current += (1 if number is None else number) * _CN_SMALL[ch]
            number, seen_digit = None, True
        elif ch in _CN_BIG:
            group = current + (number or 0)
            if _CN_BIG[ch] == 10_000:
                section += group * 10_000
            else:
                total += (section + group) * 100_000_000
                section = 0
            current, number = 0, None
        else:
            return None
    if not seen_digit:
        return None
    return total + section + current + (number or 0)


def _parse_capital_amount(s: str) -> Decimal | None:
    """``叁拾捌万肆仟贰佰元``, ``壹佰元伍角``, ``零元``, ``伍角``: requires 元/圆 or 角/分."""
    m = re.fullmatch(r"(?:(?P<int>[^元圆]*)[元圆])?(?P<frac>[^元圆]*)", s)
    if not m or not (m["int"] or re.search("[角分]", m["frac"])):
        return None
    value = Decimal(0)
    if m["int"]:
        n = _cn_integer(m["int"])
        if n is None:
            return None
        value += n
    pending: int | None = None
    for ch in m["frac"]:
        if ch in _CN_DIGITS:
            pending = _CN_DIGITS[ch]
        elif ch in "角分" and pending is not None:
            value += Decimal(pending) / (10 if ch == "角" else 100)
            pending = None
        else:
            return None
    if pending:  # a digit with no 角/分 after it
        return None
    return value


def parse_amount_unit(text: str | None) -> str | None:
    """``金额单位：元``, ``单位：万元``, ``(万元)``, ``万元`` → ``"元"``/``"万元"``."""
    if not text:
        return None
    s = re.sub(r"\s+", "", _nfkc(text))
    if s in ("元", "万元"):
        return s
    return label_unit(s)


def label_unit(text: str | None) -> str | None:
    """The unit a label carries, in brackets or after 单位:
    ``项目资金申请(万元)`` → ``"万元"``, ``项目资金（元）`` → ``"元"``; else None."""
    if not text:
        return None
    s = re.sub(r"\s+", "", _nfkc(text))
    m = (re.search(r"单位:?(万元|万|元)", s)
         or re.search(r"\((?:金额)?(?:单位:?)?(万元|元)\)", s))
    if not m:
        return None
    return "元" if m.group(1) == "元" else "万元"


# ----------------------------------------------------------------------------- dates

_YMD_RE = re.compile(r"([0-9]{4})([-./])([0-9]{1,2})\2([0-9]{1,2})")
_YMD_CN_RE = re.compile(r"([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})[日号]?")
_YMD_COMPACT_RE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_YM_RE = re.compile(r"([0-9]{4})(?:[-./]([0-9]{1,2})|年([0-9]{1,2})月?)")
_Y_RE = re.compile(r"([0-9]{4})(?:年度?)?")
_SERIAL_RE = re.compile(r"([0-9]{2}),?([0-9]{3})(?:\.0+)?")
_TIME_RE = re.compile(r"(?:T|\s+)[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?$")
_RANGE_SEP_RE = re.compile(r"至|到|~|〜|—+|–|―|-+")


def _prepare_date(text: str) -> str:
    s = _nfkc(text).strip()
    s = _TIME_RE.sub("", s)
    s = re.sub(r"\s+", "", s)
    return s.strip("()[]【】")


def _iso(y: str, m: str, d: str) -> str | None:
    try:
        return date(int(y), int(m), int(d)).isoformat()
    except ValueError:
        return None


def _parse_single_date(s: str, role: str) -> str | None:
    """One date in a prepared string (see parse_date)."""
    for rx in (_YMD_RE, _YMD_CN_RE):
        m = rx.fullmatch(s)
        if m:
            g = m.groups()
            return _iso(g[0], g[-2], g[-1])
    m = _YMD_COMPACT_RE.fullmatch(s)
    if m:
        return _iso(*m.groups())
    m = _YM_RE.fullmatch(s)
    if m:
        month = int(m[2] or m[3])
        return f"{m[1]}-{month:02d}" if 1 <= month <= 12 else None
    m = _Y_RE.fullmatch(s)
    if m:
        year = int(m[1])
        if not YEAR_MIN <= year <= YEAR_MAX:
            return None
        return f"{year}-01-01" if role == "start" else f"{year}-12-31"
    m = _SERIAL_RE.fullmatch(s)
    if m:
        d = _EXCEL_EPOCH + timedelta(days=int(m[1] + m[2]))
        return d.isoformat() if YEAR_MIN <= d.year <= YEAR_MAX else None
    return None


def parse_date(text: str | None, role: str = "start") -> str | None:
    """A printed date → ``YYYY-MM-DD``, or ``YYYY-MM`` when only a month is printed.

    Reads ``2020-01-01``, ``2020-1-1``, ``2020.1.1``, ``2020/1/1``,
    ``2020年1月1日``, ``20200101``, ``2020年01月``, ``2020.07``, Excel serials
    (``44561``/``44,561``, only if they fall in 1990–2100) and a trailing time.
    A bare year (``2020``, ``2020年``, ``2020年度``, 1990–2100) stands for the
    whole year: ``role="start"`` gives ``YYYY-01-01``, ``role="end"`` gives
    ``YYYY-12-31``. If the text is a range (``2023.07-2024.01``), the role picks
    its start or end. Invalid dates (month 13, 2月30日) → None.
    """
    if role not in ("start", "end"):
        raise ValueError(f"role must be 'start' or 'end', not {role!r}")
    if not text:
        return None
    s = _prepare_date(text)
    single = _parse_single_date(s, role)
    if single is not None or not s:
        return single
    start, end = _split_range(s)
    return start if role == "start" else end


def parse_date_range(text: str | None) -> tuple[str | None, str | None]:
    """A period printed in one string → (start, end), each as parse_date gives.

    Separators: 至, 到, ``~``/``～``, dashes (``2023.07-2024.01``,
    ``2020-01-01～2020-12-31``, ``2020年1月1日至2020年12月31日``,
    ``2024年-2026年`` → 2024-01-01, 2026-12-31). An end without a year
    (``2020年1月1日至12月31日``) takes the start's year. A single bare year is
    the whole year (``2021年度`` → 2021-01-01, 2021-12-31); any other single date
    is only a start: (date, None). Nothing readable → (None, None).
    """
    if not text:
        return None, None
    s = _prepare_date(text)
    if _Y_RE.fullmatch(s):
        return _parse_single_date(s, "start"), _parse_single_date(s, "end")
    single = _parse_single_date(s, "start")
    if single is not None:
        return single, None
    return _split_range(s)


def _split_range(s: str) -> tuple[str | None, str | None]:
    """Try every separator position; the first split where both sides are dates wins."""
    for m in _RANGE_SEP_RE.finditer(s):
        left, right = s[:m.start()], s[m.end():]
        start = _parse_single_date(left, "start")
        if start is None:
            continue
        end = _parse_single_date(right, "end")
        if end is None and not re.match(r"[0-9]{4}", right):
            sep = re.search(r"[-./月]", right)
            if sep:
                glue = "年" if sep.group() == "月" else sep.group()
                end = _parse_single_date(start[:4] + glue + right, "end")
        if end is not None:
            return start, end
    return None, None


def parse_year(text: str | None) -> int | None:
    """The form's year: ``(2020年)``, ``（2020年度）``, ``2020年``,
    ``财政项目支出绩效目标申报表（2026年度）`` → 2020 / 2026. A year followed
    by 年 is preferred, else any standalone 4-digit number; 1990–2100 only."""
    if not text:
        return None
    s = _nfkc(text)
    for rx in (r"(?<![0-9])([0-9]{4})\s*年", r"(?<![0-9])([0-9]{4})(?![0-9])"):
        for m in re.finditer(rx, s):
            if YEAR_MIN <= int(m[1]) <= YEAR_MAX:
                return int(m[1])
    return None


# ------------------------------------------------------------------------ checkboxes

_HTML_BOX_RE = re.compile(r"<input\b[^>]*>", re.I)
_BRACKET_BOX_RE = re.compile(r"[\[【(]\s*([xX√✓✔☑■]?)\s*[\]】)]")


# A box or tick drawn with a symbol font (Wingdings, Wingdings 2) reaches the
# text layer as the letter the font maps it to: þ ý ü (Wingdings ☑ ☒ ✓),
# R T P (Wingdings 2 ☑ ☒ ✓), ¨ o £ (the empty boxes). Read as marks only
# where they stand alone between Chinese text, spaces and other marks.
_FONT_TICKS, _FONT_BOXES = "þýüRTP", "¨£"
_FONT_MARK_RE = re.compile(
    rf"(?:(?<=^)|(?<=[\s\u3400-\u9fff☐□☑■√]))([{_FONT_TICKS}{_FONT_BOXES}])(?=$|[\s\u3400-\u9fff☐□☑■√])")


def _font_marks(s: str) -> str:
    return _FONT_MARK_RE.sub(lambda m: "☐" if m.group(1) in _FONT_BOXES else "☑", s)


def _canonical_marks(text: str) -> str:
    """NFKC; HTML ``<input type="checkbox">`` and bracket boxes (``[x]``, ``[ ]``,
    ``(√)``, ``()``) → the glyphs ☑ / ☐; ticks and boxes of symbol fonts
    (``新增项目£ 延续项目R``, ``þ``) likewise."""
    s = _nfkc(_font_marks(text))  # before NFKC, which turns ¨ into a space and a combining mark
    s = _HTML_BOX_RE.sub(lambda m: "☑" if re.search(r"\bchecked\b", m.group(), re.I)
                         else "☐", s)
    return _BRACKET_BOX_RE.sub(lambda m: "☑" if m.group(1) else "☐", s)


def checkbox_state(glyph: str | None) -> bool | None:
    """``☑ ☒ ■ ✓ ✔ √ ▣ [x] [X] [√] (√)`` → True; ``□ ☐ [ ] ()`` → False; else None."""
    if not glyph:
        return None
    s = _canonical_marks(glyph).strip()
    if len(s) != 1:
        return None
    if s in CHECKED_GLYPHS:
        return True
    if s in UNCHECKED_GLYPHS:
        return False
    return None


def parse_options(text: str | None, options: list[str],
                  min_score: float = 70) -> dict[str, bool | None]:
    """State of each option in a printed option list.

    ``□一次性项目 ☑经常性项目``, ``一次性项目□ 经常性项目☑``, ``[ ] 一次性 [x] 经常性``,
    ``新增项目□ 延续项目√``, ``√一次性项目``, ``一次性项目 经常性项目√``.

    Options are located with rapidfuzz (whitespace ignored, so OCR-noisy or
    broken names still match; ``min_score`` 0–100). Best matches, then longer
    names, are placed first and their text is then taken, so one option cannot
    claim another's text. Which side a mark belongs to follows the
    text's own convention: if the first mark comes before the first located
    option (the text starts with a box), every mark belongs to the nearest
    option after it; otherwise to the nearest option before it. An option found
    in the text without a checked mark is False; an option not found is None.
    """
    states: dict[str, bool | None] = {o: None for o in options}
    if not text:
        return states
    # The text without whitespace and marks; marks remembered at their position.
    compact: list[str] = []
    marks: list[tuple[int, bool]] = []
    for ch in _canonical_marks(text):
        if ch in _MARK_CHARS:
            marks.append((len(compact), ch in CHECKED_GLYPHS))
        elif not ch.isspace():
            compact.append(ch)
    work = "".join(compact)

    keys = {o: "".join(c for c in _nfkc(o) if not c.isspace() and c not in _MARK_CHARS)
            for o in options}
    spans: dict[str, tuple[int, int]] = {}
    pending = [o for o in dict.fromkeys(options) if keys[o]]
    while pending:
        best = None
        for o in pending:
            al = fuzz.partial_ratio_alignment(keys[o], work)
            # re-score the matched window as a whole: a short text must not
            # "contain" a long option it only partly overlaps
            score = fuzz.ratio(keys[o], work[al.dest_start:al.dest_end])
            # on equal scores the longer option goes first (其他一次性项目 before 一次性项目)
            rank = (score, len(keys[o]))
            if best is None or rank > best[0]:
                best = (rank, o, al.dest_start, al.dest_end)
        (score, _), o, start, end = best
        if score < min_score or end <= start:
            break
        spans[o] = (start, end)
        work = work[:start] + "\0" * (end - start) + work[end:]
        pending.remove(o)

    for o in spans:
        states[o] = False
    if not spans or not marks:
        return states
    centre = {o: (a + b) / 2 for o, (a, b) in spans.items()}
    marks_precede = marks[0][0] <= min(a for a, _ in spans.values())
    for pos, checked in marks:
        if marks_precede:
            after = [o for o in spans if centre[o] > pos]
            owner = min(after, key=centre.get) if after else None
        else:
            before = [o for o in spans if centre[o] < pos]
            owner = max(before, key=centre.get) if before else None
        if owner is not None and checked:
            states[owner] = True
    return states


def has_marks(text: str | None) -> bool:
    """The text holds box or tick marks (an option list)."""
    return any(ch in _MARK_CHARS for ch in _canonical_marks(text or ""))


def ticked_words(text: str | None, options: list[str] | None = None) -> str | None:
    """The ticked option of a printed option list, as printed: with the
    options known (`parse_options`), else the words the marks stand beside
    (`是□ 否☑` → 否, `☑新增项目 □延续项目` → 新增项目). None unless exactly one
    option is ticked."""
    if options:
        return checked_option(text, options)
    s = _canonical_marks(text or "")
    parts = [p for p in re.split(f"([{_MARK_CHARS}])", s) if p.strip()]
    marks = [i for i, p in enumerate(parts) if p in _MARK_CHARS]
    if not marks:
        return None
    words = [i for i, p in enumerate(parts) if p not in _MARK_CHARS]
    # the text's own convention: a mark before the first word, or after each word
    before = marks[0] < (words[0] if words else 0)
    ticked = []
    for i in marks:
        if parts[i] not in CHECKED_GLYPHS:
            continue
        j = i + 1 if before else i - 1
        if 0 <= j < len(parts) and parts[j] not in _MARK_CHARS:
            ticked.append(parts[j].strip())
    return ticked[0] if len(ticked) == 1 else None


def checked_option(text: str | None, options: list[str]) -> str | None:
    """The one ticked option of an option list; None if none or several are ticked."""
    ticked = [o for o, s in parse_options(text, options).items() if s]
    return ticked[0] if len(ticked) == 1 else None


def stage_ticked(text: str | None) -> bool | None:
    """A 保障阶段 cell: ``实施阶段√``, ``立项和计划阶段 √``, ``☑收尾和完成阶段``,
    ``√`` → True; ``□实施阶段`` or the stage name without a mark → False;
    an empty cell → None. A checked mark wins over an unchecked one."""
    if not text or not text.strip():
        return None
    s = _canonical_marks(text)
    if any(c in CHECKED_GLYPHS for c in s):
        return True
    return False


# ------------------------------------------------------------------------------ text


def _is_wide(ch: str) -> bool:
    """CJK characters and full-width/CJK punctuation (East Asian width W, F, A)."""
    return unicodedata.east_asian_width(ch) in ("W", "F", "A")


def _join_words(s: str) -> str:
    s = s.strip()

    def gap(m: re.Match) -> str:
        before, after = s[m.start() - 1], s[m.end()]
        return "" if _is_wide(before) or _is_wide(after) else " "

    return re.sub(r"\s+", gap, s)


def clean_text(text: str | None, keep_newlines: bool = False) -> str:
    """Free text as printed, minus the whitespace the layout inserted.

    A run of whitespace is removed when a CJK character or full-width/CJK
    punctuation is on either side (``2020 年`` → ``2020年``, wrapped lines of
    Chinese join without a space), and becomes one space between two
    Latin/digit words (``ISO  9001`` → ``ISO 9001``). With ``keep_newlines``,
    line breaks are kept as paragraph separators (blank lines collapse, each
    line stripped). The characters themselves are never changed.
    """
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not keep_newlines:
        return _join_words(text)
    lines = (_join_words(line) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


_CN_ORDINAL = "一二三四五六七八九十"
_DIGIT = "0-9０-９"
_ENUM = (rf"(?:[(（]\s*(?:[{_CN_ORDINAL}]+|[{_DIGIT}]+)\s*[)）]"
         rf"|(?:[{_CN_ORDINAL}]+|[{_DIGIT}]+|[Ⅰ-Ⅻ]+)\s*[、.．](?![{_DIGIT}])"
         rf"|[{_DIGIT}]+\s*[)）]"
         r"|[①-⑳⑴-⒇])")
_ENUM_RE = re.compile(rf"^\s*(?:{_ENUM}|其中\s*[:：]?)\s*")


def strip_enumeration(text: str | None) -> str:
    """Remove leading numbering: ``一、`` ``(一)`` ``（二）`` ``1.`` ``1、`` ``2．``
    ``(3)`` ``①`` ``其中：`` (repeatedly, so ``其中：1.`` goes too). ``1.5万元``
    is not numbering."""
    s = text or ""
    while True:
        stripped = _ENUM_RE.sub("", s, count=1)
        if stripped == s:
            return s
        s = stripped


def strip_label(text: str | None, labels: list[str]) -> str:
    """Remove a leading printed label and its colon: with labels ``["依据"]``,
    ``依据：《关于…》``, ``依据 ：…``, ``1、依据:…``, ``(一)依据：…`` → ``《关于…》``.

    The colon is required, so text that merely starts with the word
    (``依据国家规定…``) is returned unchanged, as is text without the label.
    Spaces inside the printed label are tolerated; longer labels are tried first.
    """
    if not text:
        return text or ""
    for label in sorted((lb for lb in labels if lb and lb.strip()), key=len, reverse=True):
        pattern = r"\s*".join(re.escape(c) for c in label if not c.isspace())
        m = re.match(rf"\s*(?:{_ENUM}\s*)?{pattern}\s*[:：]\s*", text)
        if m:
            return text[m.end():]
    return text


_LABEL_NOTE_RE = re.compile(r"\([^()]*(?:盖章|签章|签字|万元|元)[^()]*\)")


@lru_cache(maxsize=65536)
def _normalize_label(text: str) -> str:
    s = re.sub(r"\s+", "", text)
    s = strip_enumeration(s)  # before NFKC, which turns ① into a bare 1
    s = re.sub(r"\s+", "", _nfkc(s))
    s = strip_enumeration(s)
    s = _LABEL_NOTE_RE.sub("", s)
    return s.replace(":", "")


def normalize_label(text: str | None) -> str:
    """A printed label in the form used to compare labels: whitespace, leading
    numbering, colons and bracketed unit/seal notes removed, NFKC.
    ``(一) 财政拨款：`` → ``财政拨款``; ``填报单位（盖章）`` → ``填报单位``;
    ``项目资金申请(万元)`` → ``项目资金申请`` (see label_unit for the unit)."""
    return _normalize_label(text or "")


def _snap_key(s: str) -> str:
    return re.sub(r"\s+", "", _nfkc(s))


def snap(text: str | None, choices: list[str],
         min_score: float = 70) -> tuple[str | None, float]:
    """The allowed value nearest to ``text`` (rapidfuzz ratio after NFKC and
    whitespace removal) and its score as a confidence in 0–1. Below
    ``min_score`` (0–100) the value is None and the confidence is the best score."""
    if not text or not choices:
        return None, 0.0
    key = _snap_key(text)
    best, best_score = None, -1.0
    for choice in choices:
        score = fuzz.ratio(key, _snap_key(choice))
        if score > best_score:
            best, best_score = choice, score
    if best_score < min_score:
        return None, round(max(best_score, 0.0) / 100, 4)
    return best, round(best_score / 100, 4)


def parse_phone(text: str | None) -> str | None:
    """A phone number keeping digits and ``-``: ``021-54145530`` stays,
    ``5414 5530`` → ``54145530``, full-width digits → ASCII, ``(021)5414`` →
    ``021-5414``, ``转`` (extension) → ``-``. Several numbers separated by
    ``/ , ; 、`` or 或 are joined with ``/``. None without at least 3 digits."""
    if not text:
        return None
    s = _nfkc(text)
    s = re.sub(r"\(\s*([0-9]+)\s*\)", r"\1-", s).replace("转", "-")
    numbers = []
    for part in re.split(r"[/,;、|]|或", s):
        p = re.sub(r"-{2,}", "-", re.sub(r"[^0-9-]", "", part)).strip("-")
        if sum(c.isdigit() for c in p) >= 3:
            numbers.append(p)
    return "/".join(numbers) or None
