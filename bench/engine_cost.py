"""What the OCR engine's two networks cost by input shape, one thread: time per
recognition crop by batch size and crop width, and the working memory of a
recognition batch and of a detection input (each in a fresh child process, so
that its peak is its own).

    .venv/bin/python bench/engine_cost.py

Issue 17: the figures behind the recognizer's batch width (BATCH_WIDTH) and the
detector's bands (DET_BAND_PIXELS) in extract/ocr/rapidocr.py.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _engine():
    from extract.ocr.rapidocr import RapidOcrEngine
    from extract.settings import EngineOptions

    return RapidOcrEngine(EngineOptions(threads=1))


def child(kind: str, a: int, b: int) -> None:
    import numpy as np

    import extract.ocr.rapidocr as R

    R.MAX_BATCH, R.BATCH_WIDTH, R.DET_BAND_PIXELS = 10**6, 10**9, 10**12  # measure the network as given
    e = _engine()
    rng = np.random.default_rng(0)
    if kind == "rec":  # warm the one network measured, on a tiny input
        e.recognize([np.full((48, 60), 255, np.uint8)])
    else:
        e._detect_one(np.full((64, 64), 255, np.uint8), enlarge=False)
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/statm") as f:  # resident now (ru_maxrss holds the models' load)
        base = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    t = time.perf_counter()
    if kind == "rec":  # a batch of a crops a px wide
        e.recognize([rng.integers(0, 255, (48, b), dtype=np.uint8) for _ in range(a)])
    else:  # a detection input of a × b px
        img = rng.integers(200, 255, (a, b), dtype=np.uint8)
        e._detect_one(img, enlarge=False)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": time.perf_counter() - t, "added_mb": max(0.0, peak - base)}))


def run(kind: str, a: int, b: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    p = subprocess.run([sys.executable, __file__, "--child", kind, str(a), str(b)],
                       capture_output=True, text=True, env=env)
    if p.returncode:
        sys.exit(p.stderr[-2000:])
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    import numpy as np

    import extract.ocr.rapidocr as R

    e = _engine()
    rng = np.random.default_rng(0)
    sizes = (1, 2, 4, 8, 16)
    print("recognition, ms per crop of 48 × W px (16 crops), by batch size")
    print(f"{'W':>6}" + "".join(f"{n:>8}" for n in sizes))
    for w in (48, 100, 300, 2000):
        crops = [rng.integers(0, 255, (48, w), dtype=np.uint8) for _ in range(16)]
        row = []
        for n in sizes:
            R.MAX_BATCH, R.BATCH_WIDTH = n, 10**9
            e.recognize(crops[:2])
            t = time.perf_counter()
            e.recognize(crops)
            row.append((time.perf_counter() - t) * 1000 / 16)
        print(f"{w:>6}" + "".join(f"{x:8.1f}" for x in row))
    print("working memory added by one call (fresh process each)")
    for n, w in ((8, 300), (8, 1000), (8, 2000), (1, 2000)):
        r = run("rec", n, w)
        print(f"  recognition {n} × {w} px: +{r['added_mb']:.0f} MB, {r['seconds']:.2f} s")
    for h, w in ((1280, 896), (640, 896), (448, 896)):
        r = run("det", h, w)
        print(f"  detection {h} × {w} px: +{r['added_mb']:.0f} MB, {r['seconds']:.2f} s")


if __name__ == "__main__":
    main()
