"""Coffee Coach's store: every SQL statement of the product lives in this package.

`interface` is the typed interface (`Store`), `records` what it hands out, `migrations`
the schema. The statements live once, in table groups (`common`, `member_tables`,
`answers`, `checkin_tables`, `deliveries`) over `tables`' plumbing and dialect seam; the
backends are `sqlite` (a file, the default) and `postgres` (one database for many
processes), and `opening` picks one from COFFEE_COACH_DB. Import what you need from here.
"""

from bot.store.interface import CheckinStore, CoreStore, Store
from bot.store.migrations import SCHEMA_VERSION
from bot.store.opening import database_url, open_store
from bot.store.records import (
    CELEBRATION,
    CHECKIN,
    FAILED,
    GROUP,
    INTERRUPTED,
    NEW_LEAD,
    PERSONAL,
    REMINDER,
    SENT,
    SKIPPED,
    SUPERSEDED,
    TEAM,
    Answer,
    Commitment,
    Conversation,
    Delivery,
    Forgotten,
    Interview,
    Member,
    Prefs,
    ScheduleColumns,
    StoreBusy,
    StoredPlacement,
    StoreError,
    Team,
)
from bot.store.sqlite import DEFAULT_DB, SQLiteStore

__all__ = [
    "CELEBRATION",
    "CHECKIN",
    "DEFAULT_DB",
    "FAILED",
    "GROUP",
    "INTERRUPTED",
    "NEW_LEAD",
    "PERSONAL",
    "REMINDER",
    "SCHEMA_VERSION",
    "SENT",
    "SKIPPED",
    "SUPERSEDED",
    "TEAM",
    "Answer",
    "CheckinStore",
    "Commitment",
    "Conversation",
    "CoreStore",
    "Delivery",
    "Forgotten",
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
    "database_url",
    "open_store",
]
