"""Scan every digital declaration of a sample set again with one scan profile.

    .venv/bin/python bench/scan_set.py /tmp/bench --profile bitonal
    .venv/bin/python bench/bench_extract.py /tmp/bench/scanned-bitonal /tmp/bench/golden

`shenbao samples build` gives each document one profile (normal, normal,
low, degraded in turn); the profiles added since (bitonal, faint) are made
here from the same set, so that the bench set itself stays the files
bench/RESULTS.md was measured on. Each document keeps its scan seed and
format from the set's plan.json; the output goes to SET/scanned-PROFILE/.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    from pipelines.samples import scan

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("set", type=Path, help="a directory made by `shenbao samples build`")
    ap.add_argument("--profile", required=True, choices=scan.PROFILES)
    args = ap.parse_args()
    plan = json.loads((args.set / "plan.json").read_text(encoding="utf-8"))
    out = args.set / f"scanned-{args.profile}"
    out.mkdir(exist_ok=True)
    for job in plan["jobs"]:
        pdf = args.set / "digital" / f"{job['name']}.pdf"
        style = scan.style_from_seed(job["scan_seed"], args.profile)
        dest = out / f"{job['name']}.{job['scan_format']}"
        scan.scan_pdf(pdf, dest, style, job["scan_seed"])
        print(f"{dest.name}: {style.dpi} dpi {style.mode}, orientation {style.orientation}, "
              f"contrast {style.contrast}, thin {style.thin_strokes}, breaks {style.line_breaks}")


if __name__ == "__main__":
    main()
