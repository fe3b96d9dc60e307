"""The curl examples of README.md and docs/quickstart.md, run one after the other (as a new user follows them)
against a fresh real server, so the documentation cannot drift from what the server does."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import httpx

from server import Server

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", ROOT / "docs" / "quickstart.md"]
DOC_URL = "http://127.0.0.1:10123"
FENCE = re.compile(r"^```(?:sh|bash)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def shell_commands(text: str) -> list[str]:
    """The commands of the shell code blocks: a command spans lines while a quote is open or a line ends in \\."""
    commands: list[str] = []
    for block in FENCE.findall(text):
        pending = ""
        for line in block.splitlines():
            pending = f"{pending}\n{line}" if pending else line
            if pending.endswith("\\"):
                pending = pending[:-1]
                continue
            try:
                shlex.split(pending, comments=True)
            except ValueError:  # an open quote: the command goes on on the next line
                continue
            commands.append(pending.strip())
            pending = ""
        assert pending == "", f"unfinished command in a code block: {pending!r}"
    return commands


def curl_request(command: str, base_url: str, device_id: str) -> dict[str, Any]:
    """A curl command line (as documented) as the request it sends."""
    command = command.replace("<id>", device_id).replace("$ID", device_id).replace(DOC_URL, base_url)
    args = shlex.split(command, comments=True)
    assert args[0] == "curl", command
    request: dict[str, Any] = {"method": "GET", "headers": {}, "content": None, "url": None}
    it = iter(args[1:])
    for arg in it:
        if arg == "-s":
            continue
        if arg == "-X":
            request["method"] = next(it)
        elif arg == "-H":
            name, _, value = next(it).partition(":")
            request["headers"][name.strip()] = value.strip()
        elif arg == "-d":
            request["content"] = next(it)
            if request["method"] == "GET":
                request["method"] = "POST"
        else:
            assert request["url"] is None and arg.startswith(base_url), f"unexpected curl argument {arg!r}"
            request["url"] = arg
    return request


def test_readme_and_quickstart_examples_work_one_after_another(make_server: Any) -> None:
    srv: Server = make_server()  # --demo: the Simulated register the docs talk about
    device_id = srv.fiscal_ids()[0]
    ran = receipts = 0
    with httpx.Client(timeout=30) as client:
        for doc in DOCS:
            for command in shell_commands(doc.read_text(encoding="utf-8")):
                assignment = re.match(r"^ID=\$\((curl [^|]*)\|", command)
                if assignment:  # ID=$(curl .../devices/fiscal | python3 -c ...): the id of the first register
                    command = assignment.group(1)
                elif not command.startswith("curl "):
                    continue
                r = client.request(**curl_request(command, srv.url, device_id))
                assert r.status_code == 200, f"{doc.name}: {command}\n{r.status_code} {r.text}"
                if r.headers["content-type"].startswith("application/json"):
                    body = r.json()
                    assert body.get("status", 200) == 200, f"{doc.name}: {command}\n{r.text}"
                    if assignment:
                        assert body["fiscal_devices"][0]["config"]["id"] == device_id
                    receipts += "receipt_number" in body.get("result", {})
                    assert r.headers.get("Idempotent-Replayed") is None, f"{doc.name}: {command} was a replay"
                ran += 1
        printout = client.get(f"{srv.url}/devices/{device_id}/journal", params={"format": "text"})
    assert ran >= 6 and receipts == 2  # README's receipt and the quickstart's: two receipts, no conflict
    assert printout.text.count("BON FISCAL") == 2


def test_command_splitting_follows_quotes_and_continuations() -> None:
    text = "```sh\ncurl -s URL \\\n  -d '{\"a\":[\n  1]}'   # note\ncurl -s other\n```\n"
    assert shell_commands(text) == ["curl -s URL \n  -d '{\"a\":[\n  1]}'   # note", "curl -s other"]
