"""The repositories of ledger.ports on one SQLAlchemy AsyncConnection (the UoW's), one
module per aggregate. Each repository only executes statements; the unit of work owns the
transaction."""

from storage.repositories._common import CONFLICT_MESSAGE
from storage.repositories.bulletins import SqlBulletinRepository
from storage.repositories.cards import CardAwareMatters, SqlCardRepository
from storage.repositories.chats import SqlChatRepository, SqlInviteRepository
from storage.repositories.events import SqlEventLog
from storage.repositories.matters import SqlMatterRepository
from storage.repositories.outbox import SqlOutbox, _ready_at
from storage.repositories.people import SqlPeopleRepository
from storage.repositories.public_posts import SqlPublicPostRepository
from storage.repositories.receipts import SqlReceiptRepository
from storage.repositories.records import SqlRecordRepository

__all__ = [
    "CONFLICT_MESSAGE",
    "CardAwareMatters",
    "SqlBulletinRepository",
    "SqlCardRepository",
    "SqlChatRepository",
    "SqlEventLog",
    "SqlInviteRepository",
    "SqlMatterRepository",
    "SqlOutbox",
    "SqlPeopleRepository",
    "SqlPublicPostRepository",
    "SqlReceiptRepository",
    "SqlRecordRepository",
    "_ready_at",
]
