"""Property-based fuzzing through the sandbox: any text, reply, document or button press
from anyone gets no unhandled exception, and no answer shows the generic apology or an
exception's name. One running bot serves every example (starting one is the slow part)."""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.harness import Harness
from sandbox.media import tiny_png
from tests.bot_e2e import forge, quick_matter, text
from tests.test_bot_every_command import (
    APOLOGY,
    EXCEPTION_NAME,
    ROLES,
    _with_liaison,
    bot,
    registered,
)

# Modest, so the whole suite stays fast; DUBAN_FUZZ_EXAMPLES=2000 for a deeper run.
EXAMPLES = int(os.environ.get("DUBAN_FUZZ_EXAMPLES", "200"))


@dataclass(frozen=True)
class Action:
    kind: str       # text | reply | document | callback
    role: str
    words: str
    data: bytes = b""
    filename: str = ""
    pick: int = 0   # which of the person's messages from the bot (a reply's or press's target)


def _texts(commands: list[str]) -> st.SearchStrategy[str]:
    free = st.text(min_size=1, max_size=120).filter(lambda t: bool(t.strip()))
    command = st.builds(lambda c, t: f"/{c} {t}", st.sampled_from(commands),
                        st.text(max_size=80))
    typed = st.sampled_from(["1", "26-1", "示督〔2026〕1号", "明天", "9999年1月1日", "2100-01-01",
                             "完成60% 累计投资1200万", "12月5日 理由", "城关镇", "| | |", "—"])
    # Commands weigh most: each has its own parser.
    return st.one_of(command, command, command, free, typed,
                     st.builds(lambda a, b: f"{a} {b}", typed, typed))


def actions(commands: list[str], prefixes: list[str]) -> st.SearchStrategy[Action]:
    role = st.sampled_from(ROLES)
    words = _texts(commands)
    data = st.builds(lambda p, t: (p + t).encode()[:64].decode(errors="ignore") or "x",
                     st.sampled_from(prefixes), st.text(max_size=30))
    document = st.builds(
        lambda r, b, n, c: Action("document", r, c, b, n), role,
        st.one_of(st.binary(max_size=600), st.just(b"PK\x03\x04garbage")),
        st.sampled_from(["台账.xlsx", "notes.txt", "x.XLSX", "无扩展名", "a.docx"]),
        st.sampled_from(["", "/import", "/inspect 1 明查 现场", "/inspect 城关镇 暗访", "进展"]))
    pick = st.integers(0, 40)
    photo = st.builds(lambda r, w, i: Action("photo", r, w, pick=i), role,
                      st.sampled_from(["", "/inspect 1 暗访 工地未围挡", "现场照片", "/import"]), pick)
    return st.one_of(
        st.builds(lambda r, w: Action("text", r, w), role, words),
        st.builds(lambda r, w: Action("text", r, w), role, words),
        st.builds(lambda r, w, i: Action("reply", r, w, pick=i), role, words, pick),
        st.builds(lambda r, w, i: Action("callback", r, w, pick=i), role, data, pick),
        document, photo,
    )


async def perform(h: Harness, a: Action) -> list[str]:
    """Do it; the bot's answers to that person."""
    person = h.people[a.role]
    inbox = person.inbox()
    before = len(inbox)
    target = inbox[-1 - a.pick % len(inbox)] if inbox else None
    if a.kind == "text":
        await person.send(a.words)
    elif a.kind == "reply" and target is not None:
        await person.reply(target, a.words)
    elif a.kind == "callback" and target is not None:
        answer = await forge(h, person, target, a.words)
        await h.settle(30.0)
        texts = [str(answer.text)] if answer is not None and answer.text else []
        return texts + [text(m) for m in person.inbox()[before:]]
    elif a.kind == "photo":
        await person.send_photo(tiny_png(), caption=a.words or None,
                                reply_to=target if a.pick % 2 and target is not None else None)
    elif a.kind == "document":
        await person.send_document(a.data or b"\0", filename=a.filename,
                                   caption=a.words or None)
    else:
        await person.send(a.words)
    await h.settle(30.0)
    return [text(m) for m in person.inbox()[before:]]


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_anything_anyone_sends_is_answered_without_a_crash(tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    running: Any = bot(tmp_path)
    errors = _Errors()
    logging.getLogger().addHandler(errors)
    try:
        h: Harness = loop.run_until_complete(running.__aenter__())
        loop.run_until_complete(_with_liaison(h))
        loop.run_until_complete(quick_matter(h))
        commands, patterns = registered(h)
        prefixes = sorted({"m:sign:", "m:close:", "m:show:", "m:ext:", "l:", "n:", "r:reg:", ""}
                          | {p.lstrip("^").split("\\")[0].rstrip("$") for p in patterns if p})

        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow])
        @given(actions(commands, prefixes))
        def check(a: Action) -> None:
            seen = len(errors.records)
            answers = loop.run_until_complete(perform(h, a))
            crashes = errors.records[seen:]
            assert not crashes, [f"{r.name}: {r.getMessage()} {r.exc_info and r.exc_info[1]!r}"
                                 for r in crashes]
            for t in answers:
                assert APOLOGY not in t, (a, t[:200])
                assert EXCEPTION_NAME.search(t) is None, (a, t[:300])

        check()
    finally:
        logging.getLogger().removeHandler(errors)
        loop.run_until_complete(running.__aexit__(None, None, None))
        loop.close()
