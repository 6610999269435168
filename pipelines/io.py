"""Atomic output: a file is either absent or complete, never half written; and
output names that can only ever land inside OUTDIR.

Writes never follow a symbolic link: a record replaces whatever entry has its
name (a link included) by a rename, and files that are appended to (the
manifest) are opened with O_NOFOLLOW. Temp files go to OUTDIR/.tmp/ when the
caller holds the OUTDIR (pipelines/outdir.py), which clears it at start.
"""

from __future__ import annotations

import base64
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


def atomic_write_bytes(path: Path, data: bytes, tmp_dir: Path | None = None) -> None:
    """Write to a temp file (in tmp_dir, else beside `path`; it must be on the
    same file system), fsync, rename over `path`. On any failure (disk full,
    permission, interrupt) the temp file is removed and `path` is untouched.
    The rename replaces a symbolic link named `path`; it never writes through it."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{_clip(path.name, 60)}.", suffix=".tmp",
                               dir=tmp_dir or path.parent)
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


def json_bytes(obj, indent: int | None = 2) -> bytes:
    """obj as UTF-8 JSON. Strings holding undecodable bytes of a file name
    (surrogate escapes, from a name that is not UTF-8) are written in their
    printable form instead of failing."""
    text = json.dumps(obj, ensure_ascii=False, indent=indent)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(_printable_strings(obj), ensure_ascii=False, indent=indent).encode("utf-8")


def _printable_strings(obj):
    if isinstance(obj, str):
        return printable(obj)
    if isinstance(obj, dict):
        return {printable(k) if isinstance(k, str) else k: _printable_strings(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_printable_strings(v) for v in obj]
    return obj


def atomic_write_json(path: Path, obj, tmp_dir: Path | None = None) -> None:
    """Raises OutputError (E_OUTPUT) when the file cannot be written."""
    try:
        data = json_bytes(obj) + b"\n"
    except (TypeError, ValueError) as exc:
        raise errors.InvalidRecord(f"record cannot be written as JSON: {exc}") from exc
    try:
        atomic_write_bytes(path, data, tmp_dir)
    except OSError as exc:
        raise errors.OutputError(f"cannot write {printable(str(path))}: {exc.strerror or exc}") from exc


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_append(path: Path):
    """`path` opened for appending in binary mode, refusing a symbolic link
    (E_OUTPUT): appending through a link would write outside OUTDIR."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        if os.path.islink(path):
            raise errors.OutputError(f"{printable(str(path))} is a symbolic link (to "
                                     f"{printable(os.readlink(path))}); refusing to write through it: "
                                     "remove the link") from exc
        raise errors.OutputError(f"cannot open {printable(str(path))}: {exc.strerror or exc}") from exc
    return os.fdopen(fd, "ab")


# ------------------------------------------------------------------ names that are not UTF-8

def printable(name: str | bytes) -> str:
    """A file name as text that can always be written: undecodable bytes
    (`bad\\xff.pdf`, which Python holds as surrogate escapes) become `\\xff`."""
    raw = name if isinstance(name, bytes) else _fsbytes(name)
    return raw.decode("utf-8", "backslashreplace")


def _fsbytes(name: str) -> bytes:
    try:
        return name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that is no escaped byte
        return name.encode("utf-8", "backslashreplace")


def name_b64(name: str | bytes) -> str:
    """The name's exact bytes (os.fsencode), base64: lossless for any name."""
    return base64.b64encode(name if isinstance(name, bytes) else os.fsencode(name)).decode("ascii")


def name_from_b64(text: str) -> str:
    """The name back from name_b64, as Python holds file names (os.fsdecode)."""
    return os.fsdecode(base64.b64decode(text))


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
    characters, valid UTF-8 (an undecodable byte 0xff becomes `_xff`), not
    longer than MAX_STEM_BYTES."""
    stem = Path(Path(printable(name)).name).stem
    stem = _UNSAFE.sub("_", stem).strip()
    stem = _LEADING.sub("", stem).rstrip() or "document"
    return fit_stem(stem)


def output_names(stem: str, count: int) -> list[str]:
    stem = fit_stem(stem)
    if count == 1:
        return [f"{stem}.json"]
    return [f"{stem}-{i}.json" for i in range(1, count + 1)]


def inside(outdir: Path, name: str) -> Path:
    """OUTDIR/name, refusing any name that is not one plain entry of OUTDIR. The
    last component is not resolved: a symlink there is replaced, not followed."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
        raise errors.OutputError(f"refusing to write outside {outdir}: {name!r}")
    return Path(outdir) / name


def write_records(outdir: Path, source_name: str, records: list[dict],
                  taken: set[str] | None = None, tmp_dir: Path | None = None) -> list[Path]:
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
        p = inside(outdir, name)
        atomic_write_json(p, rec, tmp_dir)
        paths.append(p)
        if taken is not None:
            taken.add(name.casefold())
    return paths
