"""The configuration's types: what `bot.config` parses from the TOML file and DUBAN_*
variables, and what handlers, reminders and reports are given (never the parsing).
Imports only ledger/ (and, lazily, storage.health's URL masking for logs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from pathlib import Path

from ledger.appraisal import AppraisalWeights
from ledger.bulletins import BulletinKind
from ledger.lights import LightPolicy
from ledger.receipts import ReceiptPolicy
from storage.health import masked

__all__ = ["DEFAULT_API_URL", "BackupSchedule", "BulletinSpec", "Config", "ConfigError",
           "OfficeSettings", "ReminderPolicy"]

DEFAULT_API_URL = "https://api.telegram.org"


@dataclass(frozen=True)
class BulletinSpec:
    kind: BulletinKind
    cron: str
    chats: tuple[int, ...] = ()
    leaders: bool = False
    recipients: str = "各乡镇，县直各部门"
    period: str = "previous"   # previous | current
    groups: bool = False       # also every group chat bound to the office

    @property
    def name(self) -> str:
        return f"bulletin-{self.kind.value}"


@dataclass(frozen=True)
class BackupSchedule:
    dir: Path
    at: time = time(3, 0)   # Asia/Shanghai
    keep: int = 7


class ConfigError(Exception):
    """One clear line: which key, and why."""


@dataclass(frozen=True)
class ReminderPolicy:
    before_workdays: tuple[int, ...] = (3, 1)   # working days before the deadline
    on_due_day: bool = True
    overdue_every_workday: bool = True
    urgent_every_hours: int = 1
    # No progress for N working days → ask; the default is the light's, declared once.
    stagnant_workdays: int = LightPolicy.stagnant_workdays
    auto_urge_after_workdays: int = 3           # overdue this long → automatic 催办 (0: off)
    urge_limit_workdays: int = 3                # the new limit an urging notice gives
    send_at: time = time(9, 0)                  # when the day's reminders go out
    quiet_start: time = time(20, 0)             # nothing but urgent from here…
    quiet_end: time = time(8, 30)               # …until here
    workdays_only: bool = True
    # From this day (month, day) on, while next year's holidays are neither built in nor
    # entered, the office admins are reminded once a week ([calendar] warn_from, "11-01"
    # unless configured; None: off, as in a policy built in code).
    holidays_warn_from: tuple[int, int] | None = None
    # [receipts]: when the unread of a 「已阅」 notice are reminded, and their principal told.
    receipts: ReceiptPolicy = field(default_factory=ReceiptPolicy)


@dataclass(frozen=True)
class OfficeSettings:
    """`[offices."城关督"]`: what one office (named by its numbering prefix) has of its own;
    what it leaves out is the deployment's (`settings.offices` looks it up)."""

    prefix: str
    reminders: ReminderPolicy | None = None      # None: the deployment's [reminders]
    bulletins: tuple[BulletinSpec, ...] = ()     # its own scheduled bulletins
    public_channel_id: int | str | None = None   # its own 公示 channel
    web_title: str | None = None                 # its public page's title


@dataclass(frozen=True)
class Config:
    token: str | None = None
    api_url: str = DEFAULT_API_URL
    proxy: str | None = None
    api_concurrency: int | None = None  # Bot API calls in flight; None: see api_in_flight
    db: str = "var/duban.db"
    admins: tuple[int, ...] = ()
    # DUBAN_ADMINS entries written ID:姓名: the admins' names (the others are asked on /start).
    admin_names: tuple[tuple[int, str], ...] = ()
    office_name: str = "县委县政府督查室"
    doc_prefix: str = "督"
    schedule: Path | None = None
    ops_chat_id: int | None = None
    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443
    webhook_secret: str | None = None
    # Durable intake: handled updates are kept this long in the inbox, then forgotten.
    inbox_keep_days: int = 7
    near_workdays: int = LightPolicy.near_workdays  # yellow from here (ledger.lights)
    invite_ttl_hours: int = 72
    # A deadline, urging limit or extension at most this many days ahead (ledger.deadlines).
    max_days_ahead: int = 365
    reminders: ReminderPolicy = field(default_factory=ReminderPolicy)
    # 公示 (§2.7): the public channel the bot keeps one post per public matter in, and the
    # read-only web page (`duban web`).
    public_channel_id: int | str | None = None
    web_host: str = "127.0.0.1"
    web_port: int = 8080
    web_title: str = "督查事项公示"
    web_in_bot: bool = False  # also serve the page from `duban run`'s process
    # [[bulletins]] schedules and [appraisal] weights, parsed by reports.config.
    bulletins: tuple[BulletinSpec, ...] = ()
    appraisal: AppraisalWeights | None = None
    # [logging]: "text" for a terminal, "json" (one object a line) for a log collector.
    log_format: str = "text"
    log_level: str = "INFO"
    # [files] dir: where evidence files are kept; None: `files` beside the SQLite file.
    files_dir: Path | None = None
    # [files] download_limit_mb: Telegram's getFile limit; raise it with a local Bot API server.
    files_download_mb: int = 20
    backup: BackupSchedule | None = None  # [backup]: nightly backups (bot.backup_job)
    # [offices."PREFIX"]: per-office overrides; the top office also has the deployment's
    # [[bulletins]] and [public] channel, the others only their own (settings.offices).
    offices: tuple[OfficeSettings, ...] = ()
    source: str = "defaults"

    @property
    def api_root(self) -> str:
        return self.api_url.rstrip("/")

    @property
    def api_in_flight(self) -> int:
        """Bot API calls at once: 16 by default, enough for Telegram's 30 messages a second
        at a 300 ms round trip (through a proxy), with room for long file uploads."""
        return self.api_concurrency if self.api_concurrency is not None else 16

    def redacted(self) -> str:
        """For logs: never the token, nor a password in the database URL."""
        return (f"api={self.api_root} db={masked(self.db)} admins={list(self.admins)} "
                f"token={'set' if self.token else 'none'} proxy={'set' if self.proxy else 'none'}")


