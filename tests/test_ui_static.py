"""The /ui files as served and as packaged, and the completeness of their Romanian and English texts."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import get_args

import httpx
import pytest

from fiscald.errors import Code
from fiscald.interfaces.inp.service import InpState
from fiscald.interfaces.web import SECURITY_HEADERS, STATIC
from fiscald.journal_export import KINDS, PAYMENT_TYPES
from fiscald.models.config import ConnectionType
from fiscald.models.simulate import FaultName

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "fiscald"
JS_FILES = sorted((STATIC / "js").rglob("*.js"))


def test_index_and_assets_are_served_with_strict_headers(client: httpx.Client) -> None:
    index = client.get("/ui/")
    assert index.status_code == 200
    assert index.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/ui/js/app.js">' in index.text
    for name, value in SECURITY_HEADERS.items():
        assert index.headers[name] == value
    assert "frame-ancestors 'none'" in index.headers["content-security-policy"]
    script = client.get("/ui/js/app.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert client.get("/ui/style.css").headers["content-type"].startswith("text/css")
    assert client.get("/ui", follow_redirects=True).text == index.text


def test_unknown_and_escaping_paths_are_404(client: httpx.Client) -> None:
    assert client.get("/ui/nope.js").status_code == 404
    assert client.get("/ui/../pyproject.toml").status_code == 404
    assert client.get("/ui/%2e%2e/%2e%2e/app.py").status_code == 404


def test_pages_use_no_inline_script_style_or_remote_asset() -> None:
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    assert "<script>" not in html and "<style" not in html and " style=" not in html
    for path in [STATIC / "index.html", STATIC / "style.css", *JS_FILES]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(src|href)=\"(https?:)?//", text), path
        assert "innerHTML" not in text, path  # data is always inserted as text


def _strings() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = json.loads((STATIC / "strings.json").read_text(encoding="utf-8"))
    return data


def test_both_languages_have_every_text_the_scripts_use() -> None:
    strings = _strings()
    assert set(strings) == {"ro", "en"}
    assert set(strings["ro"]) == set(strings["en"])
    used: set[str] = set()
    for path in JS_FILES:
        used |= set(re.findall(r"\bt\(\"([a-z0-9_]+)\"", path.read_text(encoding="utf-8")))
    families = {
        "kind_": KINDS, "pay_": PAYMENT_TYPES, "fault_": get_args(FaultName),
        "conn_": tuple(c.lower() for c in get_args(ConnectionType)),  # t(`conn_${type}`): every type offered
        "nav_": ("glance", "devices", "journal", "playground", "settings"),
        "inp_": get_args(InpState),
        "next_": tuple(str(int(code)) for code in Code),  # what to do next, for every error code there is
    }
    for prefix, values in families.items():
        used |= {prefix + v for v in values}
    used |= {"cash_in", "cash_out", "header_lines", "footer_lines", "header_lines_hint", "footer_lines_hint",
             "x_report", "z_report", "paid", "change", "voided", "reports_count"}  # t(name), t(key), t(label)
    used |= {f"toast_{what}" for what in ("enabled", "disabled", "created", "updated")}  # t(cond ? … : …)
    messages = (STATIC / "js" / "messages.js").read_text(encoding="utf-8")
    used |= set(re.findall(r'"(v_[a-z_]+)"', messages))  # the translation of each API validation message
    missing = sorted(used - set(strings["en"]))
    assert missing == []
    for language in ("ro", "en"):
        assert all(text.strip() for text in strings[language].values()), language


@pytest.mark.parametrize("language", ["ro", "en"])
def test_placeholders_agree_between_languages(language: str) -> None:
    strings = _strings()
    other = "en" if language == "ro" else "ro"
    for key, text in strings[language].items():
        assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", strings[other][key])), key


def test_every_static_file_is_package_data() -> None:
    """A non-editable `pip install .` ships exactly what [tool.setuptools.package-data] globs."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["fiscald"]
    shipped = {p for pattern in patterns for p in PACKAGE.glob(pattern) if p.is_file()}
    files = {p for p in STATIC.rglob("*") if p.is_file()}
    assert files and files <= shipped


def test_every_field_specific_message_names_a_general_one() -> None:
    """``v_<rule>_<field>`` overrides the wording of rule ``v_<rule>`` for one field (messages.js)."""
    strings = _strings()["en"]
    messages = (STATIC / "js" / "messages.js").read_text(encoding="utf-8")
    rules = set(re.findall(r'"(v_[a-z_]+)"', messages))
    specific = {key for key in strings if key.startswith("v_") and key not in rules}
    assert specific and all(any(key.startswith(rule + "_") for rule in rules) for key in specific), specific
