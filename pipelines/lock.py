"""One writer per OUTDIR: an exclusive lock on OUTDIR/.shenbao.lock, held for
the whole of a `batch` or `extract` run.

The lock is the kernel's (fcntl.flock on an open file), so it goes away with
its process whatever the way it ends (kill -9 included): there is never a
stale lock to remove by hand. The file holds who took it (pid, host, command,
start time) so that a second run can say which process is in its way. The
holder removes the file when it is done (while still holding the lock; a
waiting run checks that the file it locked is still the one in OUTDIR), and
the file is never followed through a symbolic link.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path

from extract import errors
from pipelines.io import printable

LOCK_NAME = ".shenbao.lock"
POLL_SECONDS = 0.2


class OutdirLock:
    def __init__(self, outdir: Path):
        self.path = Path(outdir) / LOCK_NAME
        self.fd: int | None = None

    def acquire(self, wait: float = 0.0) -> "OutdirLock":
        """Take the lock, waiting up to `wait` seconds for another run to end;
        raise Locked (E_LOCKED) naming the holder when it does not."""
        deadline = time.monotonic() + max(0.0, wait)
        while True:
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if self._still_there(fd):
                    break
                os.close(fd)  # the holder removed it as we took it: lock the new one
                continue
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise errors.OutputError(f"cannot lock {printable(str(self.path))}: "
                                             f"{exc.strerror or exc}") from exc
            if time.monotonic() >= deadline:
                holder = describe_holder(self.path)
                os.close(fd)
                waited = f" after waiting {wait:g} s" if wait > 0 else ""
                raise errors.Locked(f"{printable(str(self.path.parent))} is being written by another "
                                    f"shenbao run ({holder}){waited}; two runs into one OUTDIR would "
                                    "overwrite each other's records: wait for it to end, give --wait "
                                    "SECONDS, or use another -o")
            os.close(fd)
            time.sleep(POLL_SECONDS)
        self.fd = fd
        info = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "command": " ".join(printable(a) for a in sys.argv)[:500]}
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(info, ensure_ascii=False) + "\n").encode("utf-8"), 0)
        except OSError:  # the lock is what matters; who holds it is a courtesy
            pass
        return self

    def _open(self) -> int:
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            return os.open(self.path, flags, 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # a symbolic link put there: replace it, never follow it
                try:
                    os.unlink(self.path)
                    return os.open(self.path, flags | os.O_EXCL, 0o644)
                except OSError as exc2:
                    exc = exc2
            raise errors.OutputError(f"cannot create {printable(str(self.path))}: "
                                     f"{exc.strerror or exc}") from exc

    def _still_there(self, fd: int) -> bool:
        try:
            st = os.stat(self.path, follow_symlinks=False)
        except OSError:
            return False
        mine = os.fstat(fd)
        return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)

    def release(self) -> None:
        if self.fd is not None:
            try:
                if self._still_there(self.fd):
                    os.unlink(self.path)
            except OSError:
                pass
            try:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            finally:
                os.close(self.fd)
                self.fd = None

    def __enter__(self) -> "OutdirLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def describe_holder(path: Path) -> str:
    """`pid 1234 on host, since …: shenbao batch …` from the lock file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            info = json.loads(os.read(fd, 4096).decode("utf-8", "replace") or "{}")
        finally:
            os.close(fd)
    except (OSError, ValueError):
        return "process unknown"
    if not isinstance(info, dict) or "pid" not in info:
        return "process unknown"
    text = f"pid {info['pid']}"
    if info.get("host") and info["host"] != socket.gethostname():
        text += f" on {info['host']}"
    if info.get("started"):
        text += f", since {info['started']}"
    if info.get("command"):
        text += f": {info['command']}"
    return text
