"""Shared test helper: fail, instead of hanging the run, when a block runs too long."""

import signal
from contextlib import contextmanager


@contextmanager
def time_limit(seconds: int, what: str = "a hang"):
    def on_alarm(signum, frame):
        raise TimeoutError(f"still running after {seconds} s: {what}")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
