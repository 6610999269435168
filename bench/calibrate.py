"""Calibrate the image path's confidence: recognizer scores → the probability
that a piece of text is right, measured against the digital originals.

    .venv/bin/python bench/calibrate.py /tmp/cal/scanned /tmp/cal/digital --cache /tmp/cal/.ocr
    .venv/bin/python bench/calibrate.py /tmp/cal/scanned-bitonal /tmp/cal/scanned ... \\
        --digital /tmp/cal/digital --cache /tmp/cal/.ocr --fit

Every scanned page of a sample set has its digital twin (the PDF it was
scanned from, `SET/digital/<name>.pdf`); after orientation and deskew the
image path's page lies on the twin's page within a point or two. Each OCR
piece is compared with the twin's characters inside its box: right when
they are the same text (NFKC, simplified, no white space). The pieces are
grouped the way `settings.Calibration` is (text read once by its weakest
character; numbers whose two reads agreed or disagreed by their support)
and each group's reliability is printed: score bucket, pieces, share right.
With --fit, monotone curves (pool-adjacent-violators) are fitted and
printed as the knots to put in `Calibration`.

Fit on one sample set and check on another (the bench set): a curve
measured on the pages it is judged on proves nothing.
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GROUPS = ("text", "agreed", "disagreed")
DUMP: list | None = None  # --examples: confident text pieces that are wrong
EDGES = (0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 1.0001)


def repair(s: str) -> str:
    from extract.ocr.textfix import repair as _repair

    return _repair(s)


def _norm(s: str) -> str:
    from extract.ocr.textfix import to_simplified

    t = unicodedata.normalize("NFKC", to_simplified(s))
    return "".join(t.split())


# boxes and ticks are read from pixels, never by OCR: not part of a piece's text
MARKS = set("☑☐□■✓✔√▣☒")
# full-width punctuation keeps its ink in a corner of its box
PUNCT = set("。，、；：）》」』”’？！,.;:)")


def twin_chars(pdf: Path) -> list[list[tuple[str, float, float, float, float]]]:
    """Per page: (char, x0, top, x1, bottom) of the digital twin."""
    import pdfplumber

    out = []
    with pdfplumber.open(pdf) as doc:
        for page in doc.pages:
            out.append([(c["text"], c["x0"], c["top"], c["x1"], c["bottom"]) for c in page.chars
                        if c["text"] not in MARKS])
    return out


def expected(chars, bbox, share: float = 0.35) -> str:
    """The twin's text under a piece: characters whose box lies over the
    piece's ink box by at least share of their area (a full-width 。 or ，
    has its ink in one corner of its box)."""
    x0, y0, x1, y1 = bbox
    inside = []
    for t, a, b, c, d in chars:
        ox = max(0.0, min(x1, c) - max(x0, a)) / max(c - a, 1e-6)
        oy = max(0.0, min(y1, d) - max(y0, b)) / max(d - b, 1e-6)
        need = share / 2.5 if t in PUNCT else share
        if ox * oy >= need:
            inside.append(((b + d) / 2, (a + c) / 2, t))
    if not inside:
        return ""
    # one text line: left to right (several: top to bottom first)
    h = max(1.0, (y1 - y0) * 0.5)
    inside.sort(key=lambda c: (round(c[0] / h), c[1]))
    return "".join(t for _, _, t in inside)


def collect(scanned: list[Path], digital: Path, cache: str, ocr: str, threads: int,
            settings=None, numbers: list | None = None, feature: str = "weakest") -> list[tuple[str, float, bool]]:
    """(group, score, right) for every OCR piece of the scanned files; with
    numbers given, (first read right, flagged, kept right) of every piece
    read twice is appended to it."""
    from extract.document import Options, open_document
    from extract.image import page as page_mod

    captured: list = []
    real = page_mod.to_layout

    def capture(read, *args):
        captured.append(read)
        return real(read, *args)

    page_mod.to_layout = capture
    options = Options(ocr_engine=ocr, threads=threads, ocr_cache=cache)
    if settings is not None:
        options.settings = settings
    rows = []
    try:
        for f in scanned:
            twin = digital / f"{f.stem}.pdf"
            if not twin.exists():
                continue
            pages = twin_chars(twin)
            captured.clear()
            doc = open_document(f, options)
            for _ in doc.pages():
                pass
            for read in captured:
                if read.number > len(pages):
                    continue
                chars = pages[read.number - 1]
                ev = read.evidence or [{}] * len(read.fragments)
                for frag, e in zip(read.fragments, ev):
                    if not frag.method.startswith("ocr") or not e:
                        continue
                    want = _norm(expected(chars, frag.bbox))
                    got = _norm("".join(ch for ch in repair(frag.text) if ch not in MARKS))  # as the page holds it
                    if not want and not got:
                        continue
                    group = e.get("agreement") or "text"
                    score = e.get("support") if e.get("support") is not None else e.get(feature, 0.0)
                    rows.append((group, float(score), got == want))
                    if DUMP is not None and group == "text" and score >= 0.99 and got != want:
                        DUMP.append((got, want))
                    if numbers is not None and e.get("agreement"):
                        first = next((r["text"] for r in frag.reads if r["source"] == ocr), frag.text)
                        numbers.append((_norm(first) == want, e["agreement"] == "disagreed", got == want,
                                        got, want, [r["text"] for r in frag.reads]))
    finally:
        page_mod.to_layout = real
    return rows


def table(rows, group: str) -> list[str]:
    sel = [(s, r) for g, s, r in rows if g == group]
    lines = [f"{group}: {len(sel)} pieces, {sum(r for _, r in sel)} right"]
    for lo, hi in zip(EDGES, EDGES[1:]):
        b = [r for s, r in sel if lo <= s < hi]
        if b:
            lines.append(f"  score {lo:4.2f}–{min(hi, 1):4.2f}  {len(b):6d}  right {sum(b) / len(b):.4f}")
    return lines


def _digits(t: str) -> str:
    from extract.image.reading import number_key

    return number_key(t)


def second_read_table(numbers: list) -> list[str]:
    """How the second read of numbers did: first reads it caught (flagged
    when wrong), false alarms (flagged when right), wrong numbers kept
    unflagged, and what the vote kept."""
    n = len(numbers)
    if not n:
        return ["no piece was read twice"]
    wrong1 = [x for x in numbers if not x[0]]
    caught = sum(1 for x in wrong1 if x[1])
    alarms = sum(1 for x in numbers if x[0] and x[1])
    silent = sum(1 for x in numbers if not x[1] and not x[2])
    fixed = sum(1 for x in numbers if not x[0] and x[2])
    return [f"numeric pieces read twice: {n}",
            f"  first read wrong: {len(wrong1)} ({len(wrong1) / n:.2%}); caught by disagreement: {caught}",
            f"  right first reads flagged (false alarms): {alarms} ({alarms / n:.2%})",
            f"  wrong and agreed (silent at this level): {silent}, of which the digits are wrong: "
            f"{sum(1 for x in numbers if not x[1] and not x[2] and _digits(x[3]) != _digits(x[4]))}",
            f"  wrong first reads the vote put right: {fixed}; kept right in all: "
            f"{sum(1 for x in numbers if x[2])} ({sum(1 for x in numbers if x[2]) / n:.2%})"]


def fit(rows, group: str, knots: int = 8) -> tuple[tuple[float, float], ...]:
    """A monotone curve score → share right (pool adjacent violators),
    summarized as knots at quantiles of the scores."""
    import numpy as np

    sel = sorted((s, float(r)) for g, s, r in rows if g == group)
    if len(sel) < 20:
        return ()
    xs = np.array([s for s, _ in sel])
    ys = np.array([r for _, r in sel])
    # pool adjacent violators
    blocks = [[y, 1.0, x, x] for x, y in zip(xs, ys)]  # mean, weight, x lo, x hi
    out: list[list[float]] = []
    for b in blocks:
        out.append(b)
        while len(out) > 1 and out[-2][0] > out[-1][0]:
            m2, w2, lo2, _ = out.pop(-2)
            m1, w1, _, hi1 = out.pop(-1)
            out.append([(m2 * w2 + m1 * w1) / (w1 + w2), w1 + w2, lo2, hi1])
    px = np.array([(b[2] + b[3]) / 2 for b in out])
    py = np.array([b[0] for b in out])
    qs = np.quantile(xs, np.linspace(0, 1, knots))
    pts = [(0.0, 0.0)] + [(round(float(q), 3), round(float(np.interp(q, px, py)), 4)) for q in qs] + [(1.0, None)]
    last = float(py[-1])
    pts[-1] = (1.0, round(last, 4))
    clean: list[tuple[float, float]] = []
    for x, y in pts:
        if clean and x <= clean[-1][0]:
            continue
        y = max(y, clean[-1][1]) if clean else y
        clean.append((x, y))
    return tuple(clean)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scanned", nargs="+", type=Path, help="directories of scans")
    ap.add_argument("--digital", type=Path, help="their digital twins (default: SET/digital beside the first)")
    ap.add_argument("--cache", required=True)
    ap.add_argument("--ocr", default="rapidocr")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--fit", action="store_true")
    ap.add_argument("--feature", choices=("weakest", "score"), default="weakest",
                    help="what a piece read once is calibrated from: its weakest character or its mean")
    ap.add_argument("--examples", type=int, default=0, help="print numbers read wrong that both reads agreed on")
    ap.add_argument("--second-read", choices=("rescale", "tesseract", "off"),
                    help="the second read of numbers to measure (default: the settings')")
    args = ap.parse_args()
    digital = args.digital or args.scanned[0].parent / "digital"
    files = [p for d in args.scanned for p in sorted(d.iterdir())
             if p.suffix.lower() in (".pdf", ".tif", ".tiff")]
    settings = None
    if args.second_read:
        from dataclasses import replace

        from extract.settings import DEFAULT

        settings = replace(DEFAULT, read=replace(DEFAULT.read, second_read=args.second_read))
    numbers: list = []
    global DUMP
    DUMP = [] if args.examples else None
    rows = collect(files, digital, args.cache, args.ocr, args.threads, settings, numbers, args.feature)
    for g in GROUPS:
        sel = [(sc, r) for gg, sc, r in rows if gg == g]
        if sel and args.fit:
            k = fit(rows, g)
            from extract.settings import Calibration

            cal = Calibration(**{g: k}) if k else None
            if cal:
                brier = sum((cal.apply(g, sc) - r) ** 2 for sc, r in sel) / len(sel)
                print(f"{g}: Brier score of the fitted curve {brier:.4f} ({len(sel)} pieces, feature {args.feature})")
    for line in second_read_table(numbers):
        print(line)
    for got, want in (DUMP or [])[:args.examples]:
        print(f"    sure text but wrong: got {got!r} want {want!r}")
    for x in [x for x in numbers if x[0] and x[1]][:args.examples]:
        print(f"    right but flagged: kept {x[3]!r} want {x[4]!r} reads {x[5]}")
    for x in [x for x in numbers if not x[1] and not x[2]][:args.examples]:
        print(f"    agreed but wrong: got {x[3]!r} want {x[4]!r}")
    for g in GROUPS:
        for line in table(rows, g):
            print(line)
    if args.fit:
        print("knots for settings.Calibration:")
        for g in GROUPS:
            k = fit(rows, g)
            if k:
                print(f"    {g}: tuple[tuple[float, float], ...] = {k!r}")


if __name__ == "__main__":
    main()
