"""shenbao against the engines it stands on, on the same pages, in one run.

    .venv/bin/python bench/bench_speed.py --scanned /tmp/mb/scanned --digital /tmp/mb/digital
    .venv/bin/python bench/bench_speed.py --scanned samples/scanned --digital samples/digital --repeat 3

Ratios printed (issue 17), each side a fresh child process with one thread
(onnxruntime, OpenCV, tesseract), so that wall time, CPU time and peak memory
(ru_maxrss) are that side's own:

- scanned: shenbao's whole pipeline (extract_file, no OCR cache) against a bare
  RapidOCR full-page pass (the same bundled models, detection + direction
  classifier + recognition) over the same page images. Both sides get their
  pages from the same loader (extract.document: a scanned PDF page's own image
  at its own resolution, a TIFF frame as stored); the bare side replaces the
  reading of each page by one `RapidOCR()(image)` call, nothing more.
- digital: shenbao's whole pipeline against pdfplumber's own
  `extract_tables()` + `extract_words()` over the same pages.

With --repeat N each side runs N times in turn and the median is taken: the
ratio moves with other work on the machine, the medians less.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EXT = {".pdf", ".tif", ".tiff", ".png", ".jpg", ".jpeg"}


def _files(d: str) -> list[Path]:
    return sorted(p for p in Path(d).iterdir() if p.suffix.lower() in EXT)


# ----------------------------------------------------------------- the sides (in a child process)

def side_shenbao(files: list[Path], threads: int) -> dict:
    from extract.document import Options
    from extract.pipeline import extract_file

    pages = 0
    options = Options(threads=threads)
    for f in files:
        try:
            recs = extract_file(f, options)
            pages += recs[0]["source"]["page_count"]
        except Exception as exc:  # counted, not hidden
            print(f"shenbao: {f.name}: {exc}", file=sys.stderr)
    return {"pages": pages}


def side_rapidocr(files: list[Path], threads: int) -> dict:
    import logging

    import numpy as np
    from rapidocr import RapidOCR

    import extract.document as document
    from extract.layout import PageLayout
    from extract.ocr.rapidocr import _model_dir

    logging.getLogger("RapidOCR").setLevel(logging.ERROR)
    engine = RapidOCR(params={
        "Global.log_level": "error",
        "Global.model_root_dir": str(_model_dir()),
        "Global.use_cls": True,
        "EngineConfig.onnxruntime.intra_op_num_threads": threads,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    })
    boxes = 0

    def bare(image, number, dpi, options, prior_turn=None):
        nonlocal boxes
        arr = image if isinstance(image, np.ndarray) else np.asarray(image.convert("RGB"))
        out = engine(arr)
        boxes += len(out.txts or ())
        h, w = arr.shape[:2]
        return PageLayout(number, "image", w * 72 / dpi, h * 72 / dpi, dpi=dpi), True

    document._ocr = bare  # the page loader stays shenbao's own: same images on both sides
    pages = 0
    for f in files:
        doc = document.open_document(f, document.Options(threads=threads))
        pages += sum(1 for _ in doc.pages())
    return {"pages": pages, "boxes": boxes}


def side_pdfplumber(files: list[Path], threads: int) -> dict:
    import pdfplumber

    pages = words = tables = 0
    for f in files:
        with pdfplumber.open(f) as pdf:
            for page in pdf.pages:
                tables += len(page.extract_tables())
                words += len(page.extract_words())
                pages += 1
                page.close()
    return {"pages": pages, "words": words, "tables": tables}


SIDES = {"shenbao": side_shenbao, "rapidocr": side_rapidocr, "pdfplumber": side_pdfplumber}


def child(side: str, files: list[str], threads: int) -> None:
    if threads:
        import cv2

        cv2.setNumThreads(threads)
    w0, c0 = time.perf_counter(), time.process_time()
    res = SIDES[side]([Path(f) for f in files], threads)
    res["wall"] = time.perf_counter() - w0
    res["cpu"] = time.process_time() - c0
    res["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(res))


# ----------------------------------------------------------------- the parent

def run(side: str, files: list[Path], threads: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads or ""), OMP_THREAD_LIMIT=str(threads or ""))
    cmd = [sys.executable, __file__, "--child", side, "--threads", str(threads), *map(str, files)]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode:
        sys.exit(f"{side} failed:\n{p.stderr[-2000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def compare(title: str, ours: str, theirs: str, files: list[Path], threads: int, repeat: int) -> None:
    runs: dict[str, list[dict]] = {ours: [], theirs: []}
    for _ in range(repeat):
        for side in (theirs, ours):
            runs[side].append(run(side, files, threads))
    med = {s: {k: statistics.median(r[k] for r in rs) for k in ("wall", "cpu", "peak_mb")} | {"pages": rs[0]["pages"]}
           for s, rs in runs.items()}
    print(f"\n{title}: {len(files)} files, {med[ours]['pages']} pages, {threads or 'all'} thread(s), "
          f"median of {repeat}")
    print(f"{'':12} {'s/page wall':>12} {'s/page CPU':>11} {'peak MB':>8}")
    for s in (ours, theirs):
        m = med[s]
        print(f"{s:12} {m['wall'] / m['pages']:12.3f} {m['cpu'] / m['pages']:11.3f} {m['peak_mb']:8.0f}")
    print(f"ratio {ours}/{theirs}: wall {med[ours]['wall'] / med[theirs]['wall']:.2f}, "
          f"CPU {med[ours]['cpu'] / med[theirs]['cpu']:.2f}")
    if med[ours]["pages"] != med[theirs]["pages"]:
        print(f"  (pages differ: {med[ours]['pages']} against {med[theirs]['pages']})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scanned", help="folder of scanned declarations")
    ap.add_argument("--digital", help="folder of digital (text-layer) declarations")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("files", nargs="*", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        return child(a.child, a.files, a.threads)
    if not (a.scanned or a.digital):
        ap.error("give --scanned DIR and/or --digital DIR")
    if a.scanned:
        compare("scanned: shenbao against a bare RapidOCR full-page pass", "shenbao", "rapidocr",
                _files(a.scanned), a.threads, a.repeat)
    if a.digital:
        compare("digital: shenbao against pdfplumber extract_tables + extract_words", "shenbao", "pdfplumber",
                [p for p in _files(a.digital) if p.suffix.lower() == ".pdf"], a.threads, a.repeat)


if __name__ == "__main__":
    main()
