"""Atomic output: a file is either absent or complete, never half written."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

from extract import errors


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_json(path: Path, obj) -> None:
    data = (json.dumps(obj, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise errors.OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc


_UNSAFE = re.compile(r"[\x00-\x1f/\\]")


def safe_stem(name: str) -> str:
    """A file's stem usable as an output name inside OUTDIR: no directories, no
    `..`, no hidden or dash-led names that tools mistake for options."""
    stem = Path(Path(name).name).stem
    stem = _UNSAFE.sub("_", stem).strip()
    stem = stem.lstrip(".-") or "document"
    return stem


def output_names(stem: str, count: int) -> list[str]:
    if count == 1:
        return [f"{stem}.json"]
    return [f"{stem}-{i}.json" for i in range(1, count + 1)]


def write_records(outdir: Path, source_name: str, records: list[dict]) -> list[Path]:
    outdir = Path(outdir)
    stem = safe_stem(source_name)
    paths = []
    for name, rec in zip(output_names(stem, len(records)), records):
        p = (outdir / name).resolve()
        if p.parent != outdir.resolve():
            raise errors.OutputError(f"refusing to write outside {outdir}: {name}")
        atomic_write_json(p, rec)
        paths.append(p)
    return paths
