"""The ``central_url`` setting: a ``postgresql://`` URL. Checked when saved, shown only with its password masked,
and described by host, port and database alone in logs and status."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg.conninfo

from fiscald.config import Settings

MASK = "***"
SCHEMES = ("postgresql", "postgres")
ENV_URL = "FISCALD_CENTRAL_URL"
ENV_STORE_ID = "FISCALD_STORE_ID"
STORE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def problem(url: str) -> str | None:
    """Why ``url`` is not a usable PostgreSQL URL, or None."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        return f"not a URL ({exc})"
    if parts.scheme not in SCHEMES:
        return "expected a URL like postgresql://user:password@host:5432/database"
    try:
        psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        return f"not a valid PostgreSQL URL ({str(exc).strip().splitlines()[0]})"
    return None


def mask(url: str | None) -> str | None:
    """``url`` with its password (in the user part or a ``password=`` parameter) replaced by ``***``."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        user, host = netloc.rsplit("@", 1)
        if ":" in user:
            netloc = f"{user.split(':', 1)[0]}:{MASK}@{host}"
    query = urlencode([(k, MASK if k == "password" else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)],
                      safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def describe(url: str) -> str:
    """Where ``url`` points, without user or password: ``host:port/database``."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "an invalid URL"
    host = str(info.get("host") or "localhost")
    return f"{host}:{info.get('port') or 5432}/{info.get('dbname') or info.get('user') or ''}"


@dataclass(frozen=True)
class Target:
    """Where this store ships, and under which name: from the environment, else from the settings."""

    url: str | None
    store_id: str | None
    source: str  # "env", "settings" or "none"

    @property
    def problem(self) -> str | None:
        if self.url is None:
            return None
        url_problem = problem(self.url)
        if url_problem is not None:
            return f"central_url: {url_problem}"
        if self.store_id is None:
            return "store_id: not set (the name this store ships under; setting store_id or FISCALD_STORE_ID)"
        if not STORE_ID.match(self.store_id):
            return f"store_id: {self.store_id!r} is not 1-64 letters, digits, '.', '_' or '-'"
        return None


def target(settings: Settings) -> Target:
    env_url = os.environ.get(ENV_URL) or None
    env_store = os.environ.get(ENV_STORE_ID) or None
    url = env_url or settings.central_url
    source = "env" if env_url else ("settings" if url else "none")
    return Target(url, env_store or settings.store_id, source)
