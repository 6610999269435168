"""OUTDIR/manifest.jsonl: the account of every document written into OUTDIR,
by `batch` and by `extract`. One JSON object a line, appended (flush + fsync)
as each document finishes; the newest line about a record decides its state.

A document line:
  {"file": the input's name as shown (relative path under INDIR, or the file
           name given to extract), printable: undecodable bytes as \\xff,
   "file_b64": the exact bytes of that name (os.fsencode, base64),
   "path", "path_b64": the input's absolute path, the same two ways,
   "sha256", "size", "mtime_ns": the input's content and what stat said,
   "status": "ok" | "partial" | "error",
   "error_code", "error_message": why (for partial: the code of the first
           page lost, and every lost page),
   "pages", "pages_lost": [numbers], "seconds", "records": [file names],
   "warnings", "review", "checks_failed": counts over its records,
   "command": "batch" | "extract", "time": when it finished}
A stale line: {"status": "stale", "records": [...], "reason": "input gone" |
  "input changed" | "superseded" | "replaced", "file", "sha256", … }: those
  records are no longer what their input gives; exports leave them out unless
  --include-stale.

A record belongs to one document: its input's content (sha256) and path. A
later document never takes its name (new records get `_2`, `_3`…); the same
document read again (a redo of a partial one, `extract` of the same file)
replaces its own records.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from extract import errors
from extract.document import sha256_of
from pipelines.io import json_bytes, name_b64, name_from_b64, open_append, printable

MANIFEST = "manifest.jsonl"
OK, PARTIAL, ERROR, STALE = "ok", "partial", "error", "stale"
DONE = (OK, PARTIAL)  # statuses whose records exist


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


@dataclass
class Input:
    """One input file of a run."""

    rel: str  # the name stored as `file`: relative path under INDIR ("/"), or the file name
    path: Path  # where it is read from
    sha256: str | None = None  # None: it could not be read
    size: int | None = None
    mtime_ns: int | None = None

    @property
    def key(self) -> str:
        return os.path.abspath(self.path)

    def identity(self) -> dict:
        """The manifest fields that say which input a line is about."""
        return {"file": printable(self.rel), "file_b64": name_b64(self.rel),
                "path": printable(self.key), "path_b64": name_b64(self.key),
                "sha256": self.sha256, "size": self.size, "mtime_ns": self.mtime_ns}


def hash_input(inp: Input) -> None:
    """Fill in sha256, size and mtime; raises OSError for what cannot be read."""
    st = os.stat(inp.path)
    inp.sha256 = sha256_of(inp.path)
    inp.size, inp.mtime_ns = st.st_size, st.st_mtime_ns


def entry_path(e: dict) -> str | None:
    """The input's absolute path a line names (None for lines of older versions)."""
    if isinstance(e.get("path_b64"), str):
        try:
            return name_from_b64(e["path_b64"])
        except ValueError:
            pass
    p = e.get("path")
    return p if isinstance(p, str) else None


def entry_file(e: dict) -> str:
    if isinstance(e.get("file_b64"), str):
        try:
            return name_from_b64(e["file_b64"])
        except ValueError:
            pass
    return str(e.get("file") or "")


def _names(e: dict) -> list[str]:
    recs = e.get("records")
    return [r for r in recs if isinstance(r, str)] if isinstance(recs, list) else []


class Manifest:
    """Read on open (a cut-off last line, left by a kill, is dropped from the
    file; a line that is not a JSON object is passed over and counted in
    `bad_lines`), appended to with flush + fsync. Never written through a
    symbolic link (E_OUTPUT)."""

    def __init__(self, path: Path, writable: bool = True):
        self.path = Path(path)
        self.bad_lines = 0
        if writable and self.path.is_symlink():
            open_append(self.path)  # raises E_OUTPUT naming the link
        self.entries = self._read(writable)
        self.state = State.of(self.entries)
        self._f = open_append(self.path) if writable else None

    def _read(self, writable: bool) -> list[dict]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise errors.OutputError(f"cannot read {printable(str(self.path))}: {exc.strerror or exc}") from exc
        if data and not data.endswith(b"\n"):  # a line cut off by a kill
            data = data[: data.rfind(b"\n") + 1]
            if writable:
                try:
                    os.truncate(self.path, len(data))
                except OSError as exc:
                    raise errors.OutputError(f"cannot repair {printable(str(self.path))}: "
                                             f"{exc.strerror or exc}") from exc
        entries = []
        for line in data.splitlines():
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                self.bad_lines += 1
                continue
            if isinstance(obj, dict) and isinstance(obj.get("status"), str):
                entries.append(obj)
            else:
                self.bad_lines += 1
        return entries

    def append(self, entry: dict) -> None:
        entry.setdefault("time", now())
        data = json_bytes(entry, indent=None) + b"\n"
        try:
            self._f.write(data)
            self._f.flush()
            os.fsync(self._f.fileno())
        except OSError as exc:
            raise errors.OutputError(f"cannot write {printable(str(self.path))}: {exc.strerror or exc}") from exc
        self.entries.append(entry)
        self.state.apply(entry)

    def close(self) -> None:
        if self._f is not None:
            try:
                self._f.close()
            except OSError:
                pass

    def mark_stale(self, e: dict, reason: str, names: list[str] | None = None) -> None:
        self.append({"status": STALE, "reason": reason, "records": names if names is not None else _names(e),
                     **{k: e.get(k) for k in ("file", "file_b64", "path", "path_b64", "sha256")}})


@dataclass
class State:
    owner: dict[str, dict] = field(default_factory=dict)  # record name (casefold) → the line that wrote it
    stale: dict[str, dict] = field(default_factory=dict)  # record name (casefold) → the stale line
    known: set[str] = field(default_factory=set)  # every record name any line has named

    @classmethod
    def of(cls, entries: list[dict]) -> "State":
        s = cls()
        for e in entries:
            s.apply(e)
        return s

    def apply(self, e: dict) -> None:
        names = [n.casefold() for n in _names(e)]
        self.known.update(names)
        if e.get("status") in DONE:
            for n in names:
                self.owner[n] = e
                self.stale.pop(n, None)
        elif e.get("status") == STALE:
            for n in names:
                self.stale[n] = e

    def docs(self) -> list[dict]:
        """The current documents: ok / partial lines owning a record that is not stale."""
        seen, out = set(), []
        for n, e in self.owner.items():
            if n not in self.stale and id(e) not in seen:
                seen.add(id(e))
                out.append(e)
        return out

    def live_names(self, e: dict) -> list[str]:
        return [n for n in _names(e) if self.owner.get(n.casefold()) is e and n.casefold() not in self.stale]

    def is_stale(self, name: str) -> bool:
        return name.casefold() in self.stale


# ------------------------------------------------------------------ which input is which document

@dataclass
class Reconciled:
    continues: dict[int, dict] = field(default_factory=dict)  # input index → the document it is
    moved: set[int] = field(default_factory=set)  # inputs that continue a document read under another path
    copies: dict[int, dict] = field(default_factory=dict)  # input index → a done document of the same content
    stale: list[tuple[dict, str]] = field(default_factory=list)  # documents whose input is gone or changed


def reconcile(state: State, inputs: list[Input]) -> Reconciled:
    """Match this run's inputs to the documents OUTDIR already holds.

    An input continues a document when it is the same file with the same
    content, or when the document's input is gone (or changed) and this
    input has its content (a moved or renamed file). A document whose input is
    gone or changed and that no input continues is stale. An input with the
    content of another document that is done, and still there, is a copy."""
    out = Reconciled()
    by_path = {inp.key: i for i, inp in enumerate(inputs) if inp.sha256}
    by_rel = {inp.rel: i for i, inp in enumerate(inputs) if inp.sha256}
    by_sha: dict[str, list[int]] = {}
    for i, inp in enumerate(inputs):
        if inp.sha256:
            by_sha.setdefault(inp.sha256, []).append(i)
    lost: list[tuple[dict, str]] = []
    holding: list[dict] = []
    for e in state.docs():
        sha, p = e.get("sha256"), entry_path(e)
        i = by_path.get(p) if p else by_rel.get(entry_file(e))
        if i is not None:
            if inputs[i].sha256 == sha:
                out.continues.setdefault(i, e)
                holding.append(e)
            else:
                lost.append((e, "input changed"))
            continue
        verdict = _on_disk(e, p)
        if verdict is None:
            holding.append(e)
        else:
            lost.append((e, verdict))
    for e, reason in lost:
        free = [i for i in by_sha.get(e.get("sha256"), []) if i not in out.continues]
        if free:
            out.continues[free[0]] = e
            out.moved.add(free[0])
        else:
            out.stale.append((e, reason))
    done = {}
    for e in holding + [out.continues[i] for i in out.moved]:
        if e.get("status") == OK:
            done.setdefault(e.get("sha256"), e)
    for i, inp in enumerate(inputs):
        if i not in out.continues and inp.sha256 in done:
            out.copies[i] = done[inp.sha256]
    return out


def _on_disk(e: dict, path: str | None) -> str | None:
    """None when the document's input still holds its content (or nobody can
    tell), else "input gone" / "input changed"."""
    if not path:
        return None  # a line of an older version, outside this run: cannot tell
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return "input gone"
    except OSError:
        return None
    if st.st_size == e.get("size") and st.st_mtime_ns == e.get("mtime_ns"):
        return None
    try:
        return None if sha256_of(Path(path)) == e.get("sha256") else "input changed"
    except OSError:
        return None


# ------------------------------------------------------------------ what exports read

@dataclass
class Listing:
    files: list[Path] = field(default_factory=list)  # records to read
    stale: list[str] = field(default_factory=list)  # left out: their input is gone or changed
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (name, why): truncated, not UTF-8
    not_records: list[str] = field(default_factory=list)  # JSON, but not a record


def record_files(outdir: str | Path, include_stale: bool = False) -> list[Path]:
    """The record files of OUTDIR an export reads, by name: every regular
    `*.json` (not a symbolic link, not a hidden file), without the records the
    manifest marks stale unless include_stale."""
    return list_records(outdir, include_stale, check=False).files


def list_records(outdir: str | Path, include_stale: bool = False, check: bool = True) -> Listing:
    """record_files, and (with check) what was left out and why: each file is
    parsed, a truncated or undecodable one is `unreadable`, JSON that is not a
    record is `not_records`."""
    outdir = Path(outdir)
    out = Listing()
    state = Manifest(outdir / MANIFEST, writable=False).state if (outdir / MANIFEST).is_file() else State()
    try:
        entries = sorted(os.scandir(outdir), key=lambda d: d.name)
    except OSError:
        return out
    for d in entries:
        if not d.name.endswith(".json") or d.name.startswith(".") or not d.is_file(follow_symlinks=False):
            continue
        if state.is_stale(d.name) and not include_stale:
            out.stale.append(d.name)
            continue
        if check:
            try:
                rec = json.loads(Path(d.path).read_bytes().decode("utf-8"))
            except (OSError, ValueError) as exc:
                out.unreadable.append((d.name, errors.one_line(exc, 120)))
                continue
            if not (isinstance(rec, dict) and "schema_version" in rec and "form" in rec):
                out.not_records.append(d.name)
                continue
        out.files.append(Path(d.path))
    return out
