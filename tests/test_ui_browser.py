"""The /ui dashboard in real headless Chromium against a real server process (issue 12's scenarios).

One server (``--demo``) and one browser for the module; each test opens its own page and leaves a screenshot
of what it checked under test-artifacts/ui/. Without Chromium or Playwright the module is skipped with one
loud reason in the summary (pytest runs with -ra).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser import ARTIFACTS, CHROMIUM_ARGS, MISSING, chromium_path

from server import Server, item, op

if MISSING:
    pytest.skip(MISSING, allow_module_level=True)

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect, sync_playwright

TOKEN = "ui-test-token-0123456789abcdef"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(tmp_path_factory.mktemp("ui")).start()
    with httpx.Client(base_url=server.url) as c:
        assert c.post("/manage/save_settings", json={"language": "en"}).status_code == 200
    yield server
    server.stop()


@pytest.fixture(scope="module")
def api(srv: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=srv.url, timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def register(srv: Server) -> str:
    return srv.fiscal_ids()[0]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def shot(page: Page, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0
    return path


def open_ui(page: Page, srv: Server, route: str = "") -> None:
    page.goto(f"{srv.url}/ui/{route}")
    expect(page.locator("main")).to_have_attribute("data-rendered", route or "#/")
    expect(page.locator("#live")).to_have_text("live")  # the event stream is up: later changes are pushed


def sell(api: httpx.Client, device: str, payments: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"lines": [item("Cafea", price=1200), item("Apa", qty=2000, price=450, vat="B")]}
    if payments is not None:
        params["payments"] = payments
    answer = api.post("/devices/operation", json=op(device, "print_receipt", params))
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()["result"]
    return result


def test_add_register_through_the_form_with_field_errors(page: Page, srv: Server, api: httpx.Client) -> None:
    open_ui(page, srv, "#/devices")
    page.get_by_role("link", name="Add cash register").click()
    form = page.locator("form.device-form")
    form.get_by_role("button", name="Save").click()
    name = form.get_by_label("Name", exact=True)
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(page.locator(f"#{name.get_attribute('id')}-error")).to_contain_text("at least 1 character")
    name.fill("Casa 2")
    form.get_by_label("Rate A").fill("150")
    form.get_by_role("button", name="Save").click()
    rate = form.get_by_label("Rate A")
    expect(rate).to_have_attribute("aria-invalid", "true")
    expect(page.locator(f"#{rate.get_attribute('id')}-error")).to_contain_text("9999")
    shot(page, "device-form-errors")
    rate.fill("19")
    form.get_by_label("Rate B").fill("9,5")
    form.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"#/devices$"))
    row = page.get_by_role("row").filter(has_text="Casa 2")
    expect(row.locator("[data-status-for]")).to_have_text("Connected")
    shot(page, "devices-after-add")
    created = [d for d in api.get("/devices/fiscal").json()["fiscal_devices"] if d["config"]["name"] == "Casa 2"]
    assert len(created) == 1
    assert created[0]["vat_rates"]["A"] == 1900
    assert created[0]["vat_rates"]["B"] == 950


def test_edit_disable_and_delete_a_register(page: Page, srv: Server, api: httpx.Client) -> None:
    saved = api.post("/manage/save_fiscal_device", json={
        "name": "Casa 3", "manufacturer": "Simulated", "model": "Simulated",
        "connection_details": {"type": "Virtual", "details": {}}, "notes": "keep me"})
    device = saved.json()["id"]
    open_ui(page, srv, "#/devices")
    row = page.get_by_role("row").filter(has_text="Casa 3")
    row.get_by_role("link", name="Edit Casa 3").click()
    page.get_by_label("Name", exact=True).fill("Casa 3 bis")
    page.get_by_label("INP file encoding").select_option("cp1250")
    page.get_by_role("button", name="Save").click()
    row = page.get_by_role("row").filter(has_text="Casa 3 bis")
    expect(row).to_be_visible()
    listed = api.get("/devices/fiscal").json()["fiscal_devices"]
    config = next(d["config"] for d in listed if d["config"]["id"] == device)
    assert config["name"] == "Casa 3 bis" and config["notes"] == "keep me"  # only the changed field was sent
    assert config["scan_encoding"] == "cp1250"
    row.get_by_role("button", name="Disable").click()
    expect(page.get_by_role("row").filter(has_text="Casa 3 bis").locator("[data-status-for]")).to_have_text("Disabled")
    page.get_by_role("row").filter(has_text="Casa 3 bis").get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Delete Casa 3 bis?")
    dialog.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("row").filter(has_text="Casa 3 bis")).to_have_count(0)
    shot(page, "devices-after-delete")
    assert device not in {d["config"]["id"] for d in api.get("/devices/fiscal").json()["fiscal_devices"]}


def test_test_receipt_from_the_register_page(page: Page, srv: Server, api: httpx.Client, register: str) -> None:
    before = api.post("/devices/operation", json=op(register, "get_status")).json()["result"]["last_receipt_number"]
    open_ui(page, srv, f"#/device/{register}")
    page.get_by_role("button", name="Test receipt").click()
    result = page.locator("#action-result pre")
    expect(result).to_contain_text('"voided": true')
    expect(result).to_contain_text(f'"receipt_number": {before + 1}')
    expect(page.locator("#status-facts")).to_contain_text(str(before + 1))
    shot(page, "register-test-receipt")
    journal = api.get(f"/devices/{register}/journal", params={"kind": "void"}).json()["entries"]
    assert journal[-1]["number"] == before + 1


def test_paper_out_changes_the_badge_without_reload(page: Page, srv: Server, register: str) -> None:
    open_ui(page, srv, f"#/device/{register}")
    badge = page.locator(f"h1 [data-status-for='{register}']")
    expect(badge).to_have_text("Connected")
    page.evaluate("window.__sameDocument = true")
    page.get_by_label("Fault").select_option("paper_out")
    page.get_by_role("button", name="Apply").click()
    expect(badge).to_contain_text("Error")
    expect(badge).to_have_class(re.compile("s-error"))
    assert page.evaluate("window.__sameDocument") is True  # pushed over the WebSocket, not reloaded
    page.get_by_role("button", name="Test receipt").click()
    expect(page.locator("#action-result")).to_contain_text("paper")
    shot(page, "register-paper-out")
    page.get_by_label("Fault").select_option("none")
    page.get_by_role("button", name="Apply").click()
    expect(badge).to_have_text("Connected")


def test_find_the_receipt_in_the_journal(page: Page, srv: Server, api: httpx.Client, register: str) -> None:
    sold = sell(api, register)
    open_ui(page, srv, f"#/journal/{register}")
    page.get_by_label("Receipt number").fill(str(sold["receipt_number"]))
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#journal-count")).to_have_text("Entries found: 1")
    entry = page.locator("article.entry")
    expect(entry).to_have_count(1)
    expect(entry.locator("h3")).to_contain_text(f"Receipt {sold['receipt_number']}")
    paper = entry.locator("pre.paper")
    expect(paper).to_contain_text(f"BON FISCAL {sold['receipt_number']}")
    expect(paper).to_contain_text("Cafea")
    assert max(len(line) for line in paper.inner_text().splitlines()) <= 42
    shot(page, "journal-receipt")


def test_journal_pages_newest_first(page: Page, srv: Server, api: httpx.Client, register: str) -> None:
    numbers = [sell(api, register)["receipt_number"] for _ in range(11)]
    open_ui(page, srv, f"#/journal/{register}")
    page.get_by_label("Kind").select_option("receipt")
    page.get_by_role("button", name="Search").click()
    entries = page.locator("article.entry")
    expect(entries).to_have_count(10)
    expect(entries.first).to_have_attribute("data-number", str(numbers[-1]))
    total = api.get(f"/devices/{register}/journal", params={"kind": "receipt"}).json()["count"]
    expect(page.get_by_text(re.compile(r"Page 1 of \d+"))).to_have_text(f"Page 1 of {(total + 9) // 10}")
    page.get_by_role("button", name="Next").click()
    expect(entries.first).to_have_attribute("data-number", str(numbers[-11]))
    expect(page.get_by_role("button", name="Previous")).to_be_enabled()
    shot(page, "journal-page-2")


def test_export_csv_rows(page: Page, srv: Server, api: httpx.Client, register: str) -> None:
    payments = [{"type": "card", "amount_cents": 1000}, {"type": "cash", "amount_cents": 2000}]
    sold = sell(api, register, payments=payments)
    open_ui(page, srv, f"#/journal/{register}")
    page.get_by_label("Kind").select_option("receipt")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("article.entry").first).to_be_visible()
    with page.expect_download() as info:
        page.get_by_role("button", name="CSV").click()
    text = Path(info.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and {r["kind"] for r in rows} == {"receipt"}
    mine = [r for r in rows if r["number"] == str(sold["receipt_number"])]
    assert len(mine) == 1
    assert mine[0]["total_cents"] == str(sold["total_cents"]) == "2100"
    assert mine[0]["pay_card_cents"] == "1000" and mine[0]["pay_cash_cents"] == "1100"
    assert mine[0]["gross_A_cents"] == "1200" and mine[0]["gross_B_cents"] == "900"
    shot(page, "journal-export")


def test_today_at_a_glance_plots(page: Page, srv: Server, api: httpx.Client, register: str) -> None:
    sell(api, register, payments=[{"type": "card", "amount_cents": 2100}])
    open_ui(page, srv, f"#/glance/{register}")
    day = page.locator("#glance-day")
    expect(day.locator("svg.chart")).to_have_count(2)
    expect(day.locator("svg.chart rect.bar").first).to_be_visible()
    expect(day.get_by_role("img", name=re.compile("Takings by payment type"))).to_contain_text("Card")
    count_before = int(day.locator(".stat-value").first.inner_text())
    sell(api, register)  # pushed as a journal event: the page redraws by itself
    expect(day.locator(".stat-value").first).to_have_text(str(count_before + 1))
    shot(page, "glance")


def test_z_report_through_its_confirmation(page: Page, srv: Server, api: httpx.Client, register: str) -> None:
    sell(api, register)
    reports_before = api.get(f"/devices/{register}/reports").json()["count"]
    open_ui(page, srv, f"#/device/{register}")
    page.get_by_role("button", name="Z report").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("closes the fiscal day")
    shot(page, "z-confirm")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert api.get(f"/devices/{register}/reports").json()["count"] == reports_before
    page.get_by_role("button", name="Z report").focus()
    page.keyboard.press("Enter")  # the keyboard reaches it too; Escape cancels
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert api.get(f"/devices/{register}/reports").json()["count"] == reports_before
    page.get_by_role("button", name="Z report").click()
    dialog.get_by_role("button", name="Print the Z report").click()
    expect(page.locator("#action-result pre")).to_contain_text('"z_number"')
    assert api.get(f"/devices/{register}/reports").json()["count"] == reports_before + 1
    expect(page.locator("#status-facts")).to_contain_text("No fiscal day open")
    shot(page, "z-done")


def test_playground_shows_the_exact_exchange(page: Page, srv: Server, register: str) -> None:
    open_ui(page, srv, "#/playground")
    expect(page.locator("#pg-params")).to_have_value(re.compile('"lines"'))  # prefilled, valid example
    page.get_by_label("Idempotency-Key").fill("ui-playground-1")
    page.get_by_role("button", name="Send").click()
    response = page.locator("#pg-response")
    expect(response).to_contain_text("HTTP 200")
    expect(response).to_contain_text('"receipt_number"')
    request = page.locator("#pg-request")
    expect(request).to_contain_text("POST /devices/operation")
    expect(request).to_contain_text("Idempotency-Key: ui-playground-1")
    expect(request).to_contain_text(register)
    page.get_by_role("button", name="Send").click()
    expect(response).to_contain_text("idempotent-replayed: true")
    page.get_by_label("Operation").select_option("cash_out")
    page.locator("#pg-params").fill('{"amount_cents": 1.5}')
    page.get_by_role("button", name="Send").click()
    expect(response).to_contain_text("HTTP 400")
    expect(response).to_contain_text("params.amount_cents")
    shot(page, "playground")


def test_language_follows_the_setting(page: Page, srv: Server, api: httpx.Client) -> None:
    open_ui(page, srv, "#/settings")
    page.get_by_label("Language").select_option("ro")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("link", name="Dispozitive")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "ro")
    assert api.get("/manage/get_settings").json()["language"] == "ro"
    page.get_by_role("link", name="Dispozitive").click()
    expect(page.locator("tbody [data-status-for]").first).to_have_text("Conectat")
    shot(page, "devices-ro")
    assert api.post("/manage/save_settings", json={"language": "en"}).status_code == 200


def test_settings_say_what_needs_a_restart(page: Page, srv: Server, api: httpx.Client) -> None:
    open_ui(page, srv, "#/settings")
    page.get_by_label("API port").fill("10999")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert").filter(has_text="restarts")).to_contain_text("api_port")
    shot(page, "settings-restart")
    assert api.get("/manage/get_settings").json()["api_port"] == 10999
    page.get_by_label("Bind address").fill("0.0.0.0")  # beyond loopback without a token: refused, field marked
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".settings .result .error")).to_contain_text("bind_address")
    expect(page.get_by_label("Bind address")).to_have_attribute("aria-invalid", "true")
    assert api.post("/manage/save_settings", json={"api_port": 10123}).status_code == 200


MAIN_PAGES = ["#/", "#/devices", "#/devices/new/fiscal", "#/device/{id}", "#/journal/{id}", "#/playground",
              "#/settings"]


def test_accessibility_of_the_main_pages(page: Page, srv: Server, register: str) -> None:
    """axe-core (labels, contrast, roles, keyboard traps…) finds no serious or critical violation on any page.

    axe is injected once; the pages are reached by hash navigation in the same document, as a person would."""
    open_ui(page, srv)
    page.evaluate(Axe().axe_script)
    found: dict[str, list[str]] = {}
    for route in MAIN_PAGES:
        page.evaluate("hash => { location.hash = hash; }", route.format(id=register))
        expect(page.locator("main")).to_have_attribute("data-rendered", route.format(id=register))
        expect(page.locator("main .muted", has_text="Loading")).to_have_count(0)
        results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        found[route] = [f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']]}"
                        for v in results["violations"] if v["impact"] in ("serious", "critical")]
        shot(page, "a11y-" + (route.strip("#/").split("/")[0] or "glance") + ("-form" if "new" in route else ""))
    assert {route: v for route, v in found.items() if v} == {}


def test_token_is_asked_for_and_kept_out_of_urls(page: Page, srv: Server, api: httpx.Client) -> None:
    assert api.post("/manage/save_settings", json={"api_token": TOKEN}).status_code == 200
    try:
        assert api.get("/devices/fiscal").status_code == 401
        assert api.get("/ui/").status_code == 200  # the page itself is open, it asks for the token
        assert api.get("/ui/strings.json").status_code == 200
        assert api.post("/ui/", json={}).status_code == 401  # only reading the files is open
        page.goto(f"{srv.url}/ui/#/devices")
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text("API token")
        dialog.get_by_label("API token").fill("wrong-token-wrong-token")
        dialog.get_by_role("button", name="Continue").click()
        expect(dialog.locator("#token-error")).to_have_text("The token is not valid.")
        dialog.get_by_label("API token").fill(TOKEN)
        shot(page, "token-dialog")
        dialog.get_by_role("button", name="Continue").click()
        expect(page.locator("tbody [data-status-for]").first).to_have_text("Connected")
        expect(page.locator("#live")).to_have_text("live")
        assert TOKEN not in page.url
        assert page.evaluate("sessionStorage.getItem('fiscald.api_token')") == TOKEN
        assert page.evaluate("localStorage.length") == 0
        shot(page, "devices-with-token")
    finally:
        cleared = api.post("/manage/save_settings", json={"api_token": None},
                           headers={"Authorization": f"Bearer {TOKEN}"})
        assert cleared.status_code == 200
