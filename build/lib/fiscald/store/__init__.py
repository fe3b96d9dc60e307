"""SQLite store: schema, migrations, group-committing database and repositories."""

from fiscald.store.db import Database

__all__ = ["Database"]
