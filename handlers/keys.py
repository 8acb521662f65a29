"""Callback data. Never trusted: every press is decoded strictly here and then re-checked
by the use case it triggers."""

from __future__ import annotations

import re
from dataclasses import dataclass

# m:<action>:<matter_id>:<assignment no, 0 for none>[:c]; ":c" marks a button on a matter
# card (the whole card is redrawn after the press), not on a notice or feed line
MATTER_ACTIONS = frozenset({
    "sign", "prog", "done", "ext", "cext",          # the unit's side
    "close", "ret", "urge", "extok", "extno",       # the office's side
    "show", "hist", "files",                         # everyone
})
_MATTER_RE = re.compile(r"^m:([a-z]{2,8}):([1-9][0-9]{0,11}):([0-9]{1,4})(:c)?$")

# l:<filter token>:<page>
_LIST_RE = re.compile(
    r"^l:(a|all|m|o|y|r|s(?:registered|in_progress|completion_requested|closed|cancelled)"
    r"|u[1-9][0-9]{0,11}):([0-9]{1,5})$")


@dataclass(frozen=True)
class MatterPress:
    action: str
    matter_id: int
    no: int | None
    card: bool = False


def matter_key(action: str, matter_id: int, no: int | None = None) -> str:
    assert action in MATTER_ACTIONS
    return f"m:{action}:{matter_id}:{no or 0}"


def parse_matter_key(data: str | None) -> MatterPress | None:
    m = _MATTER_RE.match(data or "")
    if m is None or m[1] not in MATTER_ACTIONS:
        return None
    no = int(m[3])
    return MatterPress(m[1], int(m[2]), no or None, bool(m[4]))


def card_key(data: str) -> str:
    return data if data.endswith(":c") or not data.startswith("m:") else data + ":c"


def list_key(token: str, page: int) -> str:
    return f"l:{token}:{page}"


def parse_list_key(data: str | None) -> tuple[str, int] | None:
    m = _LIST_RE.match(data or "")
    if m is None:
        return None
    return m[1], int(m[2])


# w:<page>: a page of /mine (the presser's own work)
_MINE_RE = re.compile(r"^w:([0-9]{1,5})$")


def mine_key(page: int) -> str:
    return f"w:{page}"


def parse_mine_key(data: str | None) -> int | None:
    m = _MINE_RE.match(data or "")
    return None if m is None else int(m[1])


def is_page_key(data: str | None) -> bool:
    """Looks like a page button (l: or w:) though it may not parse: a garbled or old one
    is answered as a page button, not as a card's."""
    return (data or "").startswith(("l:", "w:"))


# r:<action>:<record id>:<item no>: a button on an office record (ledger.usecases.records), e.g.
# "reg" registers a visit's problem, a meeting's decision or an inspection's proposal.
RECORD_ACTIONS = frozenset({"reg"})
_RECORD_RE = re.compile(r"^r:([a-z]{2,8}):([1-9][0-9]{0,11}):([1-9][0-9]{0,3})$")


@dataclass(frozen=True)
class RecordPress:
    action: str
    record_id: int
    item: int


def record_key(action: str, record_id: int, item: int) -> str:
    assert action in RECORD_ACTIONS
    return f"r:{action}:{record_id}:{item}"


def parse_record_key(data: str | None) -> RecordPress | None:
    m = _RECORD_RE.match(data or "")
    if m is None or m[1] not in RECORD_ACTIONS:
        return None
    return RecordPress(m[1], int(m[2]), int(m[3]))


# rd:<receipt id>: 「已阅」 on a formal notice (ledger.receipts)
_READ_RE = re.compile(r"^rd:([1-9][0-9]{0,11})$")


def read_key(receipt_id: int) -> str:
    return f"rd:{receipt_id}"


def parse_read_key(data: str | None) -> int | None:
    m = _READ_RE.match(data or "")
    return int(m[1]) if m else None
