"""Input files of the records, found under `--sources INDIR` and identified by
their content hash: a page is only ever rendered from a file inside INDIR
whose sha256 is the record's `source.sha256`."""

from __future__ import annotations

import os
import threading
from pathlib import Path, PurePosixPath

from extract.document import sha256_of


class SourceError(Exception):
    """No usable source file for a record (HTTP status, message)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


class Sources:
    def __init__(self, root: str | Path | None):
        self.root = Path(root).resolve() if root else None
        self._hashes: dict[Path, tuple[tuple[int, int, int], str]] = {}
        self._names: dict[str, list[Path]] | None = None
        self._lock = threading.Lock()

    def inside(self, p: Path) -> Path | None:
        """p with every link resolved, if that lies inside INDIR; else None."""
        try:
            real = p.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if self.root is None or not real.is_relative_to(self.root) or not real.is_file():
            return None
        return real

    def sha256(self, p: Path) -> str | None:
        try:
            st = os.stat(p)
        except OSError:
            return None
        sig = (st.st_size, st.st_mtime_ns, st.st_ino)
        with self._lock:
            hit = self._hashes.get(p)
        if hit and hit[0] == sig:
            return hit[1]
        try:
            digest = sha256_of(p)
        except OSError:
            return None
        with self._lock:
            self._hashes[p] = (sig, digest)
        return digest

    def resolve(self, source: dict) -> Path:
        """The input file of a record's `source` (raises SourceError)."""
        if self.root is None:
            raise SourceError(404, "no --sources folder was given: page images cannot be shown")
        file, sha = source.get("file"), source.get("sha256")
        if not isinstance(file, str) or not file or not isinstance(sha, str):
            raise SourceError(404, "the record does not name its input file and hash")
        rel = PurePosixPath(file.replace("\\", "/"))
        if not rel.is_absolute() and ".." not in rel.parts and "\x00" not in file:
            cand = self.inside(self.root / rel)
            if cand is not None and self.sha256(cand) == sha:
                return cand
        for cand in self._by_name(rel.name):  # extract names the file only: look for it
            real = self.inside(cand)
            if real is not None and self.sha256(real) == sha:
                return real
        raise SourceError(404, f"no file {rel.name!r} with the record's sha256 under {self.root}: "
                               "moved, changed since extraction, or another --sources is needed")

    def _by_name(self, name: str) -> list[Path]:
        with self._lock:
            if self._names is None:
                names: dict[str, list[Path]] = {}
                for dirpath, dirnames, filenames in os.walk(self.root):
                    dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                    for f in filenames:
                        names.setdefault(f, []).append(Path(dirpath) / f)
                self._names = names
            return list(self._names.get(name, []))
