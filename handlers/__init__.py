"""Telegram handlers: parse what people type or press, call a use case, render a template.

No ledger rules live here; every press and reply is re-checked by the use case it calls.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from handlers import (
    actions,
    archive,
    holidays,
    office,
    offices,
    onboarding,
    people,
    receipts,
    replies,
    reports,
    special,
    views,
)
from handlers.common import line
from handlers.deps import App, Ctx
from handlers.errors import on_error

_NEW_MESSAGES = filters.UpdateType.MESSAGE  # edits are not new reports
# Reports without text that count too (handlers.media), and what cannot be recorded.
_MEDIA = (filters.VOICE | filters.VIDEO | filters.VIDEO_NOTE | filters.AUDIO
          | filters.LOCATION | filters.VENUE)
_UNUSABLE = (filters.Sticker.ALL | filters.POLL | filters.Dice.ALL | filters.CONTACT
             | filters.GAME | filters.STORY | filters.INVOICE)


async def unknown_command(update: Update, context: Ctx) -> None:
    msg = update.effective_message
    if msg is not None:
        await msg.reply_text(line(context.deps, "unknown_command"), do_quote=False)


def register_handlers(app: App) -> None:
    # First: an admin waiting to give their name (DUBAN_ADMINS without ID:姓名).
    app.add_handler(MessageHandler(_NEW_MESSAGES & filters.TEXT & ~filters.COMMAND
                                   & filters.ChatType.PRIVATE, onboarding.on_name_reply),
                    group=-1)
    app.add_handler(office.new_conversation())
    commands = {
        "start": onboarding.start,
        "help": onboarding.help_command,
        "invite": onboarding.invite,
        "bindgroup": onboarding.bind_group,
        "units": onboarding.units,
        "addunit": onboarding.add_unit,
        "revoke": people.revoke_command,
        "handover": people.handover_command,
        "list": views.list_command,
        "show": views.show_command,
        "history": views.history_command,
        "mine": views.mine_command,
        "deadline": views.deadline_command,
        "close": office.close_command,
        "return": office.return_command,
        "urge": office.urge_command,
        "pause": office.pause_command,
        "bulletin": reports.bulletin_command,
        "export": reports.export_command,
        "archive": archive.archive_command,
        "import": reports.import_command,
        "appraisal": reports.appraisal_command,
        "holidays": holidays.holidays_command,
        "resume": office.resume_command,
        "cancel": replies.cancel,
        # 三个优先, 专项督查, 重点企业, 聘员督办, 联席会议 (handlers.special)
        "priority": special.priority_command,
        "project": special.project_command,
        "figures": special.figures_command,
        "enterprise": special.enterprise_command,
        "enterprises": special.enterprises_command,
        "visit": special.visit_command,
        "inspect": special.inspect_command,
        "propose": special.propose_command,
        "inspections": special.inspections_command,
        "meeting": special.meeting_command,
        "meetings": special.meetings_command,
        "decisions": special.decisions_command,
        "commend": special.commend_command,
        "criticize": special.criticize_command,
        "refer": special.refer_command,
        "unread": receipts.unread_command,
        # several offices on one deployment (handlers.offices)
        "office": offices.office_command,
        "offices": offices.offices_command,
        "passdown": offices.passdown_command,
    }
    for name, callback in commands.items():
        app.add_handler(CommandHandler(name, callback, _NEW_MESSAGES))
    app.add_handler(CallbackQueryHandler(special.on_record_button, pattern=r"^r:"))
    app.add_handler(CallbackQueryHandler(offices.on_choose, pattern=r"^of:"))
    app.add_handler(CallbackQueryHandler(holidays.on_confirm, pattern=r"^h:ok:"))
    app.add_handler(CallbackQueryHandler(receipts.on_read, pattern=r"^rd:"))
    app.add_handler(CallbackQueryHandler(actions.on_button))
    # A photo whose caption is /inspect … (CommandHandler only reads text).
    app.add_handler(MessageHandler(
        _NEW_MESSAGES & (filters.PHOTO | filters.Document.ALL)
        & filters.CaptionRegex(r"^/inspect(@\w+)?(\s|$)"), special.inspect_command))
    # The State Council notice (or holiday-cn JSON, schedule.toml) captioned /holidays.
    app.add_handler(MessageHandler(
        _NEW_MESSAGES & filters.Document.ALL & filters.CaptionRegex(r"^/holidays(@\w+)?(\s|$)"),
        holidays.holidays_command))
    # An .xlsx whose caption is /import.
    app.add_handler(MessageHandler(
        _NEW_MESSAGES & filters.Document.ALL & filters.CaptionRegex(r"^/import(@\w+)?(\s|$)"),
        reports.import_command))
    app.add_handler(MessageHandler(
        _NEW_MESSAGES & ((filters.TEXT & ~filters.COMMAND) | filters.PHOTO
                         | filters.Document.ALL | _MEDIA), replies.on_message))
    app.add_handler(MessageHandler(_NEW_MESSAGES & _UNUSABLE, replies.on_unusable))
    app.add_handler(MessageHandler(_NEW_MESSAGES & filters.COMMAND & filters.ChatType.PRIVATE,
                                   unknown_command))
    app.add_error_handler(on_error)
