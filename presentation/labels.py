"""The Chinese names users read for the domain's values (roles, sources, classes, statuses,
lights, event kinds). The ledger keeps only the values; templates get these tables through
the Renderer's globals (STATUS, ROLE, ...), and the parsers of typed or imported Chinese words
(roles in an invitation, a status in /list, a column in an Excel import) read them back here."""

from __future__ import annotations

from collections.abc import Iterable

from ledger.deadlines import MatterClass
from ledger.model import AssignmentStatus, Light, MatterStatus, ProjectKind, Role, Source
from ledger.usecases.records import ANNOUNCED, UNANNOUNCED

ROLE_LABELS: dict[Role, str] = {
    Role.ADMIN: "督查室",
    Role.LEADER: "县领导",
    Role.LIAISON: "督查联络员",
    Role.PRINCIPAL: "第一责任人",
    Role.RESPONSIBLE: "责任人",
    Role.HANDLER: "承办人",
}

SOURCE_LABELS: dict[Source, str] = {
    Source.COUNTY_DECISION: "县委县政府决策",
    Source.DEPLOYMENT: "政府工作部署",
    Source.INSTRUCTION: "领导批示",
    Source.ANNUAL_KEY_WORK: "年度重点工作",
    Source.PROJECT: "项目建设",
    Source.MEETING: "会议决定",
    Source.INSPECTION: "督查发现",
    Source.NPC_SUGGESTION: "人大代表建议",
    Source.CPPCC_PROPOSAL: "政协提案",
    Source.PUBLIC_COMPLAINT: "群众投诉与媒体反映",
    Source.ENTERPRISE: "重点企业诉求",
}

PROJECT_LABELS: dict[ProjectKind, str] = {
    ProjectKind.CONSTRUCTION: "项目建设",
    ProjectKind.INVESTMENT: "招商引资",
}

CLASS_LABELS: dict[MatterClass, str] = {
    MatterClass.URGENT: "急件",
    MatterClass.NORMAL: "一般",
    MatterClass.MAJOR: "重大疑难",
}

MATTER_STATUS_LABELS: dict[MatterStatus, str] = {
    MatterStatus.REGISTERED: "已立项",
    MatterStatus.IN_PROGRESS: "办理中",
    MatterStatus.COMPLETION_REQUESTED: "待审核",
    MatterStatus.CLOSED: "已销号",
    MatterStatus.CANCELLED: "已撤销",
}

ASSIGNMENT_STATUS_LABELS: dict[AssignmentStatus, str] = {
    AssignmentStatus.ASSIGNED: "待签收",
    AssignmentStatus.SIGNED: "办理中",
    AssignmentStatus.COMPLETION_REQUESTED: "申请办结",
    AssignmentStatus.CLOSED: "已销号",
    AssignmentStatus.CANCELLED: "已撤销",
}

# 转办: the child office's linked matter, as the county's card shows it (ledger.model.PassedDown)
PASSED_DOWN_LABELS: dict[str, str] = {
    "open": "下级办理中", "completion_requested": "下级已申请办结", "closed": "下级已销号",
    "cancelled": "下级已撤销",
}

LIGHT_LABELS: dict[Light, str] = {
    Light.GREEN: "🟢绿灯", Light.YELLOW: "🟡黄灯", Light.RED: "🔴红灯"}

# 明查暗访 (§3.3): how an inspection was made
INSPECTION_MODE_LABELS: dict[str, str] = {ANNOUNCED: "明查", UNANNOUNCED: "暗访"}

EVENT_LABELS: dict[str, str] = {
    "registered": "立项", "assigned": "交办", "signed": "签收", "progress": "报送进展",
    "completion_requested": "申请办结", "closed": "销号", "returned": "退回",
    "extension_requested": "申请延期", "extension_confirmed": "第一责任人确认延期",
    "extension_approved": "同意延期", "extension_rejected": "不同意延期", "urged": "催办",
    "commended": "通报表彰", "criticized": "通报批评", "referred": "提请追究责任",
    "cancelled": "撤销", "reminders_paused": "暂停提醒", "reminders_resumed": "恢复提醒",
    "notice_sent": "发送通知", "priority_set": "优先督办", "project_set": "专项督查",
    "figures_reported": "报送月度数据", "inspected": "明查暗访", "handed_over": "人员交接",
    "deadline_recounted": "按节假日安排重算时限", "passed_down": "转办下级督查室",
    "child_progress": "下级报送进展", "child_completion_requested": "下级申请办结",
    "child_closed": "下级已销号", "child_returned": "下级退回重办", "child_cancelled": "下级撤销",
    "receipt_read": "已阅",
}

REMINDER_LABELS: dict[str, str] = {
    "reminder_before": "到期前提醒", "reminder_due": "今日到期",
    "reminder_overdue": "超期提醒", "reminder_urgent": "急件提醒",
    "reminder_stagnant": "请报进展",
}


def roles_text(roles: Iterable[Role]) -> str:
    """Roles in the policy's order, as one line: 第一责任人、责任人."""
    order = list(Role)
    return "、".join(ROLE_LABELS[r] for r in sorted(set(roles), key=order.index))
