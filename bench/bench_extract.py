"""Accuracy, speed and memory of `shenbao extract`, side by side with a plain
baseline measured in the same run.

    .venv/bin/python bench/bench_extract.py samples/digital golden
    .venv/bin/python bench/bench_extract.py samples/scanned golden --ocr rapidocr --threads 1
    .venv/bin/python bench/bench_extract.py /tmp/bench/scanned /tmp/bench/golden --profile normal

The baseline is what one would write without this project: the page text in
reading order (pdfplumber's extract_text for a text layer, one full-page
tesseract chi_sim pass for an image page) and regular expressions for the
labelled fields. Each run happens in a fresh child process, so peak memory
(ru_maxrss) is that run's own.
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

AMOUNT_KEYS = ("funding.", "budget_total", ".amount", ".unit_price")


# ----------------------------------------------------------------- workers


def _pages_of(path: Path) -> int:
    from extract.document import open_document

    return open_document(path).n_pages


def run_shenbao(files: list[Path], outdir: Path, ocr: str) -> dict:
    from extract.document import Options
    from extract.pipeline import extract_file
    from pipelines.io import write_records

    pages = 0
    t0 = time.perf_counter()
    errors = {}
    for f in files:
        try:
            recs = extract_file(f, Options(ocr_engine=ocr))
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
        res = run_shenbao(files, out, args.ocr)
    else:
        res = run_baseline(files, out)
    res["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(res))


# ----------------------------------------------------------------- driver


def silent_wrong_amounts(outdir: Path, golden: Path) -> tuple[int, int]:
    """(amount fields that are wrong and not flagged, amount fields compared).
    Flagged = the field's path appears in the record's warnings or its
    provenance confidence is below the review threshold."""
    from extract.compare import equal, leaves, lookup
    from extract.record import REVIEW_BELOW

    silent = total = 0
    for gp in sorted(golden.glob("*.json")):
        op = outdir / gp.name
        if not op.exists():
            continue
        g = json.loads(gp.read_text(encoding="utf-8"))
        o = json.loads(op.read_text(encoding="utf-8"))
        warnings = " ".join(o.get("warnings", []))
        prov = o.get("provenance", {})
        for path, gv in leaves(g):
            if not any(k in path for k in AMOUNT_KEYS) or gv is None:
                continue
            total += 1
            v = lookup(o, path)
            if v is not None and not isinstance(v, (int, float)):
                v = None
            if v is None or equal(gv, v):
                continue  # right, or left empty (a missing value is not a silent wrong one)
            flagged = path in warnings or prov.get(path, {}).get("confidence", 1) < REVIEW_BELOW \
                or any(path in c.get("fields", []) or path.split("[")[0] in " ".join(c.get("fields", []))
                       for c in o.get("checks", []) if not c.get("passed"))
            silent += not flagged
    return silent, total


def measure(kind: str, files: list[Path], golden: Path, ocr: str, threads: int) -> dict:
    from extract.compare import by_variant, compare_dirs

    out = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-"))
    env = dict(os.environ)
    if threads:
        for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_THREAD_LIMIT"):
            env[k] = str(threads)
        env["SHENBAO_THREADS"] = str(threads)
    cmd = [sys.executable, __file__, "--worker", kind, "--out", str(out), "--ocr", ocr,
           *map(str, files)]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise SystemExit(f"{kind} worker failed:\n{p.stderr[-3000:]}")
    res = json.loads(p.stdout.strip().splitlines()[-1])
    rep = compare_dirs(out, golden)
    # only golden records whose document was in this run
    stems = {f.stem for f in files}
    recs = [r for r in rep.records if r.name in stems or r.name.rsplit("-", 1)[0] in stems]
    rep.records = recs
    silent, amounts = silent_wrong_amounts(out, golden)
    res.update(field_accuracy=rep.field_accuracy, exact=rep.exact_records, cer=rep.text_cer,
               silent_wrong_amounts=silent, amount_fields=amounts, records=len(recs), outdir=str(out),
               by_variant={k: (len(v.records), v.field_accuracy, v.text_cer)
                           for k, v in by_variant(rep).items()})
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", help="input directory (or files), then the golden directory")
    ap.add_argument("--ocr", default="rapidocr")
    ap.add_argument("--threads", type=int, default=1, help="threads per run (1 = one core)")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--profile", help="only the scans of this profile (normal | low | degraded), "
                                      "as the builder's plan.json beside the input directory says")
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
    rows = [("shenbao", measure("shenbao", files, golden, args.ocr, args.threads))]
    if not args.no_baseline:
        rows.append(("baseline", measure("baseline", files, golden, args.ocr, args.threads)))
    print(f"{len(files)} files, threads={args.threads}, ocr={args.ocr}")
    print(f"{'run':10} {'pages':>5} {'s/page':>7} {'pages/s':>8} {'peak MB':>8} {'field acc':>9} "
          f"{'exact':>6} {'text CER':>8} {'silent wrong amounts':>21}")
    for name, r in rows:
        sp = r["seconds"] / max(r["pages"], 1)
        print(f"{name:10} {r['pages']:5d} {sp:7.2f} {1 / sp if sp else 0:8.2f} {r['peak_mb']:8.0f} "
              f"{r['field_accuracy']:9.4f} {r['exact']:6.3f} {r['cer']:8.4f} "
              f"{r['silent_wrong_amounts']:>10d} of {r['amount_fields']:<6d}")
        for f, e in list(r["errors"].items())[:5]:
            print(f"    error {f}: {e[:120]}")
    for k, (n, acc, cer) in rows[0][1]["by_variant"].items():
        print(f"  shenbao, {k:18} {n:3d} records  field acc {acc:.4f}  text CER {cer:.4f}")
    if len(rows) == 2 and rows[1][1]["seconds"]:
        print(f"time ratio shenbao/baseline: {rows[0][1]['seconds'] / rows[1][1]['seconds']:.2f}")


if __name__ == "__main__":
    main()
