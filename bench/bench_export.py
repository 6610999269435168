"""Export cost: records per CPU-second for loading (parse + schema check) and for
writing each format, and the peak memory of each, on N records made from a
folder of real records (copies with distinct input hashes, so each is its own
declaration).

    python bench/bench_export.py out/digital --records 1000

CPU seconds (process time) rather than wall seconds, so a busy machine changes
the figures little; each format runs in a fresh process, so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"csv": "csv/", "parquet": "r.parquet", "duckdb": "r.duckdb", "xlsx": "r.xlsx"}


def make(src: Path, n: int, dst: Path) -> None:
    recs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(src.glob("*.json"))]
    for i in range(n):
        rec = recs[i % len(recs)]
        rec["source"]["sha256"] = hashlib.sha256(f"copy {i}".encode()).hexdigest()
        (dst / f"r{i:06d}.json").write_text(json.dumps(rec, ensure_ascii=False), encoding="utf-8")


def one(outdir: str, kind: str, work: str) -> dict:
    """Run in a fresh process: list and check the records, then stream them into one format."""
    sys.path.insert(0, str(ROOT))
    import pyarrow  # noqa: F401  (imports are not the export's cost)
    import duckdb  # noqa: F401
    import openpyxl  # noqa: F401

    from pipelines import export_write
    from pipelines.export import chunks, load_records

    base = _rss_mb("VmRSS:")  # the libraries alone
    t0 = time.process_time()
    loaded = load_records(outdir)
    t1 = time.process_time()
    problems: list = []
    kind_, target = export_write.target_kind(Path(work) / TARGETS[kind])
    _, counts = export_write.write(kind_, target, chunks(loaded.records, problems), problems)
    t2 = time.process_time()
    return {"records": counts["declarations"], "fields_rows": counts["fields"],
            "load_s": t1 - t0, "export_s": t2 - t1, "base_mb": base, "peak_mb": _rss_mb("VmHWM:")}


def _rss_mb(key: str) -> float:
    line = next(line for line in open("/proc/self/status") if line.startswith(key))
    return int(line.split()[1]) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("src", type=Path, help="a folder of records (e.g. out/digital)")
    ap.add_argument("--records", type=int, default=1000)
    ap.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(one(*a.one)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        recs = Path(tmp) / "records"
        recs.mkdir()
        make(a.src, a.records, recs)
        print(f"{a.records} records from {a.src}; CPU seconds; load = parse + schema check")
        print(f"{'format':8} {'load s':>7} {'rows+write s':>13} {'records/s':>10} {'libs MB':>8} {'peak MB':>8}")
        for kind in TARGETS:
            out = subprocess.run([sys.executable, __file__, str(a.src), "--one", str(recs), kind, tmp],
                                 capture_output=True, text=True, check=True)
            r = json.loads(out.stdout)
            total = r["load_s"] + r["export_s"]
            print(f"{kind:8} {r['load_s']:7.2f} {r['export_s']:13.2f} {r['records'] / total:10.0f} "
                  f"{r['base_mb']:8.0f} {r['peak_mb']:8.0f}")


if __name__ == "__main__":
    main()
