"""Every command the bot registers, from every role and a stranger, with no arguments,
garbage, overlong text and odd Unicode; every callback-data prefix with forged values.
Each gets a short Chinese answer; none the generic apology, none an exception's name."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ConversationHandler

from bot.harness import Harness, running_bot
from handlers.keys import MATTER_ACTIONS
from handlers.menus import LEADER, LIAISON, OFFICE, UNIT_ROLES
from ledger.clock import FixedClock
from ledger.model import Event, Role
from tests.bot_e2e import START, forge, quick_matter, say, text

APOLOGY = "出错了"
# A Python exception's name in a reply: FooError, BarException, BadZipFile, a traceback.
EXCEPTION_NAME = re.compile(
    r"[A-Z][A-Za-z]*(Error|Exception|Exit|Interrupt)\b|BadZipFile|Traceback|StopIteration"
    r"|NoneType|\bassert\b")
CJK = re.compile(r"[\u4e00-\u9fff]")
ROLES = ("admin", "town_principal", "town_resp", "town_handler", "liaison", "leader",
         "stranger")
PROBES = {
    "none": "",
    "garbage": " zzq ### 12x ;; | |",
    "overlong": " " + "超长输入" * 990,
    "unicode": " \u202e\u200b👨\u200d👩\u200d👧 𝔘𝔫𝔦 ﷽ \ufeff \u0301 ①②",
}
# Answers that list what the person may see or do may be long; an error never is.
SHORT = 600


def bot(tmp_path: Path) -> Any:
    """The bot without Telegram's pacing (1 message a second per chat): these tests ask
    what is answered, not when, and send each person a message per round."""
    return running_bot(tmp_path, clock=FixedClock(START), rate_limited=False)


def _walk(handlers: list[BaseHandler[Any, Any, Any]]) -> Iterator[BaseHandler[Any, Any, Any]]:
    for handler in handlers:
        yield handler
        if isinstance(handler, ConversationHandler):
            yield from _walk(list(handler.entry_points))
            for state in handler.states.values():
                yield from _walk(list(state))
            yield from _walk(list(handler.fallbacks))


def registered(h: Harness) -> tuple[list[str], list[str | None]]:
    """The commands and callback patterns the running Application has, in any group."""
    commands: list[str] = []
    patterns: list[str | None] = []
    for group in h.app.handlers.values():
        for handler in _walk(group):
            if isinstance(handler, CommandHandler):
                commands += [c for c in sorted(handler.commands) if c not in commands]
            elif isinstance(handler, CallbackQueryHandler):
                pattern = handler.pattern
                patterns.append(pattern.pattern if isinstance(pattern, re.Pattern)
                                else None if pattern is None else str(pattern))
    return commands, patterns


async def _with_liaison(h: Harness) -> None:
    person = h.server.person(first_name="林联络员", username="u_liaison")
    async with h.deps.uow() as uow:
        p = await uow.people.add_person(h.county.office_id, "林联络员",
                                        frozenset({Role.LIAISON}),
                                        unit_id=h.units["县住建局"], telegram_id=person.id)
        await uow.events.append(Event(kind="person_added", at=h.clock.now(), actor_id=None,
                                      office_id=h.county.office_id, person_id=p.id,
                                      after={"name": p.name, "roles": ["liaison"]}))
        await uow.commit()
    h.people["liaison"] = person


def problem(where: str, texts: list[str], short: bool = True) -> str | None:
    """What is wrong with an answer, or None."""
    if not texts:
        return f"{where}: no answer"
    for t in texts:
        if APOLOGY in t:
            return f"{where}: the generic apology: {t[:200]}"
        if EXCEPTION_NAME.search(t) is not None:
            return f"{where}: an exception name: {t[:300]}"
    if not any(CJK.search(t) for t in texts):
        return f"{where}: no Chinese: {texts[0][:200]}"
    if short and len(texts[0]) > SHORT:
        return f"{where}: {len(texts[0])} characters: {texts[0][:120]}"
    return None


def check_answer(where: str, texts: list[str], short: bool = True) -> None:
    found = problem(where, texts, short)
    assert found is None, found


@pytest.fixture
def no_unhandled(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.ERROR):
        yield caplog
    crashes = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not crashes, "\n".join(f"{r.name}: {r.getMessage()} {r.exc_info and r.exc_info[1]!r}"
                                  for r in crashes[:10])


async def test_every_command_from_every_role_answers_in_words(
        tmp_path: Path, no_unhandled: pytest.LogCaptureFixture) -> None:
    async with bot(tmp_path) as h:
        await _with_liaison(h)
        await quick_matter(h)
        commands, _ = registered(h)
        assert {"new", "list", "priority", "revoke", "handover", "import"} <= set(commands)
        for menu in (OFFICE, UNIT_ROLES, LEADER, LIAISON):  # menus name only live commands
            assert set(menu) <= set(commands), set(menu) - set(commands)
        long_ok = {"help", "start"}  # whole manuals and listings
        problems: list[str] = []
        for command in commands:
            for probe, words in PROBES.items():
                sent = {}
                for role in ROLES:
                    person = h.people[role]
                    sent[role] = len(person.inbox())
                    await person.send(f"/{command}{words}")
                await h.settle(30.0)
                for role in ROLES:
                    person = h.people[role]
                    got = [text(m) for m in person.inbox()[sent[role]:]]
                    where = f"/{command} ({probe}) from {role}"
                    short = command not in long_ok and (probe != "none" or role == "stranger")
                    found = problem(where, got, short=short and _is_error(got))
                    if found is not None:
                        problems.append(found)
                # the office's group: the office and a county leader
                group = h.office_group
                seen = len(group.messages())
                await h.people["admin"].send(f"/{command}{words}", chat=group)
                await h.settle(30.0)
                got = [text(m) for m in group.messages()[seen:]]
                found = problem(f"/{command} ({probe}) in the office group", got, short=False)
                if found is not None:
                    problems.append(found)
                if command == "new":  # leave the guided flow before the next probe
                    for role in ROLES:
                        await h.people[role].send("/cancel")
                    await h.people["admin"].send("/cancel", chat=h.office_group)
                    await h.settle()
        assert not problems, f"{len(problems)} bad answers:\n" + "\n".join(problems)


def _is_error(texts: list[str]) -> bool:
    """A listing or a card may be long; a refusal or a usage line is short."""
    return bool(texts) and not any(w in texts[0] for w in ("📋", "共", "示督〔"))


async def test_every_callback_prefix_with_forged_values_answers_in_words(
        tmp_path: Path, no_unhandled: pytest.LogCaptureFixture) -> None:
    async with bot(tmp_path) as h:
        await _with_liaison(h)
        m = await quick_matter(h)
        _, patterns = registered(h)
        prefixes: set[str] = set()
        for pattern in patterns:
            if pattern is None:  # the catch-all: matter buttons and list pages
                prefixes |= {f"m:{a}:" for a in MATTER_ACTIONS} | {"l:", "n:", "x:", ""}
            else:
                literal = re.split(r"[\\\[\](){}.*+?$|]", pattern.lstrip("^"))[0]
                prefixes.add(literal)
        assert {"r:", "n:src:", "m:close:", "l:"} <= prefixes
        suffixes = ("", "0", "1", f"{m.id}:0", f"{m.id}:1:c", f"{m.id}:99", "999999999:1",
                    "1:1:1:1", "-1:1", "abc:def", "😀", "a" * 40)
        problems: list[str] = []
        for role in ROLES:
            person = h.people[role]
            if not person.inbox():
                await say(h, person, "/help")
            msg = person.inbox()[-1]
            for prefix in sorted(prefixes):
                for suffix in suffixes:
                    data = (prefix + suffix).encode()[:64].decode(errors="ignore")
                    before = len(person.inbox())
                    answer = await forge(h, person, msg, data)
                    where = f"button {data!r} from {role}"
                    assert answer is not None, f"{where}: not answered"
                    texts = [str(answer.text)] if answer.text else []
                    texts += [text(x) for x in person.inbox()[before:]]
                    found = problem(where, texts, short=False)
                    if found is not None:
                        problems.append(found)
        assert not problems, f"{len(problems)} bad answers:\n" + "\n".join(problems)
        # inside the guided /new flow, its own buttons forged
        admin = h.people["admin"]
        await say(h, admin, "/new")
        await say(h, admin, "一件测试事项")
        flow = admin.inbox()[-1]
        for data in ("n:src:zzz", "n:cls:zzz", "n:u:999999", "n:ud", "n:dl", "n:s:2",
                     "n:ok", "n:x", "n:src:", "n:u:-1"):
            before = len(admin.inbox())
            answer = await forge(h, admin, flow, data)
            assert answer is not None, data
            texts = [str(answer.text)] if answer.text else []
            check_answer(f"flow button {data!r}",
                         texts + [text(x) for x in admin.inbox()[before:]], short=False)
