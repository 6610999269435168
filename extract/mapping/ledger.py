"""The ledger of a declaration's printed text: every span (a cell's text, a
free line) and where it ended. Each pass that uses a span claims it (as a
value, a label, a title, boilerplate, …); the accounting pass turns what no
pass claimed into `extra` or a review entry, so text that matched nothing is a
finding, never lost."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..layout import Table, TextLine

ROLES = ("value", "label", "title", "boilerplate", "section", "heading", "header", "extra", "ignored")
_WS = re.compile(r"\s+")


@dataclass
class Claim:
    role: str
    path: str | None = None


class Ledger:
    def __init__(self, items):
        self.spans: list = []  # cells and lines with text, in reading order
        for it in items:
            if isinstance(it, TextLine):
                if it.text.strip():
                    self.spans.append(it)
            elif isinstance(it, Table):
                self.spans.extend(c for c in it.cells if c.text.strip())
        self._claims: dict[int, Claim] = {}
        self._values: dict[int, list[str]] = {}  # span → every field path read from it

    def claim(self, span, role: str, path: str | None = None) -> None:
        """The first claim on a span stands (a label's cell stays a label when its
        value is also read from it); a later value claim records its path."""
        assert role in ROLES, role
        if role == "value" and path:
            paths = self._values.setdefault(id(span), [])
            if path not in paths:
                paths.append(path)
        cur = self._claims.get(id(span))
        if cur is None or (cur.role == "label" and role == "value"):
            self._claims[id(span)] = Claim(role, path or (cur.path if cur else None))

    def shared(self) -> list[tuple[object, list[str]]]:
        """Spans read into more than one field (a rule the scan lost merged two
        cells): (span, the field paths)."""
        by_id = {id(s): s for s in self.spans}
        return [(by_id[i], paths) for i, paths in self._values.items() if len(paths) > 1 and i in by_id]

    def claim_all(self, spans, role: str, path: str | None = None) -> None:
        for s in spans:
            self.claim(s, role, path)

    def claimed(self, span) -> Claim | None:
        return self._claims.get(id(span))

    def unclaimed(self) -> list:
        return [s for s in self.spans if id(s) not in self._claims]

    def coverage(self) -> float:
        """Share of the printed (non-blank) characters accounted for."""
        total = done = 0
        for s in self.spans:
            n = len(_WS.sub("", s.text))
            total += n
            if id(s) in self._claims:
                done += n
        return done / total if total else 1.0
