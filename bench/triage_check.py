"""Proof of the quick look (extract/image/triage.py) on a corpus.

    .venv/bin/python bench/triage_check.py --forms samples/scanned /tmp/mb/scanned* \\
        --others /tmp/others

Every page of every file under --forms (declarations) is looked at as the
image path would get it; the script prints, per directory, how many pages
the look kept by their ruling grid, how many by a form word of the quick
read, and how many it would set aside, with the look's seconds per page.
Exit status 1 when any declaration page would be set aside. (The reader
would still read such a page in full when another page of its document
passed: this checks the stronger claim, page by page.) Files under
--others (cover letters, photos, OCRmyPDF's test files …) show what the look
saves: pages set aside and the seconds it took to decide.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SUFFIXES = (".pdf", ".tif", ".tiff", ".png", ".jpg", ".jpeg")


def files_in(d: Path) -> list[Path]:
    return sorted(p for p in d.rglob("*") if p.suffix.lower() in SUFFIXES) if d.is_dir() else [d]


def check(d: Path) -> tuple[dict, list[str]]:
    from extract import errors
    from extract.document import open_document

    counts = {"files": 0, "pages": 0, "grid": 0, "words": 0, "aside": 0, "seconds": 0.0, "refused": 0}
    aside = []
    for f in files_in(d):
        try:
            doc = open_document(f)
        except errors.ShenbaoError:
            counts["refused"] += 1
            continue
        counts["files"] += 1
        t = time.perf_counter()
        try:
            for n, seen in doc.quick_looks():
                counts["pages"] += 1
                key = "aside" if not seen.form else ("words" if seen.words else "grid")
                counts[key] += 1
                if not seen.form:
                    aside.append(f"{f.name} p{n}: {seen.why}")
        except Exception as exc:  # a page no renderer opens: counted, not fatal
            aside.append(f"{f.name}: could not be looked at ({type(exc).__name__}: {exc})")
        counts["seconds"] += time.perf_counter() - t
    return counts, aside


def compare_extract(files: list[Path]) -> None:
    from extract import errors
    from extract.document import Options
    from extract.pipeline import extract_file
    from extract.settings import Settings, TriageSettings

    print(f"\n{'file':28} {'with look':>10} {'without':>9}  outcome with / without")
    tot = [0.0, 0.0]
    for f in files:
        row = []
        for k, on in enumerate((True, False)):
            opts = Options(settings=Settings(triage=TriageSettings(enabled=on)))
            t = time.perf_counter()
            try:
                got = f"{len(extract_file(f, opts))} record(s)"
            except errors.ShenbaoError as exc:
                got = exc.code
            dt = time.perf_counter() - t
            tot[k] += dt
            row.append((dt, got))
        print(f"{f.name[:28]:28} {row[0][0]:9.1f}s {row[1][0]:8.1f}s  {row[0][1]} / {row[1][1]}")
    print(f"{'total':28} {tot[0]:9.1f}s {tot[1]:8.1f}s  ({tot[0] / tot[1] if tot[1] else 0:.2f}×)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--forms", nargs="*", type=Path, default=[], help="directories of declarations")
    ap.add_argument("--others", nargs="*", type=Path, default=[], help="directories of other documents")
    ap.add_argument("--extract", action="store_true", help="also time extracting --others with and without the look")
    ap.add_argument("--show", type=int, default=10, help="list this many set-aside pages per directory")
    args = ap.parse_args()
    bad = 0
    print(f"{'set':42} {'kind':6} {'files':>5} {'pages':>5} {'grid':>5} {'words':>5} {'aside':>5} {'s/page':>7}")
    for kind, dirs in (("forms", args.forms), ("others", args.others)):
        for d in dirs:
            c, aside = check(d)
            sp = c["seconds"] / c["pages"] if c["pages"] else 0.0
            print(f"{str(d)[-42:]:42} {kind:6} {c['files']:5d} {c['pages']:5d} {c['grid']:5d} {c['words']:5d} "
                  f"{c['aside']:5d} {sp:7.3f}" + (f"   ({c['refused']} refused before reading)" if c["refused"] else ""))
            for line in aside[: args.show]:
                print("    " + line)
            if kind == "forms":
                bad += len(aside)
    if args.extract:
        compare_extract([f for d in args.others for f in files_in(d)])
    if bad:
        print(f"FAIL: {bad} declaration page(s) would be set aside")
        sys.exit(1)


if __name__ == "__main__":
    main()
