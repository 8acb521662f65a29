"""Command menus (setMyCommands per scope) and /help by the caller's roles."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BotCommandScopeDefault,
)
from telegram.error import TelegramError

from handlers.deps import Deps
from ledger import policy
from ledger.model import Person, Role
from presentation.render import Renderer

log = logging.getLogger(__name__)

EVERYONE = ("start", "mine", "help", "cancel")
GROUP = ("list", "show", "mine", "help", "cancel")
# Each role's private menu: every command it may use (tests/test_bot_names_and_menus.py
# holds every registered command against these).
# /office: for an account bound in several offices (issue 16), whatever its role there.
UNIT_ROLES = ("mine", "list", "show", "history", "deadline", "figures", "enterprises", "office",
              "help", "cancel")
LEADER = ("list", "show", "history", "mine", "deadline", "enterprises", "enterprise", "office",
          "help", "cancel")
LIAISON = ("list", "show", "history", "inspect", "propose", "inspections", "visit",
           "enterprises", "enterprise", "mine", "office", "help", "cancel")
OFFICE = ("new", "list", "show", "close", "return", "urge", "pause", "resume", "bulletin",
          "export", "import", "appraisal", "holidays", "history", "archive",
          "deadline", "mine", "unread",
          "priority", "project", "meeting", "meetings", "decisions", "enterprise", "enterprises",
          "visit", "inspect", "inspections", "commend", "criticize", "refer", "invite", "revoke",
          "handover", "units", "addunit", "bindgroup", "offices", "office", "passdown", "help",
          "cancel")


def _descriptions(render: Renderer) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in render("commands.j2").splitlines():
        key, sep, text = raw.partition("=")
        if sep:
            out[key.strip()] = text.strip()
    return out


def commands(names: Iterable[str], render: Renderer | None = None) -> list[BotCommand]:
    desc = _descriptions(render or Renderer())
    return [BotCommand(n, desc[n]) for n in names]


def commands_for(roles: frozenset[Role]) -> tuple[str, ...]:
    return {"office": OFFICE, "liaison": LIAISON, "leader": LEADER,
            "unit": UNIT_ROLES}[policy.menu_of(roles)]


async def set_command_menus(bot: Bot) -> None:
    """Menus for everyone: private chats and groups. Persons get theirs on /start."""
    await bot.set_my_commands(commands(EVERYONE), scope=BotCommandScopeDefault())
    await bot.set_my_commands(commands(EVERYONE), scope=BotCommandScopeAllPrivateChats())
    await bot.set_my_commands(commands(GROUP), scope=BotCommandScopeAllGroupChats())


async def set_person_menu(bot: Bot, telegram_id: int, roles: frozenset[Role]) -> None:
    """The menu of a bound person's private chat, by role. Cosmetic: failures are logged."""
    try:
        await bot.set_my_commands(commands(commands_for(roles)),
                                  scope=BotCommandScopeChat(telegram_id))
    except TelegramError as e:
        log.warning("could not set the command menu of %s: %s", telegram_id, e)


async def clear_person_menu(bot: Bot, telegram_id: int) -> None:
    """A revoked person's private chat falls back to the menu everyone has."""
    try:
        await bot.delete_my_commands(scope=BotCommandScopeChat(telegram_id))
    except TelegramError as e:
        log.warning("could not clear the command menu of %s: %s", telegram_id, e)


def help_text(deps: Deps, person: Person | None) -> str:
    return deps.render("help.j2", person=person, **policy.help_sections(person))
