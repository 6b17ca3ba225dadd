"""Coffee Coach's store: every SQL statement of the product lives in this package.

`interface` is the typed interface (`Store`), `records` what it hands out, `migrations`
the schema; the SQLite implementation is `sqlite` (plumbing, events, teams, members,
conversations) with `answers` (answers, placements, commitments, export, forgetting) and
`checkin_tables`. Import what you need from here.
"""

from bot.store.interface import CheckinStore, CoreStore, Store
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
    Commitment,
    Conversation,
    Delivery,
    Interview,
    Member,
    Prefs,
    ScheduleColumns,
    StoreBusy,
    StoredPlacement,
    StoreError,
    Team,
)
from bot.store.sqlite import DEFAULT_DB, SQLiteStore, open_store

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
    "CheckinStore",
    "Commitment",
    "Conversation",
    "CoreStore",
    "Delivery",
    "Interview",
    "Member",
    "Prefs",
    "SQLiteStore",
    "ScheduleColumns",
    "Store",
    "StoreBusy",
    "StoreError",
    "StoredPlacement",
    "Team",
    "open_store",
]
