"""The ``central_url`` setting: a ``postgresql://`` URL. Checked when saved, shown only with its password masked,
and described by host, port and database alone in logs and status."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import unquote

import psycopg.conninfo

from fiscald.config import Settings

MASK = "***"
SCHEMES = ("postgresql", "postgres")
ENV_URL = "FISCALD_CENTRAL_URL"
ENV_STORE_ID = "FISCALD_STORE_ID"
STORE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


# Characters a password must carry percent-encoded: they end the user part (``@``), start the path, query or
# fragment (``/ ? #``), start an escape (``%`` not followed by two hex digits), or are white space or control.
_UNSAFE_IN_PASSWORD = re.compile(r"[@/?#\s\x00-\x1f\x7f]|%(?![0-9A-Fa-f]{2})")
_PASSWORD_PARAM = re.compile(r"([?&]password=)(.*?)(?=&[A-Za-z_]+=|$)", re.IGNORECASE | re.DOTALL)
_ENCODE_HINT = ("percent-encode it in the URL: %25 for %, %40 for @, %2F for /, %3F for ?, %23 for #, %20 for a "
                "space")


def _userinfo(url: str) -> tuple[str, str, str] | None:
    """``url`` cut by structure, not parsed: (everything up to ``//``, the user part, ``@`` and the rest). The
    user part runs from ``//`` to the **last** ``@``, so a password holding ``@ / ? # %`` or anything else
    falls inside it whatever it contains. None when there is no user part."""
    start = url.find("//")
    at = url.rfind("@")
    if start < 0 or at < start + 2:
        return None
    return url[:start + 2], url[start + 2:at], url[at:]


def _passwords(url: str) -> list[str]:
    """The password text in ``url``, as written: after the user name's ``:``, and in ``password=`` parameters."""
    found = [m.group(2) for m in _PASSWORD_PARAM.finditer(url)]
    parts = _userinfo(url)
    if parts is not None and ":" in parts[1]:
        found.append(parts[1].split(":", 1)[1])
    return found


def mask(url: str | None) -> str | None:
    """``url`` with its password (after the user name, or in a ``password=`` parameter) replaced by ``***``.
    Works on the text's structure, so it holds for URLs no parser accepts (an unencoded ``%``, ``@``, ``/``)."""
    return None if url is None else _masked(url)


def _masked(url: str) -> str:
    parts = _userinfo(url)
    if parts is not None and ":" in parts[1]:
        head, userinfo, rest = parts
        url = f"{head}{userinfo.split(':', 1)[0]}:{MASK}{rest}"
    return _PASSWORD_PARAM.sub(lambda m: m.group(1) + MASK, url)


def scrub(text: str, url: str | None) -> str:
    """``text`` (an error message, say) with every form of ``url``'s password replaced by ``***``."""
    if not url:
        return text
    secrets = set()
    for raw in _passwords(url):
        secrets.update({raw, unquote(raw, errors="replace"), unquote(raw, errors="surrogateescape")})
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def problem(url: str) -> str | None:
    """Why ``url`` is not a usable PostgreSQL URL, or None. Never quotes the password."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme.lower() not in SCHEMES:
        return "expected a URL like postgresql://user:password@host:5432/database"
    if any(_UNSAFE_IN_PASSWORD.search(raw) for raw in _passwords(url)):
        return f"the password holds characters a URL cannot carry as they are; {_ENCODE_HINT} (not shown here)"
    try:
        psycopg.conninfo.conninfo_to_dict(_masked(url))
    except psycopg.ProgrammingError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return f"not a valid PostgreSQL URL ({scrub(first, url)})"
    return None


def describe(url: str) -> str:
    """Where ``url`` points, without user or password: ``host:port/database``."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(_masked(url))
    except psycopg.ProgrammingError:
        return "an invalid URL"
    host = str(info.get("host") or "localhost")
    return scrub(f"{host}:{info.get('port') or 5432}/{info.get('dbname') or info.get('user') or ''}", url)


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
