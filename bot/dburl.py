"""What COFFEE_COACH_DB names: a SQLite file or a PostgreSQL database.

Accepted forms:

- a plain path, `coffee-coach.db` or `/var/lib/coach/coach.db`: SQLite;
- `sqlite:///relative/path.db` and `sqlite:////absolute/path.db` (three slashes then the
  path, as SQLAlchemy spells it; percent-escapes are decoded): SQLite;
- `postgresql://user:password@host:port/dbname` (or `postgres://`, and whatever else libpq
  accepts in a URL, such as `?sslmode=require`): PostgreSQL, passed to the driver as given.

`redacted()` is what the start-up log may print: it names the backend and never shows a
password, wherever in the URL it was written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import quote, unquote

Backend = Literal["sqlite", "postgresql"]

ENV_VAR = "COFFEE_COACH_DB"
FORMS = "a file path, sqlite:///path, or postgresql://user:password@host:port/dbname"
POSTGRES_SCHEMES = ("postgresql", "postgres")
MASK = "***"

# A scheme followed by "//", or one of ours followed by ":" alone (a likely typo).
_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<rest>.*)$", re.DOTALL)
_OURS_WITHOUT_SLASHES = re.compile(r"^(?:sqlite|postgres|postgresql):(?!//)", re.IGNORECASE)
_PASSWORD_PARAM = re.compile(r"(?i)([?&][^=&#]*password[^=&#]*=)[^&#]*")


@dataclass(frozen=True, slots=True, repr=False)
class DatabaseUrl:
    """A parsed COFFEE_COACH_DB. `path` is set for SQLite, `conninfo` for PostgreSQL."""

    backend: Backend
    path: Path | None = None
    conninfo: str | None = None

    def __post_init__(self) -> None:
        if self.backend == "sqlite" and (self.path is None or self.conninfo is not None):
            raise ValueError("a sqlite DatabaseUrl has a path and no conninfo")
        if self.backend == "postgresql" and (self.conninfo is None or self.path is not None):
            raise ValueError("a postgresql DatabaseUrl has a conninfo and no path")

    @classmethod
    def parse(cls, value: str) -> DatabaseUrl:
        """Parses a COFFEE_COACH_DB value; raises ValueError, without the password, if bad."""
        text = value.strip()
        if not text:
            raise ValueError(f"{ENV_VAR} is empty: give {FORMS}")
        match = _URL.match(text)
        if match is None:
            ours = _OURS_WITHOUT_SLASHES.match(text)
            if ours is not None:  # not echoed: it may hold a password we cannot find
                raise ValueError(
                    f"{ENV_VAR} starts with {ours[0]!r} but lacks the '//' after it: give {FORMS}"
                )
            return cls("sqlite", path=Path(text))
        scheme = match["scheme"].lower()
        rest = match["rest"]
        if scheme == "sqlite":
            return cls("sqlite", path=_sqlite_path(text, rest))
        if scheme in POSTGRES_SCHEMES:
            return cls("postgresql", conninfo=f"{scheme}://{rest}")
        raise ValueError(
            f"{ENV_VAR}={_redact_url(text)!r} has an unknown scheme {match['scheme']!r}: "
            f"give {FORMS}"
        )

    @property
    def sqlite_path(self) -> Path:
        if self.path is None:
            raise ValueError(f"{self.redacted()} is not a SQLite database")
        return self.path

    @property
    def postgres_conninfo(self) -> str:
        if self.conninfo is None:
            raise ValueError(f"{self.redacted()} is not a PostgreSQL database")
        return self.conninfo

    def redacted(self) -> str:
        """The URL for logs: the backend first, the password (if any) masked."""
        if self.path is not None:
            return "sqlite:///" + quote(str(self.path), safe="/")
        return _redact_url(self.postgres_conninfo)

    def __str__(self) -> str:
        return self.redacted()

    def __repr__(self) -> str:
        return f"DatabaseUrl({self.redacted()!r})"


def _sqlite_path(url: str, rest: str) -> Path:
    # rest is what follows "sqlite://": an empty host, then "/" and the path.
    text = _redact_url(url)
    if not rest.startswith("/"):
        raise ValueError(
            f"{ENV_VAR}={text!r}: a sqlite URL has no host; use sqlite:///relative/path "
            "or sqlite:////absolute/path"
        )
    if "?" in rest or "#" in rest:
        raise ValueError(f"{ENV_VAR}={text!r}: a sqlite URL takes no query or fragment")
    path = unquote(rest[1:])
    if not path:
        raise ValueError(f"{ENV_VAR}={text!r} names no file")
    return Path(path)


def _redact_url(url: str) -> str:
    """Masks the password of `scheme://user:password@host...` and any password= parameter.

    The user information is taken to run to the last "@", so a password with an unescaped
    "@", "/", "?" or "#" is still masked whole (at worst, more than the password is).
    """
    match = _URL.match(url)
    if match is None:
        return url
    rest = match["rest"]
    at = rest.rfind("@")
    if at >= 0:
        user, colon, _ = rest[:at].partition(":")
        if colon:
            user += ":" + MASK
        rest = user + rest[at:]
    rest = _PASSWORD_PARAM.sub(lambda m: m[1] + MASK, rest)
    return f"{match['scheme']}://{rest}"
