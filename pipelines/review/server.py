"""Running the station: one uvicorn server on a socket this module binds, in
the foreground (the command) or on a thread (tests, benchmarks)."""

from __future__ import annotations

import getpass
import ipaddress
import socket
import threading
from pathlib import Path

from extract import errors

from .app import Station


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise errors.UsageError(f"--host {host}: {exc.strerror or exc}") from exc
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
    except OSError as exc:
        sock.close()
        raise errors.UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}"
                                " (another program uses the port? try --port)") from exc
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _server(station: Station):
    import uvicorn

    config = uvicorn.Config(station, log_level="warning", access_log=False, lifespan="off",
                            timeout_graceful_shutdown=2)
    return uvicorn.Server(config)


def url_of(host: str, port: int, token: str) -> str:
    h = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{h}:{port}/?token={token}"


def serve(outdir: Path, sources: Path | None, host: str = "127.0.0.1", port: int = 8765,
          reviewer: str | None = None, echo=print, err=print) -> int:
    reviewer = reviewer or _user()
    station = Station(outdir, sources, reviewer=reviewer, host=host)
    sock = bind(host, port)
    port = sock.getsockname()[1]
    if not _loopback(host):
        err(f"warning: the station listens on {host}, not only on this machine: anyone who can "
            "reach it and has the link can read and change these records")
    if sources is None:
        err("warning: no --sources INDIR: page images cannot be shown")
    for name, why in station.store.skipped:
        err(f"warning: {name} not loaded: {why}")
    c = station.store.counts()
    echo(f"{c['records']} records, {c['open'] + c['postponed']} fields to review; reviewer {reviewer}")
    echo(f"review at {url_of(host, port, station.token)}")
    try:
        _server(station).run(sockets=[sock])
    finally:
        station.close()
        sock.close()
    return 0


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "reviewer"


class Running:
    """A station on a thread, for tests and benchmarks: `with Running(...) as r:`
    gives r.base (http://127.0.0.1:PORT), r.token and r.url(path)."""

    def __init__(self, outdir, sources=None, reviewer: str = "tester", host: str = "127.0.0.1"):
        self.station = Station(outdir, sources, reviewer=reviewer, host=host)
        self.token = self.station.token
        self.sock = bind(host, 0)
        self.port = self.sock.getsockname()[1]
        self.base = f"http://{host}:{self.port}"
        self.server = _server(self.station)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def url(self, path: str = "/", **params) -> str:
        return self.base + self.station.url(path, **params)

    def __enter__(self) -> "Running":
        self.thread.start()
        import time

        for _ in range(500):
            if self.server.started:
                break
            time.sleep(0.01)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.server.force_exit = True  # tests and benchmarks: do not wait for idle keep-alive connections
        self.thread.join(timeout=10)
        self.station.close()
        self.sock.close()
