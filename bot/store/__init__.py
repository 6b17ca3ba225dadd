"""Coffee Coach's store: every SQL statement of the product lives in this package.

`records` are what it hands out, `migrations` the schema, `sqlite` the implementation.
Import what you need from here.
"""

from bot.store.migrations import SCHEMA_VERSION
from bot.store.records import (
    CELEBRATION,
    CHECKIN,
    FAILED,
    INTERRUPTED,
    REMINDER,
    SENT,
    SKIPPED,
    SUPERSEDED,
    Answer,
    Conversation,
    Delivery,
    Interview,
    Member,
    Prefs,
    ScheduleColumns,
    StoreError,
    Team,
)
from bot.store.sqlite import DEFAULT_DB, Store, open_store

__all__ = [
    "CELEBRATION",
    "CHECKIN",
    "DEFAULT_DB",
    "FAILED",
    "INTERRUPTED",
    "REMINDER",
    "SCHEMA_VERSION",
    "SENT",
    "SKIPPED",
    "SUPERSEDED",
    "Answer",
    "Conversation",
    "Delivery",
    "Interview",
    "Member",
    "Prefs",
    "ScheduleColumns",
    "Store",
    "StoreError",
    "Team",
    "open_store",
]
