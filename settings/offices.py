"""Per-office settings (issue 16): which of `[offices."PREFIX"]`, the deployment's
[reminders], [[bulletins]] and [public] apply to an office. The one place that decides it.

- An office is named in the config by its numbering prefix (城关督〔2026〕3号 → "城关督");
  a prefix no stored office has is a configuration error (`check_offices`, at start and in
  `duban doctor`).
- Reminder policy: the office's own, else the deployment's [reminders].
- Scheduled bulletins and the public channel: the top office (the only one, or the first
  without a parent) has the deployment's [[bulletins]] and [public] channel_id, and its own
  table's too; every other office has only what its own table names. Nothing of one office
  goes to another's channel.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.model import Office
from ledger.offices import top_office
from settings import BulletinSpec, Config, ConfigError, OfficeSettings, ReminderPolicy

__all__ = ["any_channel", "check_offices", "office_bulletins", "office_policies", "office_settings",
           "public_channel", "reminder_policy", "web_title"]


def office_settings(config: Config, office: Office) -> OfficeSettings | None:
    return next((o for o in config.offices if o.prefix == office.doc_prefix), None)


def check_offices(config: Config, offices: Sequence[Office]) -> None:
    """Every `[offices."PREFIX"]` names a stored office (by its prefix). None stored yet
    (before the first start): the one [office] will create (its doc_prefix)."""
    offices = list(offices) or [Office(0, config.office_name, config.doc_prefix)]
    known = {o.doc_prefix for o in offices}
    for own in config.offices:
        if own.prefix not in known:
            have = "、".join(f"{o.doc_prefix}（{o.name}）" for o in offices) or "还没有督查室"
            raise ConfigError(
                f"配置项 [offices.\"{own.prefix}\"]：没有编号前缀为「{own.prefix}」的督查室"
                f"（现有：{have}）；请先 duban office add 名称 --prefix {own.prefix}，"
                f"或改正这一节的前缀")


def reminder_policy(config: Config, office: Office) -> ReminderPolicy:
    own = office_settings(config, office)
    return own.reminders if own is not None and own.reminders is not None else config.reminders


def office_policies(config: Config, offices: Sequence[Office]) -> dict[int, ReminderPolicy]:
    """The offices whose reminder policy is their own (the others: config.reminders)."""
    out: dict[int, ReminderPolicy] = {}
    for o in offices:
        own = office_settings(config, o)
        if own is not None and own.reminders is not None:
            out[o.id] = own.reminders
    return out


def _is_top(offices: Sequence[Office], office_id: int) -> bool:
    top = top_office(offices)
    return top is not None and top.id == office_id


def _office(offices: Sequence[Office], office_id: int) -> Office | None:
    return next((o for o in offices if o.id == office_id), None)


def office_bulletins(config: Config, offices: Sequence[Office],
                     ) -> list[tuple[int, BulletinSpec]]:
    """Every scheduled bulletin with the office it reports on."""
    out: list[tuple[int, BulletinSpec]] = []
    top = top_office(offices)
    if top is not None:
        out += [(top.id, spec) for spec in config.bulletins]
    for o in offices:
        own = office_settings(config, o)
        if own is not None:
            out += [(o.id, spec) for spec in own.bulletins]
    return out


def public_channel(config: Config, offices: Sequence[Office], office_id: int,
                   ) -> int | str | None:
    """The 公示 channel of the office's matters (None: they are posted nowhere)."""
    office = _office(offices, office_id)
    own = office_settings(config, office) if office is not None else None
    if own is not None and own.public_channel_id is not None:
        return own.public_channel_id
    return config.public_channel_id if _is_top(offices, office_id) else None


def any_channel(config: Config) -> bool:
    """Some office may have a channel: the channel's sync job is worth scheduling."""
    return config.public_channel_id is not None or any(
        o.public_channel_id is not None for o in config.offices)


def web_title(config: Config, offices: Sequence[Office], office_id: int) -> str:
    office = _office(offices, office_id)
    own = office_settings(config, office) if office is not None else None
    if own is not None and own.web_title:
        return own.web_title
    if office is not None and not _is_top(offices, office_id):
        return f"{office.name}{config.web_title}"
    return config.web_title


