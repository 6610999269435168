"""How well the image path finds table cells, against the digital twins.

    .venv/bin/python bench/grid_check.py /tmp/bench/scanned-bitonal --digital /tmp/bench/digital

Every scanned page of a sample set has its digital twin; the twin's cells
(pdfplumber's table finder, as the text-layer path uses it) are the truth.
Each page is prepared (orientation, deskew, contrast) and its grid found
exactly as the image path does it — no text recognition beyond what the
orientation needs — and every twin cell is looked for among the found ones
(intersection over union ≥ 0.7). Prints, per file and in all: twin cells,
cells found, share matched, cells split or merged. Fast enough to run after
every change to extract/image/grid.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def iou(a, b) -> float:
    x0, y0, x1, y1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / ua if ua > 0 else 0.0


def twin_cells(pdf: Path) -> list[list[tuple]]:
    import pdfplumber

    from extract.textlayer import TABLE_SETTINGS

    out = []
    with pdfplumber.open(pdf) as doc:
        for page in doc.pages:
            out.append([tuple(c) for t in page.find_tables(TABLE_SETTINGS) for c in t.cells])
    return out


def scanned_pages(path: Path, native: bool = True):
    """(number, image, dpi) of every page, as document.py hands them to the image path."""
    from extract.document import Options, _image_dpi, _PdfRenderer

    if path.suffix.lower() == ".pdf":
        import pypdfium2 as pdfium

        n = len(pdfium.PdfDocument(str(path)))
        r = _PdfRenderer(path, None)
        try:
            for i in range(1, n + 1):
                nat = r.native(i, 10 ** 9) if native else None
                yield (i, *nat) if nat else (i, *r.render(i, Options().ocr_dpi, 10 ** 9))
        finally:
            r.close()
    else:
        from PIL import Image

        with Image.open(path) as im:
            for i in range(getattr(im, "n_frames", 1)):
                im.seek(i)
                yield i + 1, im.copy(), _image_dpi(im)


def check(path: Path, twin: Path, settings, native: bool = True) -> tuple[int, int, int]:
    from extract.image import grid as gridmod
    from extract.image.page import prepare
    from extract.ocr.base import get_engine
    from extract.settings import EngineOptions

    eng = get_engine("rapidocr", EngineOptions(threads=1))
    truth = twin_cells(twin)
    want = found = matched = 0
    for number, image, dpi in scanned_pages(path, native):
        if number > len(truth):
            break
        prep = prepare(image, dpi, eng, settings)
        g = gridmod.find_grid(prep.gray, dpi, ink=prep.ink, settings=settings.grid)
        s = 72.0 / dpi
        cells = [tuple(v * s for v in c) for c in g.cells]
        want += len(truth[number - 1])
        found += len(cells)
        matched += sum(1 for t in truth[number - 1] if any(iou(t, c) >= 0.7 for c in cells))
    return want, found, matched


def main() -> None:
    from extract.settings import DEFAULT

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scanned", type=Path)
    ap.add_argument("--digital", type=Path, help="the twins (default: SET/digital)")
    ap.add_argument("--render", action="store_true", help="render PDF pages at ocr_dpi instead of their scan's own pixels")
    args = ap.parse_args()
    digital = args.digital or args.scanned.parent / "digital"
    tw = tf = tm = 0
    for f in sorted(p for p in args.scanned.iterdir() if p.suffix.lower() in (".pdf", ".tif", ".tiff")):
        w, fo, m = check(f, digital / f"{f.stem}.pdf", DEFAULT, not args.render)
        tw, tf, tm = tw + w, tf + fo, tm + m
        print(f"{f.name:55} twin cells {w:4d}  found {fo:4d}  matched {m / max(w, 1):.3f}")
    print(f"all: twin cells {tw}, found {tf}, matched {tm} ({tm / max(tw, 1):.4f})")


if __name__ == "__main__":
    main()
