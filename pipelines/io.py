"""Atomic output: a file is either absent or complete, never half written; and
output names that can only ever land inside OUTDIR."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

from extract import errors

_UMASK = os.umask(0o022)  # the process umask: it can only be read by setting it
os.umask(_UMASK)
MAX_STEM_BYTES = 180  # NAME_MAX is 255 bytes; leave room for "-NN_N.json" and the temp name


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temp file in the same directory, fsync, rename over `path`.
    On any failure (disk full, permission, interrupt) the temp file is removed
    and `path` is untouched."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{_clip(path.name, 60)}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            try:  # mkstemp makes 0600; a record gets a normal file's mode
                os.fchmod(f.fileno(), 0o666 & ~_UMASK)
            except OSError:  # a file system without modes (CIFS, some FUSE)
                pass
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
    """Raises OutputError (E_OUTPUT) when the file cannot be written."""
    try:
        data = (json.dumps(obj, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise errors.InvalidRecord(f"record cannot be written as JSON: {exc}") from exc
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise errors.OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc


_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")
_LEADING = re.compile(r"^[\s.\-]+")  # hidden (.x), option-like (-x) or blank starts


def _clip(s: str, max_bytes: int) -> str:
    """s cut to at most max_bytes of UTF-8, at a character boundary."""
    b = s.encode("utf-8", "surrogateescape")
    if len(b) <= max_bytes:
        return s
    return b[:max_bytes].decode("utf-8", "ignore")


def fit_stem(stem: str, max_bytes: int = MAX_STEM_BYTES) -> str:
    """A stem short enough for any file system (long Chinese project names easily
    pass 255 bytes); a cut stem ends in a hash of the whole so two long names
    that differ only at the end stay apart."""
    if len(stem.encode("utf-8", "surrogateescape")) <= max_bytes:
        return stem
    digest = hashlib.sha1(stem.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return _clip(stem, max_bytes - 9).rstrip() + "~" + digest


def safe_stem(name: str) -> str:
    """A file's stem usable as an output name inside OUTDIR: no directories, no
    `..`, no hidden or dash-led names that tools mistake for options, no control
    characters, not longer than MAX_STEM_BYTES."""
    stem = Path(Path(name).name).stem
    stem = _UNSAFE.sub("_", stem).strip()
    stem = _LEADING.sub("", stem).rstrip() or "document"
    return fit_stem(stem)


def output_names(stem: str, count: int) -> list[str]:
    stem = fit_stem(stem)
    if count == 1:
        return [f"{stem}.json"]
    return [f"{stem}-{i}.json" for i in range(1, count + 1)]


def _inside(outdir: Path, name: str) -> Path:
    """OUTDIR/name, refusing any name that is not one plain entry of OUTDIR. The
    last component is not resolved: a symlink there is replaced, not followed."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
        raise errors.OutputError(f"refusing to write outside {outdir}: {name!r}")
    return Path(outdir) / name


def write_records(outdir: Path, source_name: str, records: list[dict],
                  taken: set[str] | None = None) -> list[Path]:
    """Write a file's records as OUTDIR/<stem>.json (<stem>-N.json for several).
    `taken` (names written earlier in the same run, compared without case) makes
    a later file whose stem meets an earlier one's write <stem>_2.json… instead
    of overwriting it; the names used are added to it."""
    outdir = Path(outdir)
    stem = base = safe_stem(source_name)
    if taken is not None:
        n = 1
        while any(name.casefold() in taken for name in output_names(stem, len(records))):
            n += 1
            stem = f"{base}_{n}"
    paths = []
    for name, rec in zip(output_names(stem, len(records)), records):
        p = _inside(outdir, name)
        atomic_write_json(p, rec)
        paths.append(p)
        if taken is not None:
            taken.add(name.casefold())
    return paths
