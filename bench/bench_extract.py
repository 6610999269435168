"""Accuracy, speed and memory of `shenbao extract`, side by side with a plain
baseline measured in the same run.

    .venv/bin/python bench/bench_extract.py samples/digital golden
    .venv/bin/python bench/bench_extract.py samples/scanned golden --ocr rapidocr --threads 1
    .venv/bin/python bench/bench_extract.py /tmp/bench/scanned /tmp/bench/golden --profile normal
    .venv/bin/python bench/scan_set.py /tmp/bench --profile bitonal    # once
    .venv/bin/python bench/bench_extract.py /tmp/bench/scanned-bitonal /tmp/bench/golden

The baseline is what one would write without this project: the page text in
reading order (pdfplumber's extract_text for a text layer, one full-page
tesseract chi_sim pass for an image page) and regular expressions for the
labelled fields. Each run happens in a fresh child process, so peak memory
(ru_maxrss) is that run's own; `--threads N` gives the OCR runtime N threads
through `Options.threads` (and the baseline's tesseract through
OMP_THREAD_LIMIT).

Beside accuracy it prints the calibration of shenbao's confidence: the
golden fields bucketed by their provenance confidence, with the share of
each bucket that is right (the share at or above `ReviewSettings.sure`
must be at least `sure_share_right`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))



# ----------------------------------------------------------------- workers


def _pages_of(path: Path) -> int:
    from extract.document import open_document

    return open_document(path).n_pages


def run_shenbao(files: list[Path], outdir: Path, ocr: str, threads: int = 0,
                cache: str | None = None) -> dict:
    from extract.document import Options
    from extract.pipeline import extract_file
    from pipelines.io import write_records

    pages = 0
    t0 = time.perf_counter()
    errors = {}
    options = Options(ocr_engine=ocr, threads=threads, ocr_cache=cache)
    for f in files:
        try:
            recs = extract_file(f, options)
            pages += recs[0]["source"]["page_count"]
            write_records(outdir, f.name, recs)
        except Exception as exc:  # measured, not hidden: counted as missing records
            errors[f.name] = str(exc)
            pages += _pages_of(f)
    return {"seconds": time.perf_counter() - t0, "pages": pages, "errors": errors}


_LABELS = {
    "project.name": r"项目名称[:：]?\s*(\S+)",
    "project.manager": r"项目负责人[:：]?\s*(\S+)",
    "project.contact": r"联系人[:：]?\s*(\S+)",
    "project.phone": r"联系电话[:：]?\s*([\d\-]+)",
    "project.start_date": r"(?:起始日期|计划开始日期)[:：]?\s*(\S+)",
    "project.end_date": r"(?:结束日期|计划完成日期)[:：]?\s*(\S+)",
    "funding.total_budget": r"项目总预算[:：]?\s*([\d,\.]+)",
    "funding.current_year_budget": r"当年预算[:：]?\s*([\d,\.]+)",
    "funding.fiscal_appropriation": r"\(一\)\s*财政拨款[:：]?\s*([\d,\.]+)",
    "funding.superior_appropriation": r"上级财政拨款[:：]?\s*([\d,\.]+)",
    "funding.own_level_appropriation": r"本级财政安排[:：]?\s*([\d,\.]+)",
    "funding.subordinate_matching": r"下级财政配套[:：]?\s*([\d,\.]+)",
    "funding.other_funds": r"\(二\)\s*其他资金[:：]?\s*([\d,\.]+)",
    "budget_total": r"金额合计\s*([\d,\.]+)",
    "project.overview": r"项目概况\s*(.+)",
    "project.overall_goal": r"项目总目标\s*(.+)",
    "project.other_issues": r"需要说明的其他问题\s*(.+)",
}


def baseline_record(text: str) -> dict:
    from extract.normalize import parse_amount, parse_date, parse_year
    from extract.record import empty_record

    rec = empty_record()
    text = text.replace("（", "(").replace("）", ")")
    y = re.search(r"\((\d{4})年", text)
    rec["form"]["year"] = parse_year(y.group(0)) if y else None
    rec["form"]["title"] = "财政项目支出绩效目标申报表"
    rec["form"]["amount_unit"] = "万元" if "万元" in text[:400] else "元"
    for key, pat in _LABELS.items():
        m = re.search(pat, text)
        if not m:
            continue
        v = m.group(1).strip()
        section, _, name = key.partition(".")
        if section in ("funding",) or key == "budget_total":
            v = parse_amount(v, rec["form"]["amount_unit"])
        elif name.endswith("_date"):
            v = parse_date(v, "end" if name.startswith("end") else "start")
        if name:
            rec[section][name] = v
        else:
            rec[section] = v
    return rec


def run_baseline(files: list[Path], outdir: Path, dpi: int = 300) -> dict:
    import pdfplumber
    import pypdfium2 as pdfium
    import pytesseract
    from PIL import Image

    from pipelines.io import atomic_write_json, safe_stem

    pages = 0
    t0 = time.perf_counter()
    for f in files:
        texts = []
        if f.suffix.lower() == ".pdf":
            with pdfplumber.open(f) as pdf:
                for i, page in enumerate(pdf.pages):
                    t = page.extract_text() or ""
                    if len(t.strip()) < 10:  # image page: one full-page OCR pass
                        doc = pdfium.PdfDocument(str(f))
                        img = doc[i].render(scale=dpi / 72).to_pil()
                        doc.close()
                        t = pytesseract.image_to_string(img, lang="chi_sim", config=f"--dpi {dpi}")
                    texts.append(t)
                    pages += 1
        else:
            with Image.open(f) as im:
                for k in range(getattr(im, "n_frames", 1)):
                    im.seek(k)
                    d = int((im.info.get("dpi") or (dpi,))[0])
                    texts.append(pytesseract.image_to_string(im.convert("L"), lang="chi_sim",
                                                             config=f"--dpi {d}"))
                    pages += 1
        text = "\n".join(texts).replace(" ", "")
        atomic_write_json(outdir / f"{safe_stem(f.name)}.json", baseline_record(text))
    return {"seconds": time.perf_counter() - t0, "pages": pages, "errors": {}}


def worker(args) -> None:
    files = [Path(f) for f in args.files]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.worker == "shenbao":
        res = run_shenbao(files, out, args.ocr, args.threads, args.cache)
    else:
        res = run_baseline(files, out)
    res["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(res))


# ----------------------------------------------------------------- driver


def measure(kind: str, files: list[Path], golden: Path, ocr: str, threads: int,
            cache: str | None = None) -> dict:
    from extract.compare import by_variant, compare_dirs

    out = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-"))
    env = dict(os.environ)
    if threads:
        for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_THREAD_LIMIT"):
            env[k] = str(threads)
    cmd = [sys.executable, __file__, "--worker", kind, "--out", str(out), "--ocr", ocr,
           "--threads", str(threads), *(["--cache", cache] if cache else []), *map(str, files)]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise SystemExit(f"{kind} worker failed:\n{p.stderr[-3000:]}")
    res = json.loads(p.stdout.strip().splitlines()[-1])
    rep = compare_dirs(out, golden)
    # only golden records whose document was in this run
    stems = {f.stem for f in files}
    recs = [r for r in rep.records if r.name in stems or r.name.rsplit("-", 1)[0] in stems]
    rep.records = recs
    res.update(field_accuracy=rep.field_accuracy, exact=rep.exact_records, cer=rep.text_cer,
               fields=rep.fields, right=rep.right, flagged=rep.flagged, silent=rep.silent,
               silent_wrong_amounts=rep.silent_amounts, amount_fields=rep.amount_fields,
               review_entries=rep.review_entries, flags_on_right=rep.flags_on_right,
               records=len(recs), outdir=str(out),
               calibration=calibration_pairs(out, golden, [r.name for r in recs]),
               by_variant={k: (len(v.records), v.field_accuracy, v.text_cer, v.silent)
                           for k, v in by_variant(rep).items()})
    return res


# ----------------------------------------------------------------- calibration

BUCKETS = (0.0, 0.5, 0.8, 0.9, 0.95, 0.99, 1.0001)


def calibration_pairs(outdir: Path, golden: Path, names: list[str]) -> list[tuple[float | None, bool]]:
    """(provenance confidence or None, right) for every golden field of the
    named records."""
    from extract.compare import _MISSING, equal, leaves, load_record, lookup

    out = []
    for name in names:
        g = load_record(golden / f"{name}.json")
        got = load_record(outdir / f"{name}.json")
        if g is None or got is None:
            continue
        prov = got.get("provenance") or {}
        for path, gv in leaves(g):
            v = lookup(got, path)
            right = v is not _MISSING and (equal(gv, v) or (isinstance(gv, (list, dict)) and not gv and not v))
            c = (prov.get(path) or {}).get("confidence")
            out.append((float(c) if isinstance(c, (int, float)) else None, bool(right)))
    return out


def calibration_table(pairs: list[tuple[float | None, bool]], sure: float = 0.9) -> list[str]:
    lines = [f"{'confidence':>14} {'fields':>7} {'right':>7} {'share right':>11}"]
    for lo, hi in zip(BUCKETS, BUCKETS[1:]):
        sel = [r for c, r in pairs if c is not None and lo <= c < hi]
        if sel:
            lines.append(f"{lo:6.2f}–{min(hi, 1.0):<6.2f} {len(sel):7d} {sum(sel):7d} {sum(sel) / len(sel):11.4f}")
    none = [r for c, r in pairs if c is None]
    if none:
        lines.append(f"{'no provenance':>14} {len(none):7d} {sum(none):7d} {sum(none) / len(none):11.4f}")
    top = [r for c, r in pairs if c is not None and c >= sure]
    if top:
        lines.append(f"confidence ≥ {sure:g}: {sum(top)}/{len(top)} right ({sum(top) / len(top):.4%})")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", help="input directory (or files), then the golden directory")
    ap.add_argument("--ocr", default="rapidocr")
    ap.add_argument("--threads", type=int, default=1, help="threads per run (1 = one core)")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--profile", help="only the scans of this profile (normal | low | degraded), "
                                      "as the builder's plan.json beside the input directory says")
    ap.add_argument("--max-silent", type=int, default=None,
                    help="exit 1 when shenbao leaves more than this many wrong fields unflagged")
    ap.add_argument("--cache", help="OCR cache directory (dev: read each page once, re-map in seconds)")
    ap.add_argument("--no-calibration", action="store_true")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return
    *inputs, golden = [Path(a) for a in args.files]
    files = []
    for i in inputs:
        files += sorted(p for p in i.iterdir() if p.suffix.lower() in (".pdf", ".tif", ".tiff", ".png", ".jpg")) \
            if i.is_dir() else [i]
    if args.profile:
        plan = json.loads((inputs[0].parent / "plan.json").read_text(encoding="utf-8"))
        keep = {j["name"] for j in plan["jobs"] if j["scan_profile"] == args.profile}
        files = [f for f in files if f.stem in keep]
    rows = [("shenbao", measure("shenbao", files, golden, args.ocr, args.threads, args.cache))]
    if not args.no_baseline:
        rows.append(("baseline", measure("baseline", files, golden, args.ocr, args.threads)))
    print(f"{len(files)} files, threads={args.threads}, ocr={args.ocr}")
    print(f"{'run':10} {'pages':>5} {'s/page':>7} {'pages/s':>8} {'peak MB':>8} {'field acc':>9} "
          f"{'right/flagged/silent':>22} {'exact':>6} {'text CER':>8} {'silent wrong amounts':>21}")
    for name, r in rows:
        sp = r["seconds"] / max(r["pages"], 1)
        rfs = f"{r['right']}/{r['flagged']}/{r['silent']}"
        print(f"{name:10} {r['pages']:5d} {sp:7.2f} {1 / sp if sp else 0:8.2f} {r['peak_mb']:8.0f} "
              f"{r['field_accuracy']:9.4f} {rfs:>22} {r['exact']:6.3f} {r['cer']:8.4f} "
              f"{r['silent_wrong_amounts']:>10d} of {r['amount_fields']:<6d}")
        for f, e in list(r["errors"].items())[:5]:
            print(f"    error {f}: {e[:120]}")
    s0 = rows[0][1]
    print(f"shenbao: {s0['silent']} silent of {s0['fields']} fields ({s0['silent'] / max(s0['fields'], 1):.2%}), "
          f"{s0['review_entries']} review entries ({s0['flags_on_right']} on right fields)")
    for k, (n, acc, cer, silent) in s0["by_variant"].items():
        print(f"  shenbao, {k:18} {n:3d} records  field acc {acc:.4f}  silent {silent:4d}  text CER {cer:.4f}")
    if not args.no_calibration:
        from extract.settings import DEFAULT

        print("calibration (shenbao's provenance confidence against the golden fields):")
        for line in calibration_table([tuple(p) for p in s0["calibration"]], DEFAULT.review.sure):
            print("  " + line)
    if len(rows) == 2 and rows[1][1]["seconds"]:
        print(f"time ratio shenbao/baseline: {rows[0][1]['seconds'] / rows[1][1]['seconds']:.2f}")
    if args.max_silent is not None and s0["silent"] > args.max_silent:
        raise SystemExit(f"{s0['silent']} silent fields, more than --max-silent {args.max_silent}")


if __name__ == "__main__":
    main()
