"""The config file's sections: `[[bulletins]]` schedules, `[appraisal]` weights, `[backup]`.

    [[bulletins]]
    kind = "regular"            # regular《督察》| project《项目建设督查专报》| quarterly | leaders
    cron = "0 9 * * mon"        # minute hour day month weekday, Asia/Shanghai
    chats = [-1001234567890]    # the group chats it is posted to
    groups = false              # also every group bound to the office (/bind)
    leaders = false             # also privately to every person with the 县领导 role
    recipients = "各乡镇，县直各部门"   # 主送 of the .docx
    period = "previous"         # previous: the last whole week/month/quarter; current: to date

    [appraisal]
    base = 100
    on_time = 2                 # per assignment closed on time
    late_close = 0              # per assignment closed late
    overdue = -0.5              # per working day overdue
    overdue_cap_workdays = 20   # per assignment and year
    urge = -2
    criticism = -5
    commendation = 5
    extension = -1
    referral = -10

Each parser takes the raw TOML value (`parse_reports` the whole file) and raises
bot.config.ConfigError naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import time
from pathlib import Path
from typing import Any

from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]

from ledger.appraisal import AppraisalWeights
from ledger.bulletins import KIND_INFO, BulletinKind
from ledger.clock import LOCAL_TZ
from ledger.receipts import ReceiptPolicy
from settings import BackupSchedule, BulletinSpec, ConfigError

__all__ = ["BulletinSpec", "ReportsConfig", "cron_trigger", "parse_appraisal", "parse_backup",
           "parse_bulletins", "parse_reports"]

_BACKUP_KEYS = {"dir", "time", "keep"}


def _error(message: str) -> Exception:
    return ConfigError(message)

_KIND_NAMES: dict[str, BulletinKind] = {
    **{k.value: k for k in BulletinKind},
    **{info.label.strip("《》"): k for k, info in KIND_INFO.items()},
    "督察": BulletinKind.REGULAR, "项目专报": BulletinKind.PROJECT,
    "季度通报": BulletinKind.QUARTERLY, "领导专报": BulletinKind.LEADERS,
}
_SPEC_KEYS = {"kind", "cron", "chats", "leaders", "groups", "recipients", "period", "enabled"}


def cron_trigger(expr: str) -> CronTrigger:
    """A crontab line (minute hour day month weekday) in Asia/Shanghai."""
    return CronTrigger.from_crontab(expr, timezone=LOCAL_TZ)


def _int(key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _error(f"配置项 {key} 应为整数（群组 id），实际为 {value!r}")
    try:
        return int(str(value).strip())
    except ValueError:
        raise _error(f"配置项 {key} 应为整数（群组 id），实际为 {value!r}") from None


def parse_bulletins(raw: object, where: str = "bulletins") -> tuple[BulletinSpec, ...]:
    """`[[bulletins]]` (or an office's `[[offices."城关督".bulletins]]`) → specs;
    None or [] → none scheduled."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _error(f"配置项 {where} 应写成 [[{where}]] 表数组")
    specs: list[BulletinSpec] = []
    for i, item in enumerate(raw):
        key = f"{where}[{i}]"
        if not isinstance(item, Mapping):
            raise _error(f"配置项 {key} 应为表（kind、cron、chats）")
        for k in item:
            if k not in _SPEC_KEYS:
                raise _error(f"配置项 {key}.{k} 不认识；可用的有：{', '.join(sorted(_SPEC_KEYS))}")
        if not item.get("enabled", True):
            continue
        kind_raw = str(item.get("kind", "")).strip()
        if kind_raw not in _KIND_NAMES:
            raise _error(f"配置项 {key}.kind 应为 regular、project、quarterly 或 leaders，"
                              f"实际为 {kind_raw!r}")
        cron = str(item.get("cron", "")).strip()
        try:
            cron_trigger(cron)
        except ValueError as e:
            raise _error(f"配置项 {key}.cron 不是合法的 cron 表达式"
                              f"（分 时 日 月 周，如 \"0 9 * * mon\"）：{cron!r}（{e}）") from None
        chats_raw = item.get("chats", [])
        if not isinstance(chats_raw, list):
            raise _error(f"配置项 {key}.chats 应为群组 id 列表，如 [-1001234567890]")
        chats = tuple(_int(f"{key}.chats", c) for c in chats_raw)
        leaders = item.get("leaders", False)
        if not isinstance(leaders, bool):
            raise _error(f"配置项 {key}.leaders 应为 true 或 false")
        groups = item.get("groups", False)
        if not isinstance(groups, bool):
            raise _error(f"配置项 {key}.groups 应为 true 或 false")
        if not chats and not leaders and not groups:
            raise _error(f"配置项 {key} 没有接收者：请填写 chats，或 groups = true"
                         f"（本督查室绑定的全部群组），或 leaders = true")
        period = str(item.get("period", "previous"))
        if period not in ("previous", "current"):
            raise _error(f"配置项 {key}.period 应为 previous 或 current，实际为 {period!r}")
        specs.append(BulletinSpec(
            kind=_KIND_NAMES[kind_raw], cron=cron, chats=chats, leaders=leaders, groups=groups,
            recipients=str(item.get("recipients", BulletinSpec.recipients)), period=period))
    return tuple(specs)


@dataclass(frozen=True)
class ReportsConfig:
    bulletins: tuple[BulletinSpec, ...] = ()
    appraisal: AppraisalWeights = field(default_factory=AppraisalWeights)


def parse_reports(raw: Mapping[str, Any]) -> ReportsConfig:
    """Both parts from the whole parsed TOML file (keys `bulletins` and `appraisal`)."""
    return ReportsConfig(parse_bulletins(raw.get("bulletins")),
                         parse_appraisal(raw.get("appraisal")))


def parse_appraisal(raw: object) -> AppraisalWeights:
    """`[appraisal]` → weights; missing keys keep their defaults."""
    if raw is None:
        return AppraisalWeights()
    if not isinstance(raw, Mapping):
        raise _error("配置项 appraisal 应为表 [appraisal]")
    known = {f.name: f for f in fields(AppraisalWeights)}
    values: dict[str, Any] = {}
    for k, v in raw.items():
        if k not in known:
            raise _error(f"配置项 appraisal.{k} 不认识；可用的有：{', '.join(known)}")
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise _error(f"配置项 appraisal.{k} 应为数字，实际为 {v!r}")
        if k == "overdue_cap_workdays":
            if int(v) != v or v < 0:
                raise _error("配置项 appraisal.overdue_cap_workdays 应为非负整数")
            values[k] = int(v)
        else:
            values[k] = float(v)
    return AppraisalWeights(**values)


def parse_backup(raw: Mapping[str, Any] | None, base: Path) -> BackupSchedule | None:
    """`[backup]`: dir (relative to the config file), time ("03:00"), keep (files)."""
    if not raw:
        return None
    for k in raw:
        if k not in _BACKUP_KEYS:
            raise ConfigError(f"配置项 backup.{k} 不认识；可用的有：{', '.join(sorted(_BACKUP_KEYS))}")
    if not raw.get("dir"):
        raise ConfigError("配置项 backup.dir 缺失：写上备份文件存放的目录，如 \"/var/backups/duban\"")
    d = BackupSchedule(Path())
    try:
        at = time.fromisoformat(str(raw.get("time", d.at.strftime("%H:%M"))))
    except ValueError:
        raise ConfigError(f"配置项 backup.time 应为时刻，如 \"03:00\"，实际为 {raw['time']!r}") from None
    keep = raw.get("keep", d.keep)
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise ConfigError(f"配置项 backup.keep 应为正整数（保留的备份份数），实际为 {keep!r}")
    return BackupSchedule(dir=base / str(raw["dir"]), at=at, keep=keep)


def parse_receipts(raw: object) -> ReceiptPolicy:
    """[receipts]: remind_after_hours (working hours until the unread are reminded) and
    escalate_after_hours (then until their unit's principal is told); 0 turns one off."""
    if raw is None:
        return ReceiptPolicy()
    if not isinstance(raw, Mapping):
        raise ConfigError("配置项 receipts 应为一节，如 [receipts] remind_after_hours = 2")
    d = ReceiptPolicy()
    known = {"remind_after_hours", "escalate_after_hours"}
    for k in raw:
        if k not in known:
            raise ConfigError(f"配置项 receipts.{k} 不认识；可用的有：{', '.join(sorted(known))}")

    def hours(key: str, default: float) -> float:
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
            raise ConfigError(f"配置项 receipts.{key} 应为 0 到 100 之间的小时数，实际为 {value!r}")
        return float(value)

    return ReceiptPolicy(remind_after_hours=hours("remind_after_hours", d.remind_after_hours),
                         escalate_after_hours=hours("escalate_after_hours",
                                                    d.escalate_after_hours))
