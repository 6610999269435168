"""Dev harness: read the bench's scans once, then re-map and compare in seconds.

    .venv/bin/python bench/remap.py /tmp/bench/scanned /tmp/bench/golden --cache /tmp/bench/.ocr
    .venv/bin/python bench/remap.py /tmp/bench/scanned /tmp/bench/golden --cache /tmp/bench/.ocr \\
        --profile degraded --show 20

Every page goes through `Options.ocr_cache`: the first run reads it (OCR)
and stores what the image path read (extract/image/cache.py, keyed by the
page image's hash, the engine and every reading setting); later runs load
it and only build the page model, map, normalize and check — a change to
the mapping is measured on the whole bench in seconds. A change to the
image path or its settings changes the key, so nothing stale is reused.

Prints right / flagged / silent, the silent fields (with their source: a
value read by OCR or a field the mapping lost), and the calibration table
of bench_extract.py. Runs in this process (no peak-memory or time figures:
use bench_extract.py for those).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    from bench_extract import calibration_pairs, calibration_table  # noqa: E402

    from extract.compare import compare_dirs
    from extract.document import Options
    from extract.pipeline import extract_file
    from extract.settings import DEFAULT
    from pipelines.io import write_records

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", type=Path)
    ap.add_argument("golden", type=Path)
    ap.add_argument("--cache", required=True)
    ap.add_argument("--out", type=Path, help="where the records go (default: a fresh temporary directory)")
    ap.add_argument("--profile", help="only the scans of this profile (plan.json beside the inputs)")
    ap.add_argument("--ocr", default="rapidocr")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--show", type=int, default=10, help="silent fields to list")
    args = ap.parse_args()
    files = sorted(p for p in args.inputs.iterdir() if p.suffix.lower() in (".pdf", ".tif", ".tiff", ".png", ".jpg"))
    if args.profile:
        plan = json.loads((args.inputs.parent / "plan.json").read_text(encoding="utf-8"))
        keep = {j["name"] for j in plan["jobs"] if j["scan_profile"] == args.profile}
        files = [f for f in files if f.stem in keep]
    out = args.out or Path(tempfile.mkdtemp(prefix="remap-"))
    out.mkdir(parents=True, exist_ok=True)
    options = Options(ocr_engine=args.ocr, threads=args.threads, ocr_cache=args.cache)
    t0 = time.perf_counter()
    for f in files:
        try:
            write_records(out, f.name, extract_file(f, options))
        except Exception as exc:  # counted as a missing record, and said
            print(f"error {f.name}: {exc}")
    secs = time.perf_counter() - t0
    stems = {f.stem for f in files}
    rep = compare_dirs(out, args.golden)
    rep.records = [r for r in rep.records if r.name in stems or r.name.rsplit("-", 1)[0] in stems]
    print(f"{len(files)} files in {secs:.1f} s → {out}")
    print(f"field accuracy {rep.field_accuracy:.4f}  right/flagged/silent {rep.right}/{rep.flagged}/{rep.silent} "
          f"of {rep.fields}  silent wrong amounts {rep.silent_amounts} of {rep.amount_fields}  "
          f"review entries {rep.review_entries} ({rep.flags_on_right} on right fields)")
    shown = 0
    kinds = {"a value read and kept": 0, "a value missing (an expected field the record lacks)": 0,
             "an unexpected value (extra, a row too many)": 0}
    for r in rep.records:
        got = json.loads((out / f"{r.name}.json").read_text(encoding="utf-8")) if (out / f"{r.name}.json").exists() else {}
        prov = got.get("provenance") or {}
        for path, g, v in r.diffs:
            if path in r.silent:
                if v is None:
                    kinds["a value missing (an expected field the record lacks)"] += 1
                elif prov.get(path):
                    kinds["a value read and kept"] += 1
                else:
                    kinds["an unexpected value (extra, a row too many)"] += 1
            if path in r.silent and shown < args.show:
                p = prov.get(path) or {}
                src = f"{p.get('method')} conf {p.get('confidence')}" if p else "no provenance (mapping)"
                print(f"  silent {r.name}: {path}: golden {g!r} | got {v!r} [{src}]")
                shown += 1
    print("silent fields: " + ", ".join(f"{k} {v}" for k, v in kinds.items()))
    for line in calibration_table(calibration_pairs(out, args.golden, [r.name for r in rep.records]),
                                  DEFAULT.review.sure):
        print("  " + line)


if __name__ == "__main__":
    main()
