"""The /ui dashboard in real headless Chromium against a real server process (issue 12's scenarios).

One server (``--demo``) and one browser for the module; each test opens its own page and leaves a screenshot
of what it checked under test-artifacts/ui/. Without Chromium or Playwright the module is skipped with one
loud reason in the summary (pytest runs with -ra).
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser import ARTIFACTS, CHROMIUM_ARGS, MISSING, chromium_path
from tremol_env import TremolProcess
from viva_harness import EmulatedTerminal

from fiscald.emulators.viva import CLIENT_ID, CLIENT_SECRET, ISV_CLIENT_ID, ISV_CLIENT_SECRET, MERCHANT_ID, TERMINAL_ID
from fiscald.errors import ERRORS
from fiscald.store import devices as device_repo
from server import Server, free_port, item, op

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
    expect(page.locator(f"#{rate.get_attribute('id')}-error")).to_have_text("At most 99.99 %.")  # in percent, as typed
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
    facts = page.locator("#action-result dl.facts")  # read first, in lei; the JSON only on request
    expect(facts).to_contain_text("Total0.01 lei")
    expect(facts).to_contain_text("Voidedyes")
    expect(result).to_be_hidden()
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


def lei(cents: int, language: str) -> str:
    """An amount as the dashboard must show it: thousands grouped, two decimals, the currency."""
    whole = f"{abs(cents) // 100:,}"
    rest = f"{abs(cents) % 100:02d}"
    text = f"{whole}.{rest}" if language == "en" else f"{whole.replace(',', '.')},{rest}"
    return f"{'-' if cents < 0 else ''}{text} lei"


def set_language(api: httpx.Client, language: str) -> None:
    assert api.post("/manage/save_settings", json={"language": language}).status_code == 200


def axe_findings(page: Page) -> list[str]:
    page.evaluate(Axe().axe_script)
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']]}"
            for v in results["violations"] if v["impact"] in ("serious", "critical")]


def day_receipts(api: httpx.Client, device: str, day: int) -> list[int]:
    entries = api.get(f"/devices/{device}/journal", params={"kind": "receipt,void"}).json()["entries"]
    return [e["number"] for e in entries if e["fiscal_day"] == day]


def test_x_and_z_reports_read_as_a_report_in_lei(page: Page, srv: Server, api: httpx.Client, register: str) -> None:
    """X and Z answers as a printout: totals per VAT group, payments, counts, the day's receipt numbers, in lei
    with the page's number format (1,234.56 lei / 1.234,56 lei); the raw JSON only behind a disclosure."""
    big = api.post("/devices/operation", json=op(register, "print_receipt", {
        "lines": [item("Televizor", price=123456), item("Apa", qty=2000, price=450, vat="B")],
        "payments": [{"type": "card", "amount_cents": 100000}, {"type": "cash", "amount_cents": 24356}]}))
    assert big.status_code == 200, big.text
    open_ui(page, srv, f"#/device/{register}")
    page.get_by_role("button", name="X report").click()
    view = page.locator("#report-view")
    expect(view).to_be_visible()
    x = api.post("/devices/operation", json=op(register, "x_report")).json()["result"]  # nothing sold since
    numbers = day_receipts(api, register, x["fiscal_day"])
    vat = view.locator("table.vat-table")
    expect(vat.locator("tfoot")).to_contain_text(lei(x["total_cents"], "en"))
    for letter, group in x["vat_totals"].items():
        row = vat.locator("tbody tr").filter(has=page.get_by_role("rowheader", name=letter, exact=True))
        expect(row).to_contain_text(lei(group["base_cents"], "en"))
        expect(row).to_contain_text(lei(group["vat_cents"], "en"))
    pay = view.locator("table.pay-table")
    expect(pay.get_by_role("row").filter(has_text="Card")).to_contain_text(lei(x["payments"]["card"], "en"))
    assert x["payments"]["card"] >= 100000 and "," in lei(x["payments"]["card"], "en")  # grouped thousands shown
    facts = view.locator("dl.facts")
    expect(facts).to_contain_text(f"Receipts{x['receipts_count']}")
    expect(facts).to_contain_text(f"Voided receipts{x['voided_count']}")
    expect(facts).to_contain_text(f"{min(numbers)} – {max(numbers)}")
    expect(view.locator("details pre")).to_be_hidden()  # the JSON is there only on request
    text = view.inner_text()
    assert '"total_cents"' not in text and not re.search(r"\b\d+ ?cents?\b", text)
    for cell in view.locator("td.num").all_inner_texts():  # every amount carries its currency
        assert cell.endswith(" lei") or cell.endswith(" %"), cell
    assert axe_findings(page) == []
    shot(page, "report-x-en")

    set_language(api, "ro")
    try:
        page.reload()  # the language is read when the dashboard loads
        expect(page.locator("main")).to_have_attribute("data-rendered", f"#/device/{register}")
        page.get_by_role("button", name="Raport Z").click()
        page.get_by_role("dialog").get_by_role("button", name="Emite raportul Z").click()
        expect(view).to_be_visible()
        z = api.get(f"/devices/{register}/reports").json()["reports"][-1]
        expect(view.locator("h3")).to_have_text(f"Raport Z nr. {z['z_number']}")
        expect(view.locator("table.vat-table tfoot")).to_contain_text(lei(z["total_cents"], "ro"))
        assert "." in lei(z["total_cents"], "ro")  # 1.234,56 lei
        expect(view.locator("table.pay-table")).to_contain_text("Card")
        expect(view.locator("caption").first).to_have_text("Totaluri pe cote TVA")
        shot(page, "report-z-ro")
    finally:
        set_language(api, "en")


def test_romanian_ui_translates_validation_toasts_states_and_says_what_to_do(
        page: Page, srv: Server, api: httpx.Client, register: str) -> None:
    set_language(api, "ro")
    try:
        page.goto(f"{srv.url}/ui/#/devices/new/fiscal")
        expect(page.locator("main")).to_have_attribute("data-rendered", "#/devices/new/fiscal")
        form = page.locator("form.device-form")
        form.get_by_role("button", name="Salvează").click()
        name = form.get_by_label("Nume", exact=True)
        expect(name).to_have_attribute("aria-invalid", "true")
        expect(page.locator(f"#{name.get_attribute('id')}-error")).to_have_text("Cel puțin 1 caracter(e).")
        general = form.locator(".form-errors")
        expect(general).to_contain_text("Cel puțin 1 caracter(e).")
        expect(general.locator(".next-step")).to_contain_text("Corectați câmpurile marcate")
        assert "String should" not in form.inner_text()
        name.fill("Casa RO")
        form.get_by_role("button", name="Salvează").click()
        expect(page.locator("#notice")).to_have_text("Casa RO a fost adăugat.")
        shot(page, "ro-toast")

        open_ui(page, srv, f"#/device/{register}")
        expect(page.locator("#main")).to_contain_text("oprit (niciun folder)")  # the INP state, translated
        page.get_by_label("Defect").select_option("paper_out")
        page.get_by_role("button", name="Aplică").click()
        page.get_by_role("button", name="Bon de test").click()
        result = page.locator("#action-result")
        expect(result.locator(".error")).to_contain_text(ERRORS[2001].ro)
        expect(result.locator(".next-step")).to_have_text(
            "Ce faceți: Puneți hârtie și închideți capacul, apoi reîncercați cu aceeași cheie.")
        shot(page, "ro-error-next-step")
    finally:
        api.post("/manage/simulate", json={"device_id": register, "fault": "none"})
        for d in api.get("/devices/fiscal").json()["fiscal_devices"]:
            if d["config"]["name"] == "Casa RO":
                api.post("/manage/delete_fiscal_device", json={"id": d["config"]["id"]})
        set_language(api, "en")


def test_settings_edit_hosts_store_and_central_url_without_showing_its_password(
        page: Page, srv: Server, api: httpx.Client) -> None:
    secret = "s3cret-Pw-987"
    try:
        open_ui(page, srv, "#/settings")
        hosts = page.get_by_label("Allowed host names")
        hosts.fill("till.local\nhttp://bad.example")
        page.get_by_role("button", name="Save").click()
        expect(hosts).to_have_attribute("aria-invalid", "true")
        expect(page.locator(f"#{hosts.get_attribute('id')}-error")).to_contain_text(
            "'http://bad.example' is not a host name or IP address")
        hosts.fill("till.local\n192.168.1.20")
        page.get_by_label("Central database URL").fill(f"postgresql://store:{secret}@127.0.0.1:9/fiscald")
        page.get_by_role("button", name="Save").click()  # no store_id yet: refused beside the field
        store = page.get_by_label("Store id")
        expect(store).to_have_attribute("aria-invalid", "true")
        expect(page.locator(f"#{store.get_attribute('id')}-error")).to_contain_text("Required with the central URL")
        store.fill("cluj 07")
        page.get_by_role("button", name="Save").click()
        expect(page.locator(f"#{store.get_attribute('id')}-error")).to_contain_text("1–64 letters")
        store.fill("cluj-07")
        page.get_by_role("button", name="Save").click()
        expect(page.locator("#notice")).to_have_text("Settings saved.")
        central = page.get_by_label("Central database URL")
        expect(central).to_have_value("postgresql://store:***@127.0.0.1:9/fiscald")  # as the API shows it
        shown = api.get("/manage/get_settings").json()
        assert shown["allowed_hosts"] == ["till.local", "192.168.1.20"] and shown["store_id"] == "cluj-07"
        values = page.locator("input, textarea").evaluate_all("els => els.map(e => e.value)")
        page_text = page.content() + "".join(values)
        assert secret not in page_text
        central.fill("postgresql://store:***@127.0.0.2:9/fiscald")  # another host, the mask kept: asked for it
        page.get_by_role("button", name="Save").click()
        expect(page.locator(f"#{central.get_attribute('id')}-error")).to_contain_text("password is still ***")
        assert api.get("/manage/get_settings").json()["central_url"] == "postgresql://store:***@127.0.0.1:9/fiscald"
        central.fill("postgresql://store:***@127.0.0.1:9/fiscald")
        page.get_by_label("Store id").fill("cluj-08")  # the masked URL goes unchanged: the password stays
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_label("Store id")).to_have_value("cluj-08")
        conn = sqlite3.connect(srv.data_dir / "fiscald.db")
        conn.row_factory = sqlite3.Row
        try:
            stored = device_repo.load_settings(conn)
        finally:
            conn.close()
        assert stored.central_url == f"postgresql://store:{secret}@127.0.0.1:9/fiscald"
        shot(page, "settings-central")
    finally:
        answer = api.post("/manage/save_settings", json={"central_url": None, "store_id": None, "allowed_hosts": []})
        assert answer.status_code == 200, answer.text


NARROW_PAGES = ["#/devices", "#/devices/new/fiscal", "#/device/{id}", "#/journal/{id}", "#/settings", "#/"]


def test_pages_fit_a_400px_screen(browser: Browser, srv: Server, register: str) -> None:
    context = browser.new_context(viewport={"width": 400, "height": 800})
    page = context.new_page()
    try:
        overflowing = {}
        for route in NARROW_PAGES:
            hash_ = route.format(id=register)
            page.goto(f"{srv.url}/ui/{hash_}")
            expect(page.locator("main")).to_have_attribute("data-rendered", hash_)
            expect(page.locator("main .muted", has_text="Loading")).to_have_count(0)
            sizes = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            if sizes[0] > sizes[1]:
                overflowing[route] = sizes
            if route == "#/devices":
                row = page.locator("table.device-table tbody tr").first
                expect(row.get_by_role("button", name="Disable")).to_be_in_viewport()
                shot(page, "devices-400px")
        assert overflowing == {}
    finally:
        context.close()


def test_datecs_register_form_operator_password_lines_and_payment_codes(
        page: Page, srv: Server, api: httpx.Client) -> None:
    supported = api.get("/manage/get_supported_devices").json()["fiscal"]
    datecs = next(g for g in supported if g["manufacturer"] == "Datecs")
    model = "FP-700X"
    table = datecs["payment_codes"][model]
    open_ui(page, srv, "#/devices/new/fiscal")
    form = page.locator("form.device-form")
    form.get_by_label("Manufacturer").select_option("Datecs")
    form.get_by_label("Model").select_option(model)
    form.get_by_label("Connection").select_option("Network")
    form.get_by_label("Name", exact=True).fill("Datecs test")
    form.get_by_label("IP address").fill("127.0.0.1")
    form.get_by_label("TCP port").fill(str(free_port()))
    expect(form.get_by_label("Rate A")).to_be_hidden()
    card = form.get_by_label("Card", exact=True)
    default = table["defaults"]["card"]
    expect(card.locator("option:checked")).to_have_text(f"Default: {default} — {table['codes'][default]}")
    expect(card.locator("option")).to_have_count(len(table["codes"]) + 1)
    operator = form.get_by_label("Operator code")
    password = form.get_by_label("Operator password")
    operator.fill("100")
    password.fill("12ab")
    form.get_by_role("button", name="Save").click()
    expect(operator).to_have_attribute("aria-invalid", "true")
    expect(page.locator(f"#{operator.get_attribute('id')}-error")).to_have_text("Must be at most 99.")
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(page.locator(f"#{password.get_attribute('id')}-error")).to_have_text(
        "Digits only, 1 to 8 of them (e.g. 0000).")
    assert axe_findings(page) == []
    shot(page, "datecs-form-errors")
    operator.fill("7")
    password.fill("4321")
    card.select_option("2")
    # a Datecs register prints its own header and footer: lines given here are refused on save (docs/devices.md)
    form.get_by_label("Header lines").fill("MAGAZIN TEST SRL")
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_text("a Datecs register prints its own header").first).to_be_visible()
    form.get_by_label("Header lines").fill("")
    form.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"#/devices$"))
    created = [d["config"] for d in api.get("/devices/fiscal").json()["fiscal_devices"]
               if d["config"]["name"] == "Datecs test"]
    try:
        assert len(created) == 1
        config = created[0]
        assert (config["operator"], config["operator_password"]) == (7, "4321")
        assert config["payment_codes"] == {"card": "2"}
        assert config["header_lines"] == [] and config["footer_lines"] == []
        page.get_by_role("row").filter(has_text="Datecs test").get_by_role("link", name="Edit Datecs test").click()
        expect(form.get_by_label("Operator code")).to_have_value("7")
        expect(form.get_by_label("Operator password")).to_have_value("4321")
        expect(form.get_by_label("Card", exact=True)).to_have_value("2")
        form.get_by_label("Model").select_option("DP-25")  # another protocol: its own codes and defaults
        old = datecs["payment_codes"]["DP-25"]
        expect(form.get_by_label("Card", exact=True).locator("option:checked")).to_have_text(
            f"Default: {old['defaults']['card']} — {old['codes'][old['defaults']['card']]}")
        form.get_by_role("button", name="Save").click()
        expect(page).to_have_url(re.compile(r"#/devices$"))
        saved = next(d["config"] for d in api.get("/devices/fiscal").json()["fiscal_devices"]
                     if d["config"]["id"] == config["id"])
        assert saved["model"] == "DP-25" and saved["payment_codes"] is None and saved["operator_password"] == "4321"
        shot(page, "datecs-saved")
    finally:
        for config in created:
            api.post("/manage/delete_fiscal_device", json={"id": config["id"]})


def stored_secret(srv: Server, device: str, name: str = "password") -> str | None:
    """A connection secret as the server stored it (the API only ever shows ***)."""
    conn = sqlite3.connect(srv.data_dir / "fiscald.db")
    conn.row_factory = sqlite3.Row
    try:
        config = next(c for c in device_repo.list_devices(conn) if c.id == device)
    finally:
        conn.close()
    secret: str | None = config.connection_details.details.get(name)
    return secret


def test_lan_password_of_a_tremol_register_is_set_kept_and_removed(
        page: Page, srv: Server, api: httpx.Client, tmp_path: Path) -> None:
    """Offered only where the brand's registers ask one (get_supported_devices: network_password); never back in
    the page; an edit that leaves it empty keeps it (the emulator, which asks for it, still takes receipts)."""
    secret = "Lan-7391"
    emu = TremolProcess(tmp_path / "emu", "M20", password=secret)
    device = None
    try:
        open_ui(page, srv, "#/devices/new/fiscal")
        form = page.locator("form.device-form")
        form.get_by_label("Manufacturer").select_option("Datecs")
        form.get_by_label("Connection").select_option("Network")
        expect(form.get_by_label("IP address")).to_be_visible()
        expect(form.get_by_label("LAN password")).to_have_count(0)  # a Datecs register asks none
        form.get_by_label("Manufacturer").select_option("Tremol")
        form.get_by_label("Model").select_option("M20")
        form.get_by_label("Connection").select_option("Network")
        password = form.get_by_label("LAN password")
        expect(password).to_have_attribute("type", "password")
        expect(password).to_have_attribute("autocomplete", "off")
        expect(page.locator(f"#{password.get_attribute('id')}-hint")).to_have_text(
            "Only if the register asks for one on the network. No spaces or diacritics.")
        form.get_by_label("Name", exact=True).fill("Tremol LAN")
        form.get_by_label("IP address").fill("127.0.0.1")
        form.get_by_label("TCP port").fill(str(emu.port))
        password.fill(secret)
        assert axe_findings(page) == []
        form.get_by_role("button", name="Save").click()
        expect(page).to_have_url(re.compile(r"#/devices$"))
        # connected: the register got the password it asks for (a missing or wrong one is refused)
        expect(page.get_by_role("row").filter(has_text="Tremol LAN").locator("[data-status-for]")).to_have_text(
            "Connected")
        listed = api.get("/devices/fiscal").json()["fiscal_devices"]
        [view] = [d for d in listed if d["config"]["name"] == "Tremol LAN"]
        device = view["config"]["id"]
        assert view["config"]["connection_details"]["details"]["password"] == "***"
        assert secret not in str(listed)
        assert stored_secret(srv, device) == secret

        page.get_by_role("row").filter(has_text="Tremol LAN").get_by_role("link", name="Edit Tremol LAN").click()
        password = form.get_by_label("LAN password")
        expect(password).to_have_value("")
        expect(page.locator(f"#{password.get_attribute('id')}-hint")).to_have_text(
            "A password is stored. Leave empty to keep it.")
        values = page.locator("input, textarea").evaluate_all("els => els.map(e => e.value)")
        assert secret not in page.content() + "".join(values)
        shot(page, "tremol-lan-password")
        form.get_by_label("Name", exact=True).fill("Tremol LAN 2")
        form.get_by_role("button", name="Save").click()
        expect(page).to_have_url(re.compile(r"#/devices$"))
        expect(page.get_by_role("row").filter(has_text="Tremol LAN 2")).to_be_visible()
        assert stored_secret(srv, device) == secret
        sold = api.post("/devices/operation", json=op(device, "print_receipt", {
            "lines": [item("Ceai", price=250)], "payments": [{"type": "cash", "amount_cents": 250}]}))
        assert sold.status_code == 200, sold.text
        assert emu.simulate()["device"]["receipt_number"] == 1

        page.get_by_role("row").filter(has_text="Tremol LAN 2").get_by_role("link", name="Edit Tremol LAN 2").click()
        form.get_by_label("Remove the stored password").check()
        expect(form.get_by_label("LAN password")).to_be_disabled()
        form.get_by_role("button", name="Save").click()
        expect(page).to_have_url(re.compile(r"#/devices$"))
        [config] = [d["config"] for d in api.get("/devices/fiscal").json()["fiscal_devices"]
                    if d["config"]["id"] == device]
        assert "password" not in config["connection_details"]["details"] and config["name"] == "Tremol LAN 2"
        assert stored_secret(srv, device) is None
    finally:
        if device is not None:
            api.post("/manage/delete_fiscal_device", json={"id": device})
        emu.stop()


def test_cloud_viva_terminal_through_the_form_keeps_its_secret(
        page: Page, srv: Server, api: httpx.Client, tmp_path: Path) -> None:
    """A Viva terminal over the Cloud Terminal API (the emulator standing in for Viva's hosts): entered through
    the form with the API's field errors beside the fields (an Advanced one unfolded), connected with the typed
    credentials, its client secret never back in the page, and kept by an edit of another field."""
    term = EmulatedTerminal(tmp_path / "viva", card_delay_ms=0).start()
    device = None
    try:
        open_ui(page, srv, "#/devices/new/pos")
        form = page.locator("form.device-form")
        form.get_by_label("Manufacturer").select_option("VivaWallet")
        form.get_by_label("Connection").select_option("Cloud")
        expect(form.get_by_label("IP address")).to_have_count(0)
        secret = form.get_by_label("Client secret")
        expect(secret).to_have_attribute("type", "password")
        expect(secret).to_have_attribute("autocomplete", "off")
        expect(form.get_by_label("Viva environment")).to_have_value("demo")
        expect(form.get_by_label("Merchant ID")).to_be_hidden()  # the ISV variant only when chosen
        form.get_by_label("ISV partner credentials, acting for a merchant").check()
        expect(form.get_by_label("Merchant ID")).to_be_visible()
        expect(form.get_by_label("ISV fee (%)")).to_be_visible()
        form.get_by_label("ISV partner credentials, acting for a merchant").uncheck()
        expect(form.get_by_label("Merchant ID")).to_be_hidden()
        advanced = form.locator("details.advanced")
        expect(advanced).not_to_have_attribute("open", "")
        form.get_by_label("Name", exact=True).fill("Viva cloud")
        form.get_by_label("Client ID").fill(CLIENT_ID)
        form.get_by_label("Terminal ID").fill("160 00010")
        advanced.locator("summary").click()
        form.get_by_label("Cash register ID").fill("casa-1")
        form.get_by_label("Accounts server URL").fill(term.url)
        api_url = form.get_by_label("API server URL")
        api_url.fill("ftp://127.0.0.1")
        advanced.locator("summary").click()  # folded again: the error below unfolds it
        form.get_by_role("button", name="Save").click()
        terminal = form.get_by_label("Terminal ID")
        expect(terminal).to_have_attribute("aria-invalid", "true")
        expect(page.locator(f"#{terminal.get_attribute('id')}-error")).to_have_text(
            "Letters, digits and '-' only, as the Viva app shows it.")
        expect(secret).to_have_attribute("aria-invalid", "true")
        expect(page.locator(f"#{secret.get_attribute('id')}-error")).to_have_text("Required.")
        expect(advanced).to_have_attribute("open", "")
        expect(api_url).to_have_attribute("aria-invalid", "true")
        expect(page.locator(f"#{api_url.get_attribute('id')}-error")).to_have_text(
            "'ftp://127.0.0.1' is not an address like https://host or http://host:port.")
        terminal.fill(TERMINAL_ID)
        secret.fill(CLIENT_SECRET)
        api_url.fill(term.url)
        assert axe_findings(page) == []
        shot(page, "viva-cloud-form")
        form.get_by_role("button", name="Save").click()
        expect(page).to_have_url(re.compile(r"#/devices$"))
        row = page.get_by_role("row").filter(has_text="Viva cloud")
        expect(row).to_contain_text(f"Cloud {TERMINAL_ID} (demo)")
        # connected: the emulator issued a token for the typed credentials (a wrong secret shows an Error)
        expect(row.locator("[data-status-for]")).to_have_text("Connected")
        [view] = [d for d in api.get("/devices/pos").json()["pos_terminals"] if d["config"]["name"] == "Viva cloud"]
        device = view["config"]["id"]
        assert view["config"]["connection_details"] == {"type": "Cloud", "details": {
            "environment": "demo", "terminal_id": TERMINAL_ID, "client_id": CLIENT_ID, "cash_register_id": "casa-1",
            "accounts_url": term.url, "api_url": term.url, "client_secret": "***"}}
        assert stored_secret(srv, device, "client_secret") == CLIENT_SECRET

        row.get_by_role("link", name="Edit Viva cloud").click()
        secret = form.get_by_label("Client secret")
        expect(secret).to_have_value("")
        expect(page.locator(f"#{secret.get_attribute('id')}-hint")).to_have_text(
            "A secret is stored. Leave empty to keep it.")
        expect(form.locator("details.advanced")).to_have_attribute("open", "")  # it holds stored values
        expect(form.get_by_label("Client ID")).to_have_value(CLIENT_ID)
        values = page.locator("input, textarea").evaluate_all("els => els.map(e => e.value)")
        assert CLIENT_SECRET not in page.content() + "".join(values)
        form.get_by_label("Cash register ID").fill("casa-2")
        form.get_by_role("button", name="Save").click()
        expect(page).to_have_url(re.compile(r"#/devices$"))
        expect(page.get_by_role("row").filter(has_text="Viva cloud").locator("[data-status-for]")).to_have_text(
            "Connected")
        [config] = [d["config"] for d in api.get("/devices/pos").json()["pos_terminals"] if d["config"]["id"] == device]
        assert config["connection_details"]["details"]["cash_register_id"] == "casa-2"
        assert config["connection_details"]["details"]["client_secret"] == "***"
        assert stored_secret(srv, device, "client_secret") == CLIENT_SECRET
        # the kept secret still gets a token: a sale goes through the cloud, from the edited cash register
        sold = api.post("/devices/operation", json=op(device, "pos_sale", {"amount_cents": 1500}),
                        headers={"Idempotency-Key": "ui-cloud-sale-1"})
        assert sold.status_code == 200, sold.text
        sales = [r for r in term.emulator.requests if r["path"].endswith("transactions:sale")]
        assert [s["body"]["cashRegisterId"] for s in sales] == ["casa-2"]
        assert [c["amount"] for c in term.charges()] == [1500]
    finally:
        if device is not None:
            api.post("/manage/delete_pos_terminal", json={"id": device})
        term.stop()


def test_cloud_viva_terminal_switched_to_the_isv_variant_through_the_form(
        page: Page, srv: Server, api: httpx.Client, tmp_path: Path) -> None:
    """Ticking "ISV partner credentials" is what makes it the ISV variant (merchant_id set): the merchant's UUID
    checked beside its field, the fee typed in percent and stored in basis points, a newly typed secret replacing
    the stored one; the emulator then takes the sale on its ISV endpoints only."""
    term = EmulatedTerminal(tmp_path / "viva", card_delay_ms=0).start()
    saved = api.post("/manage/save_pos_terminal", json={"name": "Viva ISV", "manufacturer": "VivaWallet",
                                                        "model": "Q30", "connection_details": term.connection("cloud")})
    assert saved.status_code == 200, saved.text
    device = saved.json()["id"]
    try:
        open_ui(page, srv, f"#/devices/edit/{device}")
        form = page.locator("form.device-form")
        isv = form.get_by_label("ISV partner credentials, acting for a merchant")
        expect(isv).not_to_be_checked()
        isv.check()
        merchant = form.get_by_label("Merchant ID")
        merchant.fill("not-a-uuid")
        form.get_by_label("ISV fee (%)").fill("1.5")
        form.get_by_label("Client ID").fill(ISV_CLIENT_ID)
        form.get_by_label("Client secret").fill(ISV_CLIENT_SECRET)
        form.get_by_role("button", name="Save").click()
        expect(merchant).to_have_attribute("aria-invalid", "true")
        expect(page.locator(f"#{merchant.get_attribute('id')}-error")).to_have_text(
            "A UUID, like xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.")
        assert stored_secret(srv, device, "client_secret") == CLIENT_SECRET  # refused: nothing changed
        merchant.fill(MERCHANT_ID)
        assert axe_findings(page) == []
        shot(page, "viva-cloud-isv")
        form.get_by_role("button", name="Save").click()
        expect(page).to_have_url(re.compile(r"#/devices$"))
        expect(page.get_by_role("row").filter(has_text="Viva ISV").locator("[data-status-for]")).to_have_text(
            "Connected")
        [config] = [d["config"] for d in api.get("/devices/pos").json()["pos_terminals"] if d["config"]["id"] == device]
        details = config["connection_details"]["details"]
        assert (details["merchant_id"], details["isv_fee_bp"], details["client_id"], details["client_secret"]) == (
            MERCHANT_ID, 150, ISV_CLIENT_ID, "***")
        assert stored_secret(srv, device, "client_secret") == ISV_CLIENT_SECRET

        page.get_by_role("row").filter(has_text="Viva ISV").get_by_role("link", name="Edit Viva ISV").click()
        expect(form.get_by_label("ISV partner credentials, acting for a merchant")).to_be_checked()
        expect(form.get_by_label("Merchant ID")).to_have_value(MERCHANT_ID)
        expect(form.get_by_label("ISV fee (%)")).to_have_value("1.50")
        sold = api.post("/devices/operation", json=op(device, "pos_sale", {"amount_cents": 2000}),
                        headers={"Idempotency-Key": "ui-cloud-isv-sale-1"})
        assert sold.status_code == 200, sold.text
        [charge] = term.charges()
        assert (charge["amount"], charge["merchant_id"], charge["isv_amount"]) == (2000, MERCHANT_ID, 30)
    finally:
        api.post("/manage/delete_pos_terminal", json={"id": device})
        term.stop()


AMOUNTS = [0, 1, 7, 99, 100, 1005, 123456, -123456, -5, 100_000_000_000, 2**53 - 1]


def test_amounts_are_lei_by_string_arithmetic(page: Page, srv: Server) -> None:
    """dom.money() on amounts where floating point would show (0.07, 10.05, 2^53 - 1 cents), both languages."""
    open_ui(page, srv)
    shown = page.evaluate("""async (values) => {
      const dom = await import("/ui/js/dom.js");
      const i18n = await import("/ui/js/i18n.js");
      const out = {};
      for (const language of ["en", "ro"]) {
        i18n.setLanguage(language);
        out[language] = values.map((v) => dom.money(v));
      }
      return out;
    }""", AMOUNTS)
    assert shown == {language: [lei(v, language) for v in AMOUNTS] for language in ("en", "ro")}
    assert shown["ro"][6] == "1.234,56 lei" and shown["en"][6] == "1,234.56 lei" and shown["en"][5] == "10.05 lei"
