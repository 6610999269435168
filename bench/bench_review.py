"""Review station speed: how fast the queue of 1,000 records opens, and how
fast the next field shows once its page image is cached (issue 15: < 1 s and
< 200 ms), measured on the real server in headless Chromium.

    python bench/bench_review.py --records out/scanned --sources samples/scanned
    python bench/bench_review.py --records out/scanned --sources samples/scanned \
        --count 1000 --fields 30 --screenshot docs/review-field-view.png

The records of a real run (`shenbao extract samples/scanned/* -o out/scanned`)
are copied round-robin into a fresh OUTDIR of --count records (so the queue
holds --count × their entries). Baselines in the same run: the same queue built
by reading every record file on each request (what a station without its
in-memory index would do), and the next field with its page not yet rendered.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def fill(records: Path, out: Path, count: int) -> int:
    src = sorted(p for p in records.glob("*.json") if p.is_file())
    if not src:
        raise SystemExit(f"no records in {records}")
    out.mkdir(parents=True)
    for i in range(count):  # the first copy of each keeps its name
        p = src[i % len(src)]
        shutil.copyfile(p, out / (p.name if i < len(src) else f"r{i:04d}-{p.name}"))
    return len(src)


def get(url: str) -> tuple[float, bytes]:
    t = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as r:
        body = r.read()
    return time.perf_counter() - t, body


def naive_queue(outdir: Path) -> int:
    """The baseline: every record read and its entries sorted, per request."""
    from extract.review import RISK

    items = []
    for p in sorted(outdir.glob("*.json")):
        rec = json.loads(p.read_text(encoding="utf-8"))
        items += [(RISK.get(e["reason"], 9), p.stem, i) for i, e in enumerate(rec.get("review") or [])]
    items.sort()
    return len(items)


def walk(r, d, steps: list[dict], warm: bool, dwell: float = 0.0) -> list[float]:
    """Tab from field to field along the queue: seconds from the key press to
    the next field view's load event (its page image loaded and shown).
    dwell: seconds spent on each field before Tab, as a person reading it
    (the page prefetches the next field's image meanwhile)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    if warm:
        for it in steps:
            if it["page"]:
                get(r.url(f"/api/pages/{it['record']}/{it['page']}.png"))
    d.get(r.url("/field", rec=steps[0]["record"], i=steps[0]["entry"]))
    WebDriverWait(d, 60).until(lambda d: d.execute_script("return document.readyState") == "complete")
    out = []
    for _ in steps[1:]:
        time.sleep(dwell)
        url = d.current_url
        d.execute_script("sessionStorage.t0 = String(Date.now());")
        ActionChains(d).send_keys(Keys.TAB).perform()
        WebDriverWait(d, 60).until(lambda d: d.current_url != url and d.execute_script(
            "return document.readyState") == "complete")
        out.append(d.execute_script(
            "return (performance.timeOrigin + performance.getEntriesByType('navigation')[0].loadEventEnd"
            " - Number(sessionStorage.t0)) / 1000;"))
    return out


def ms(xs) -> str:
    xs = sorted(xs)
    p95 = xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]
    return f"median {statistics.median(xs) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   (n={len(xs)})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=Path, required=True, help="records of a real run (OUTDIR of extract)")
    ap.add_argument("--sources", type=Path, required=True, help="their input files")
    ap.add_argument("--count", type=int, default=1000, help="records in the benchmark's OUTDIR")
    ap.add_argument("--fields", type=int, default=30, help="field-to-field steps measured in the browser")
    ap.add_argument("--repeat", type=int, default=7, help="repetitions of each page load")
    ap.add_argument("--dwell", type=float, default=1.0, help="seconds a person looks at a field")
    ap.add_argument("--screenshot", type=Path, help="also save a screenshot of a field view here")
    a = ap.parse_args()

    from selenium.webdriver.support.ui import WebDriverWait

    from pipelines.review.server import Running
    from tests._review import chrome

    print(f"load average at start: {os.getloadavg()[0]:.2f} (2 cores)")
    tmp = Path(tempfile.mkdtemp(prefix="bench-review-"))
    try:
        out = tmp / "out"
        distinct = fill(a.records, out, a.count)
        t = time.perf_counter()
        from pipelines.review.app import Station

        st = Station(out, a.sources)
        load = time.perf_counter() - t
        entries = len(st.store.all_items())
        st.close()
        print(f"{a.count} records ({distinct} distinct), {entries} review entries")
        print(f"station start (index of every record):      {load:.2f} s")
        naive = []
        for _ in range(3):
            t = time.perf_counter()
            naive_queue(out)
            naive.append(time.perf_counter() - t)
        with Running(out, a.sources) as r, chrome() as d:
            server_q = [get(r.url("/"))[0] for _ in range(a.repeat)]
            api_q = [get(r.url("/api/queue"))[0] for _ in range(a.repeat)]
            # the queue page in the browser: navigation start → load event
            browser_q = []
            for _ in range(a.repeat):
                d.get(r.url("/"))
                WebDriverWait(d, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")
                nav = d.execute_script("var n = performance.getEntriesByType('navigation')[0];"
                                       "return [n.startTime, n.loadEventEnd];")
                browser_q.append((nav[1] - nav[0]) / 1000)
            queue = json.loads(get(r.url("/api/queue"))[1])
        steps = queue[: a.fields + 1]
        # next field, page not rendered yet: a fresh station (empty page cache), a fresh browser
        with Running(out, a.sources) as r, chrome() as d:
            cold = walk(r, d, steps, warm=False)
        # a person reading each field for --dwell s: the next image is prefetched meanwhile
        with Running(out, a.sources) as r, chrome() as d:
            read = walk(r, d, steps, warm=False, dwell=a.dwell)
        # next field, page cached on the server: every page rendered once first, Tab at once
        with Running(out, a.sources) as r, chrome() as d:
            warm = walk(r, d, steps, warm=True)
            field_server = [get(r.url("/field", rec=it["record"], i=it["entry"]))[0] for it in steps]
            if a.screenshot:
                it = next((x for x in queue if x["reason"] == "check_failed" and x["bbox"]), queue[0])
                d.set_window_size(1400, 860)
                d.get(r.url("/field", rec=it["record"], i=it["entry"]))
                WebDriverWait(d, 30).until(lambda d: d.execute_script(
                    "var i = document.getElementById('zoom-img'); return !i || (i.complete && i.naturalWidth > 0)"))
                time.sleep(0.3)
                a.screenshot.parent.mkdir(parents=True, exist_ok=True)
                d.save_screenshot(str(a.screenshot))
                print(f"screenshot of {it['record']} {it['path']} → {a.screenshot}")
        print()
        print("queue of %d records" % a.count)
        print(f"  browser, navigation to load event:        {ms(browser_q)}")
        print(f"  server, GET / (first 100 rows):           {ms(server_q)}")
        print(f"  server, GET /api/queue ({len(queue)} entries):   {ms(api_q)}")
        print(f"  baseline: read every record per request:  {ms(naive)}")
        print("next field (Tab), key press to load event with the page image shown")
        print(f"  page cached on the server, Tab at once:   {ms(warm)}")
        print(f"  after {a.dwell:g} s on each field (prefetched):  {ms(read)}")
        print(f"  baseline, no page rendered before:        {ms(cold)}")
        print(f"  server, GET /field:                       {ms(field_server)}")
        print(f"load average at end: {os.getloadavg()[0]:.2f} (2 cores)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
