"""Holding an OUTDIR for one run: create it, lock it (one writer), and give
the run a clean OUTDIR/.tmp/ for its temp files.

    with Outdir.open(path, wait=0) as out:
        out.write_json("a.json", record)      # atomic, inside OUTDIR, never through a link

At start (with the lock held, so no other run is mid-write) `.tmp/` is emptied:
what a kill -9 left there can never be half a record anyone reads. Temp files
that older versions left beside the records (`.a.json.XXXX.tmp`) go too.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from pathlib import Path

from extract import errors
from pipelines.io import atomic_write_json, fsync_dir, inside, printable
from pipelines.lock import OutdirLock

TMP = ".tmp"
_LEGACY_TMP = re.compile(r"^\..+\.json\.[A-Za-z0-9_]+\.tmp$")  # atomic_write's name before .tmp/


class Outdir:
    def __init__(self, path: Path, lock: OutdirLock):
        self.path = Path(path)
        self.lock = lock
        self.tmp = self.path / TMP

    @classmethod
    def open(cls, path: str | Path, wait: float = 0.0) -> "Outdir":
        path = Path(path)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            what = "it is not a directory" if path.exists() or path.is_symlink() else exc.strerror or exc
            raise errors.OutputError(f"{printable(str(path))}: cannot create output directory ({what})") from exc
        if not path.is_dir():
            raise errors.OutputError(f"{printable(str(path))}: cannot create output directory "
                                     "(it is not a directory)")
        lock = OutdirLock(path).acquire(wait)
        out = cls(path, lock)
        try:
            out._clean_tmp()
        except BaseException:
            lock.release()
            raise
        return out

    def _clean_tmp(self) -> None:
        try:
            st = os.lstat(self.tmp)
        except FileNotFoundError:
            st = None
        except OSError as exc:
            raise errors.OutputError(f"cannot use {printable(str(self.tmp))}: {exc.strerror or exc}") from exc
        try:
            if st is not None and stat.S_ISDIR(st.st_mode):
                for entry in os.scandir(self.tmp):
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path, ignore_errors=True)
                    else:
                        os.unlink(entry.path)
            else:
                if st is not None:  # a file or a symbolic link in its place: never written through
                    os.unlink(self.tmp)
                os.mkdir(self.tmp, 0o755)
            for entry in os.scandir(self.path):
                if _LEGACY_TMP.match(entry.name) and entry.is_file(follow_symlinks=False):
                    os.unlink(entry.path)
        except OSError as exc:
            raise errors.OutputError(f"cannot prepare {printable(str(self.tmp))}: {exc.strerror or exc}") from exc

    def file(self, name: str) -> Path:
        """OUTDIR/name, for a name that is one plain entry of OUTDIR."""
        return inside(self.path, name)

    def write_json(self, name: str, obj) -> Path:
        p = self.file(name)
        atomic_write_json(p, obj, self.tmp)
        return p

    def sync(self) -> None:
        try:
            fsync_dir(self.path)
        except OSError as exc:
            raise errors.OutputError(f"cannot write {printable(str(self.path))}: {exc.strerror or exc}") from exc

    def names(self) -> set[str]:
        """Every entry of OUTDIR, compared without case (a record never takes
        the name of a file that is already there, whoever wrote it)."""
        try:
            return {e.name.casefold() for e in os.scandir(self.path)}
        except OSError:
            return set()

    def close(self) -> None:
        """Remove .tmp/ (emptied: a run leaves no temp file) and the lock."""
        try:
            if self.tmp.is_dir() and not self.tmp.is_symlink():
                for entry in os.scandir(self.tmp):
                    if not entry.is_dir(follow_symlinks=False):
                        os.unlink(entry.path)
                os.rmdir(self.tmp)
        except OSError:
            pass
        self.lock.release()

    def __enter__(self) -> "Outdir":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
