"""COFFEE_COACH_DB names a SQLite file or a PostgreSQL database, and logs never show a password."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from bot.dburl import DatabaseUrl

# -- SQLite ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ("coffee-coach.db", "coffee-coach.db"),
        ("./data/coach.db", "data/coach.db"),
        ("/var/lib/coach/coach.db", "/var/lib/coach/coach.db"),
        ("  coach.db\n", "coach.db"),  # as read from a file with a newline
        ("backups/2026-12-02T10:00.db", "backups/2026-12-02T10:00.db"),  # a ':' in a path
        ("sqlite:///coach.db", "coach.db"),
        ("sqlite:///data/coach.db", "data/coach.db"),
        ("sqlite:////var/lib/coach/coach.db", "/var/lib/coach/coach.db"),
        ("SQLite:////tmp/coach.db", "/tmp/coach.db"),
        ("sqlite:///my%20coach.db", "my coach.db"),
    ],
)
def test_sqlite_from_a_plain_path_or_a_sqlite_url(value: str, path: str) -> None:
    url = DatabaseUrl.parse(value)
    assert url.backend == "sqlite"
    assert url.path == Path(path)
    assert url.sqlite_path == Path(path)
    assert url.conninfo is None


@pytest.mark.parametrize(
    "value", ["coach.db", "/var/lib/coach/coach.db", "sqlite:///my%20coach.db", "a b/c%d.db"]
)
def test_sqlite_redacted_names_the_backend_and_parses_back(value: str) -> None:
    url = DatabaseUrl.parse(value)
    assert url.redacted().startswith("sqlite:///")
    assert DatabaseUrl.parse(url.redacted()) == url


def test_sqlite_absolute_path_redacted_with_four_slashes() -> None:
    assert DatabaseUrl.parse("/srv/coach.db").redacted() == "sqlite:////srv/coach.db"
    assert DatabaseUrl.parse("coach.db").redacted() == "sqlite:///coach.db"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("sqlite://", "has no host"),
        ("sqlite:///", "names no file"),
        ("sqlite://server/coach.db", "has no host"),
        ("sqlite:///coach.db?mode=ro", "no query"),
        ("sqlite:coach.db", "lacks the '//'"),
        ("", "is empty"),
        ("   ", "is empty"),
    ],
)
def test_bad_sqlite_values_are_refused_with_the_reason(value: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        DatabaseUrl.parse(value)


# -- PostgreSQL -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "postgresql://coach:s3cret@db.internal:5432/coach",
        "postgres://coach:s3cret@db.internal/coach",
        "postgresql://coach@localhost/coach?sslmode=require",
        "postgresql:///coach",
        "postgresql://h1:5432,h2:5433/coach?target_session_attrs=read-write",
    ],
)
def test_postgresql_keeps_the_full_conninfo(value: str) -> None:
    url = DatabaseUrl.parse(value)
    assert url.backend == "postgresql"
    assert url.conninfo == value
    assert url.postgres_conninfo == value
    assert url.path is None


def test_postgresql_scheme_case_is_normalised_for_libpq() -> None:
    url = DatabaseUrl.parse("PostgreSQL://coach:pw@db/coach")
    assert url.conninfo == "postgresql://coach:pw@db/coach"


def test_postgresql_redacted_keeps_user_host_port_and_database() -> None:
    url = DatabaseUrl.parse("postgresql://coach:s3cret@db.internal:5432/coach?sslmode=require")
    assert url.redacted() == "postgresql://coach:***@db.internal:5432/coach?sslmode=require"


def test_postgresql_without_a_password_is_shown_as_is() -> None:
    value = "postgresql://coach@db.internal:5432/coach"
    assert DatabaseUrl.parse(value).redacted() == value


SECRET = "Pa55-w0rd"


@pytest.mark.parametrize(
    "value",
    [
        f"postgresql://coach:{SECRET}@db:5432/coach",
        f"postgres://coach:{SECRET}@db/coach",
        f"postgresql://coach:{SECRET}%40x@db/coach",  # an escaped '@'
        f"postgresql://coach:{SECRET}@x@db/coach",  # an unescaped '@'
        f"postgresql://coach:{SECRET}/x@db/coach",  # an unescaped '/'
        f"postgresql://coach:{SECRET}?x#y@db/coach",  # '?' and '#', which libpq keeps
        f"postgresql://db/coach?password={SECRET}",
        f"postgresql://db/coach?sslmode=require&password={SECRET}&connect_timeout=5",
        f"postgresql://db/coach?sslpassword={SECRET}",
        f"postgresql://coach:{SECRET}@db/coach?application_name=a@b",
        f"mysql://coach:{SECRET}@db/coach",  # in the error message
        f"postgresql:coach:{SECRET}@db/coach",  # likewise
    ],
)
def test_the_password_never_shows_in_redacted_repr_str_or_errors(value: str) -> None:
    try:
        url = DatabaseUrl.parse(value)
    except ValueError as err:
        assert SECRET not in str(err)
        return
    for shown in (url.redacted(), str(url), f"{url}", repr(url), repr([url])):
        assert SECRET not in shown
    assert url.redacted().startswith(("postgresql://", "postgres://"))
    assert repr(url) == f"DatabaseUrl({url.redacted()!r})"


def test_the_password_param_is_masked_but_the_others_stay() -> None:
    url = DatabaseUrl.parse("postgresql://db/coach?sslmode=require&password=x&connect_timeout=5")
    assert url.redacted() == "postgresql://db/coach?sslmode=require&password=***&connect_timeout=5"


# -- everything else ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["mysql://coach:pw@db/coach", "postgresql+psycopg://coach@db/coach", "file:///x.db"]
)
def test_an_unknown_scheme_is_a_clear_value_error(value: str) -> None:
    scheme = value.split("://")[0]
    with pytest.raises(ValueError, match=re.escape(f"unknown scheme '{scheme}'")) as raised:
        DatabaseUrl.parse(value)
    assert "COFFEE_COACH_DB" in str(raised.value)
    assert "postgresql://user:password@host:port/dbname" in str(raised.value)


def test_a_database_url_is_frozen_and_compares_by_value() -> None:
    url = DatabaseUrl.parse("postgresql://coach:pw@db/coach")
    with pytest.raises(dataclasses.FrozenInstanceError):
        url.backend = "sqlite"  # type: ignore[misc]
    assert url == DatabaseUrl.parse("postgresql://coach:pw@db/coach")
    assert hash(url) == hash(DatabaseUrl.parse("postgresql://coach:pw@db/coach"))


def test_a_database_url_holds_only_what_its_backend_uses() -> None:
    with pytest.raises(ValueError, match="has a path"):
        DatabaseUrl("sqlite", conninfo="postgresql://db/coach")
    with pytest.raises(ValueError, match="has a conninfo"):
        DatabaseUrl("postgresql", path=Path("coach.db"))
    with pytest.raises(ValueError, match="is not a PostgreSQL database"):
        _ = DatabaseUrl.parse("coach.db").postgres_conninfo
    with pytest.raises(ValueError, match="is not a SQLite database"):
        _ = DatabaseUrl.parse("postgresql://db/coach").sqlite_path
