"""Sample builder: hand-written golden records (corpus/*.json) → digital PDFs in
varied renderer styles, simulated scans of them, and the golden records beside.

Two rendering routes: ``reportlab`` (render.py, the default) and ``office``
(render_office.py: an .xlsx or .docx laid out as the paper form, converted by
LibreOffice); ``mixed`` draws the route per file.  The reportlab route renders
the records written for its layouts (:func:`reportlab_can_render`), so its
sets stay what they were when records only the office route prints are added.

The golden records are data written by people from the form's meaning; the
builder only copies them next to the files it renders from them, so a golden
record is never derived from what the extractor reads.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Callable

CORPUS_DIR = Path(__file__).parent / "corpus"
SCAN_PROFILES = ("normal", "normal", "low", "degraded")
MULTI_EVERY = 8  # every 8th sample file holds two declarations
ROUTES = ("reportlab", "office", "mixed")
OFFICE_BATCH = 8  # office files converted per LibreOffice start

# the extra entries the reportlab layouts print in their own places
_REPORTLAB_EXTRA = {"sh-district-2020": set(), "sh-district-2026": {"项目类别"},
                    "ministry-county": {"自有资金", "项目实施进度计划", "填报人", "单位负责人", "填报日期"}}


def reportlab_can_render(rec: dict) -> bool:
    """A record of a variant render.py lays out, with only the extras that layout prints."""
    v = (rec.get("form") or {}).get("variant") or "sh-district-2020"
    allowed = _REPORTLAB_EXTRA.get(v)
    return allowed is not None and set(rec.get("extra") or {}) <= allowed


def route_corpus(corpus: list[tuple[str, dict]], route: str) -> list[tuple[str, dict]]:
    if route not in ROUTES:
        raise ValueError(f"route {route!r} not in {ROUTES}")
    if route == "reportlab":
        return [(n, r) for n, r in corpus if reportlab_can_render(r)]
    return corpus


def load_corpus(directory: Path = CORPUS_DIR) -> list[tuple[str, dict]]:
    out = []
    for p in sorted(directory.glob("*.json")):
        out.append((p.stem, json.loads(p.read_text(encoding="utf-8"))))
    if not out:
        raise FileNotFoundError(f"no golden records in {directory}")
    return out


def plan(count: int, seed: int, corpus: list[tuple[str, dict]],
         names: list[str] | None = None, route: str = "reportlab", plain_labels: bool = False) -> list[dict]:
    """Which records, routes, styles and scan settings make up a sample set: a
    pure function of (count, seed, corpus, names, route), so a set can be
    rebuilt exactly.  `names` picks the records (in that order) instead of a
    seeded shuffle; `corpus` is the whole corpus (the route picks from it).
    `plain_labels`: office styles print every label in the form's own spelling
    (no synonyms, spacing or breaks), to tell label matching from geometry."""
    from . import render, render_office

    by_name = dict(corpus)
    if names:
        missing = [n for n in names if n not in by_name]
        if missing:
            raise KeyError(f"not in the corpus: {', '.join(missing)}")
        if route == "reportlab":
            bad = [n for n in names if not reportlab_can_render(by_name[n])]
            if bad:
                raise KeyError(f"only the office route prints: {', '.join(bad)}")
    corpus = route_corpus(corpus, route)
    rng = random.Random(seed)
    order = list(range(len(corpus)))
    rng.shuffle(order)
    if names:
        index = {n: i for i, (n, _) in enumerate(corpus)}
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
        job = {
            "name": name,
            "records": [p[0] for p in picks],
            "render_seed": rng.randrange(1 << 30),
            "scan_seed": rng.randrange(1 << 30),
            "scan_profile": SCAN_PROFILES[i % len(SCAN_PROFILES)],
            "scan_format": "tif" if i % 3 == 2 else "pdf",
        }
        jroute = route
        if route == "mixed":  # drawn apart from the reportlab draws, so those stay what they are
            jroute = "office" if random.Random(job["render_seed"] ^ 0x5EED).random() < 0.5 else "reportlab"
            if not all(reportlab_can_render(by_name[r]) for r in job["records"]):
                jroute = "office"
        job["route"] = jroute
        if jroute == "office":
            ostyle = render_office.style_from_seed(job["render_seed"])
            if plain_labels:
                ostyle.labels, ostyle.spaced_labels, ostyle.label_breaks = {}, False, False
            job["style"] = ostyle.to_dict()
        else:
            job["style"] = json.loads(json.dumps(asdict(render.style_from_seed(job["render_seed"]))))
        jobs.append(job)
    return jobs


def build(outdir: str | Path, count: int = 8, seed: int = 0, scanned: bool = True,
          golden_dir: str | Path | None = None, log: Callable[[str], None] = print,
          names: list[str] | None = None, route: str = "reportlab", plain_labels: bool = False) -> list[str]:
    from . import render, render_office, scan

    outdir = Path(outdir)
    golden_dir = Path(golden_dir) if golden_dir else outdir / "golden"
    for d in (outdir / "digital", golden_dir) + ((outdir / "scanned",) if scanned else ()):
        d.mkdir(parents=True, exist_ok=True)
    corpus = load_corpus()
    by_name = dict(corpus)
    made = []
    jobs = plan(count, seed, corpus, names, route, plain_labels)
    pages: dict[str, int] = {}
    office = [j for j in jobs if j["route"] == "office"]
    for k in range(0, len(office), OFFICE_BATCH):  # one LibreOffice start per batch
        chunk = office[k:k + OFFICE_BATCH]
        counts = render_office.render_many(
            [([by_name[r] for r in j["records"]], outdir / "digital" / f"{j['name']}.pdf",
              render_office.OfficeStyle.from_dict(j["style"])) for j in chunk],
            keep_dir=outdir / "office")
        pages.update({j["name"]: n for j, n in zip(chunk, counts)})
    for job in jobs:
        records = [by_name[r] for r in job["records"]]
        pdf = outdir / "digital" / f"{job['name']}.pdf"
        if job["route"] == "office":
            n_pages = pages[job["name"]]
            how = f"office {job['style']['fmt']}"
        else:
            n_pages = render.render_records(records, pdf, render.style_from_seed(job["render_seed"]))
            how = "reportlab"
        gnames = [f"{job['name']}.json"] if len(records) == 1 else \
            [f"{job['name']}-{i}.json" for i in range(1, len(records) + 1)]
        for rname, gname in zip(job["records"], gnames):
            shutil.copyfile(CORPUS_DIR / f"{rname}.json", golden_dir / gname)
        line = f"{pdf.name}: {len(records)} declaration(s), {n_pages} pages ({how})"
        if scanned:
            out = outdir / "scanned" / f"{job['name']}.{job['scan_format']}"
            sstyle = scan.style_from_seed(job["scan_seed"], job["scan_profile"])
            scan.scan_pdf(pdf, out, sstyle, job["scan_seed"])
            line += f"; scanned ({job['scan_profile']}, {sstyle.dpi} dpi, {sstyle.mode}) → {out.name}"
        log(line)
        made.append(job["name"])
    (outdir / "plan.json").write_text(
        json.dumps({"count": count, "seed": seed, "route": route, "plain_labels": plain_labels,
                    "names": names, "jobs": jobs},
                   ensure_ascii=False, indent=1), encoding="utf-8")
    return made
