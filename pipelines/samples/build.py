"""Sample builder: hand-written golden records (corpus/*.json) → digital PDFs in
varied renderer styles, simulated scans of them, and the golden records beside.

The golden records are data written by people from the form's meaning; the
builder only copies them next to the files it renders from them, so a golden
record is never derived from what the extractor reads.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Callable

CORPUS_DIR = Path(__file__).parent / "corpus"
SCAN_PROFILES = ("normal", "normal", "low", "degraded")
MULTI_EVERY = 8  # every 8th sample file holds two declarations


def load_corpus(directory: Path = CORPUS_DIR) -> list[tuple[str, dict]]:
    out = []
    for p in sorted(directory.glob("*.json")):
        out.append((p.stem, json.loads(p.read_text(encoding="utf-8"))))
    if not out:
        raise FileNotFoundError(f"no golden records in {directory}")
    return out


def plan(count: int, seed: int, corpus: list[tuple[str, dict]],
         names: list[str] | None = None) -> list[dict]:
    """Which records, styles and scan settings make up a sample set: a pure
    function of (count, seed, corpus, names), so a set can be rebuilt exactly.
    `names` picks the records (in that order) instead of a seeded shuffle."""
    rng = random.Random(seed)
    order = list(range(len(corpus)))
    rng.shuffle(order)
    if names:
        index = {n: i for i, (n, _) in enumerate(corpus)}
        missing = [n for n in names if n not in index]
        if missing:
            raise KeyError(f"not in the corpus: {', '.join(missing)}")
        order = [index[n] for n in names]
    jobs = []
    k = 0
    for i in range(count):
        picks = []
        n = 2 if (i % MULTI_EVERY == MULTI_EVERY - 1) else 1
        for _ in range(n):
            idx = order[k % len(order)]
            lap = k // len(order)
            picks.append((corpus[idx][0], lap))
            k += 1
        name = picks[0][0] + (f"-v{picks[0][1]}" if picks[0][1] else "")
        if n > 1:
            name = f"batch-{i:03d}-{name}"
        jobs.append({
            "name": name,
            "records": [p[0] for p in picks],
            "render_seed": rng.randrange(1 << 30),
            "scan_seed": rng.randrange(1 << 30),
            "scan_profile": SCAN_PROFILES[i % len(SCAN_PROFILES)],
            "scan_format": "tif" if i % 3 == 2 else "pdf",
        })
    return jobs


def build(outdir: str | Path, count: int = 8, seed: int = 0, scanned: bool = True,
          golden_dir: str | Path | None = None, log: Callable[[str], None] = print,
          names: list[str] | None = None) -> list[str]:
    from . import render, scan

    outdir = Path(outdir)
    golden_dir = Path(golden_dir) if golden_dir else outdir / "golden"
    for d in (outdir / "digital", golden_dir) + ((outdir / "scanned",) if scanned else ()):
        d.mkdir(parents=True, exist_ok=True)
    corpus = load_corpus()
    by_name = dict(corpus)
    made = []
    jobs = plan(count, seed, corpus, names)
    for job in jobs:
        records = [by_name[r] for r in job["records"]]
        pdf = outdir / "digital" / f"{job['name']}.pdf"
        style = render.style_from_seed(job["render_seed"])
        pages = render.render_records(records, pdf, style)
        names = [f"{job['name']}.json"] if len(records) == 1 else \
            [f"{job['name']}-{i}.json" for i in range(1, len(records) + 1)]
        for rname, gname in zip(job["records"], names):
            shutil.copyfile(CORPUS_DIR / f"{rname}.json", golden_dir / gname)
        line = f"{pdf.name}: {len(records)} declaration(s), {pages} pages"
        if scanned:
            out = outdir / "scanned" / f"{job['name']}.{job['scan_format']}"
            sstyle = scan.style_from_seed(job["scan_seed"], job["scan_profile"])
            scan.scan_pdf(pdf, out, sstyle, job["scan_seed"])
            line += f"; scanned ({job['scan_profile']}, {sstyle.dpi} dpi, {sstyle.mode}) → {out.name}"
        log(line)
        made.append(job["name"])
    (outdir / "plan.json").write_text(
        json.dumps({"count": count, "seed": seed, "names": names, "jobs": jobs},
                   ensure_ascii=False, indent=1), encoding="utf-8")
    return made
