"""Verified records as golden records, and golden comparison of reviewed
records: how a team builds its own test set from what people checked."""

from __future__ import annotations

import json
from pathlib import Path

from extract import errors
from extract.compare import Report, compare_dirs, load_record
from pipelines.io import atomic_write_json, safe_stem

from .store import REVIEWED, UNRESOLVED

DROP = ("source", "provenance", "checks", "warnings", "review", "verification")


def golden_of(rec: dict) -> dict:
    """Only the golden fields of a record (record-spec.md)."""
    return {k: v for k, v in rec.items() if k not in DROP}


def golden_name(rec: dict, fallback: str) -> str:
    """The name a golden record of this input goes by, as `shenbao compare`
    matches it: `<input stem>.json`, `<stem>-N.json` for a file of several
    declarations."""
    src = rec.get("source") or {}
    file = src.get("file")
    if not isinstance(file, str) or not file:
        return f"{fallback}.json"
    stem = safe_stem(Path(file.replace("\\", "/")).name)
    n, total = src.get("declaration"), src.get("declarations_in_file")
    return f"{stem}-{n}.json" if isinstance(total, int) and total > 1 and isinstance(n, int) else f"{stem}.json"


def to_golden(outdir: str | Path, goldendir: str | Path, force: bool = False) -> tuple[list[Path], list[str]]:
    """Write every verified reviewed record of OUTDIR as a golden record in
    goldendir. Returns (written, skipped with why). An existing golden file is
    left alone unless force."""
    outdir, goldendir = Path(outdir), Path(goldendir)
    rdir = outdir / REVIEWED
    if not rdir.is_dir():
        raise errors.UsageError(f"{rdir}: no reviewed records (review first: shenbao review {outdir} --sources INDIR)")
    try:
        goldendir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise errors.OutputError(f"cannot create {goldendir}: {exc.strerror or exc}") from exc
    written, skipped, taken = [], [], set()
    for p in sorted(rdir.glob("*.json")):
        rec = load_record(p)
        if rec is None:
            skipped.append(f"{p.name}: not a readable record")
            continue
        status = (rec.get("verification") or {}).get("status")
        if status != "verified":
            skipped.append(f"{p.stem}: {status or 'not reviewed'}, not verified")
            continue
        name = golden_name(rec, p.stem)
        if name in taken:
            name = f"{p.stem}.json"
        taken.add(name)
        target = goldendir / name
        if target.exists() and not force:
            skipped.append(f"{p.stem}: {target} exists (--force replaces it)")
            continue
        atomic_write_json(target, golden_of(rec))
        written.append(target)
    return written, skipped


def reviewed_record(outdir: Path, record_path: Path) -> dict | None:
    """The reviewed record of OUTDIR/<stem>.json when there is one, else the
    extracted one; only the review entries still open or postponed count as
    flags (an entry a person answered no longer flags its field)."""
    rp = outdir / REVIEWED / record_path.name
    rec = load_record(rp) if rp.is_file() else None
    if rec is None:
        return load_record(record_path) if record_path.is_file() else None
    rec = dict(rec)
    rec["review"] = [e for e in rec.get("review") or [] if isinstance(e, dict)
                     and e.get("status", "open") in UNRESOLVED]
    return rec


def compare_reviewed(outdir: str | Path, goldendir: str | Path, only_present: bool = False) -> Report:
    """extract.compare.compare_dirs, reading each record's reviewed version
    where it exists (OUTDIR/reviewed/<stem>.json)."""
    outdir = Path(outdir)
    return compare_dirs(outdir, goldendir, only_present, load=lambda p: reviewed_record(outdir, p))


def read_audit(outdir: str | Path) -> list[dict]:
    p = Path(outdir) / REVIEWED / "audit.jsonl"
    if not p.is_file():
        return []
    return [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
