"""Batch throughput and memory: pages/s with 1 and 2 workers, and how time and
peak RSS grow from 10 documents to N.

    python bench/bench_batch.py DIR                 # documents already there
    python bench/bench_batch.py --build 40 --seed 1 [--scanned]  # build 40 samples first
    python bench/bench_batch.py DIR --jobs 1 2 4 --sizes 10 50 100

Seconds include starting the workers. Every measurement is a fresh process running `run_batch` into a fresh OUTDIR, so
the peak RSS figures (parent, and the largest worker) belong to that run alone.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_run(indir: str, jobs: int) -> dict:
    """Run one batch in this process and report what it cost."""
    sys.path.insert(0, str(ROOT))
    from pipelines.batch import run_batch

    with tempfile.TemporaryDirectory() as out:
        s = run_batch(indir, out, jobs=jobs, progress=False, follow_symlinks=True)  # subsets are links
    # the parent's own peak (VmHWM: ru_maxrss would carry the peak of whoever exec'd us);
    # the workers': the largest of them, from the kernel's accounting of waited-for children
    hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    return {"docs": s.found, "ok": s.ok, "failed": s.n_failed, "pages": s.pages,
            "seconds": s.seconds, "parent_mb": int(hwm.split()[1]) / 1024,
            "worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def measure(indir: Path, jobs: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--one", str(indir), str(jobs)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def subset(indir: Path, n: int, into: Path) -> Path:
    """The first n documents of indir, linked into a directory of their own."""
    from pipelines.batch import find_inputs

    d = into / f"first-{n}"
    for rel in find_inputs(indir)[:n]:
        link = d / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to((indir / rel).resolve())
    return d


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("indir", nargs="?", type=Path, help="directory of declaration files")
    ap.add_argument("--build", type=int, metavar="N", help="build N sample declarations to use instead")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scanned", action="store_true", help="with --build: also make simulated scans (OCR)")
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--sizes", type=int, nargs="+", help="document counts for the growth table "
                                                          "(default: 10 and all)")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from pipelines.batch import find_inputs

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        indir = args.indir
        if args.build:
            from pipelines.samples.build import build

            indir = tmp / "samples"
            build(indir, count=args.build, seed=args.seed, scanned=args.scanned, log=lambda _: None)
        if indir is None:
            ap.error("give a directory or --build N")
        total = len(find_inputs(indir))
        print(f"{indir}: {total} documents\n")

        print(f"{'workers':>7} {'docs':>5} {'failed':>6} {'pages':>6} {'seconds':>8} {'pages/s':>8}")
        for j in args.jobs:
            r = measure(indir, j)
            print(f"{j:>7} {r['docs']:>5} {r['failed']:>6} {r['pages']:>6} {r['seconds']:>8.1f} "
                  f"{r['pages'] / r['seconds'] if r['seconds'] else 0:>8.2f}")

        sizes = sorted(set(args.sizes or [min(10, total), total]))
        jobs = max(args.jobs)
        print(f"\ngrowth with {jobs} workers")
        print(f"{'docs':>5} {'seconds':>8} {'s/doc':>6} {'parent MB':>10} {'worker MB':>10} "
              f"{'Δ parent':>9} {'Δ worker':>9}")
        first = None
        for n in sizes:
            r = measure(subset(indir, n, tmp), jobs)
            first = first or r
            print(f"{r['docs']:>5} {r['seconds']:>8.1f} {r['seconds'] / max(r['docs'], 1):>6.2f} "
                  f"{r['parent_mb']:>10.0f} {r['worker_mb']:>10.0f} "
                  f"{r['parent_mb'] - first['parent_mb']:>+9.0f} {r['worker_mb'] - first['worker_mb']:>+9.0f}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        print(json.dumps(one_run(sys.argv[2], int(sys.argv[3]))))
    else:
        main()
