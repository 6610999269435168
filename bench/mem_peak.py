"""Where a worker's memory peaks: the files are read one after another in this
process while a sampler thread records the reader's stack at every new maximum
of the resident set.

    .venv/bin/python bench/mem_peak.py /tmp/mbn/a.pdf /tmp/mbn/b.pdf

Prints the last new maxima with the stack they were reached in, and the highest
resident set seen in each innermost three frames (stage). One thread (one core).
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


def main() -> None:
    from extract.document import Options
    from extract.pipeline import extract_file

    files = sys.argv[1:]
    if not files:
        sys.exit(__doc__)
    main_id = threading.main_thread().ident
    maxima: list[tuple[float, list[str]]] = []
    by_stage: dict[str, float] = {}
    done = threading.Event()

    def sample() -> None:
        top = 0.0
        while not done.is_set():
            r = rss_mb()
            frame = sys._current_frames().get(main_id)
            stack = [f"{Path(fs.filename).name}:{fs.name}" for fs in traceback.extract_stack(frame)] if frame else []
            stack = [s for s in stack if not s.startswith(("threading", "mem_peak"))][-6:]
            key = " > ".join(stack[-3:])
            by_stage[key] = max(by_stage.get(key, 0.0), r)
            if r > top:
                top = r
                maxima.append((r, stack))
            time.sleep(0.003)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    for f in files:
        t0 = time.perf_counter()
        try:
            extract_file(f, Options(threads=1))
        except Exception as exc:  # counted, not hidden
            print(f"{f}: {exc}", file=sys.stderr)
        print(f"{f}: {time.perf_counter() - t0:.1f} s, resident now {rss_mb():.0f} MB")
    done.set()
    t.join()
    print("last new maxima (MB, stack):")
    for r, stack in maxima[-6:]:
        print(f"{r:7.0f}  {' > '.join(stack)}")
    print("highest resident set per stage:")
    for k, v in sorted(by_stage.items(), key=lambda kv: -kv[1])[:12]:
        print(f"{v:7.0f}  {k}")


if __name__ == "__main__":
    main()
