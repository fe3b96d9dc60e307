"""/docs (Swagger UI) and /redoc work on a till without internet: every script, style sheet and icon they load
comes from this service."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from inproc import asgi_client


def test_docs_pages_load_nothing_from_elsewhere(tmp_path: Path) -> None:
    async def go() -> None:
        async with asgi_client(tmp_path) as c:
            for page in ("/docs", "/redoc"):
                html = (await c.get(page)).text
                assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
                assets += re.findall(r"""(?:url|favicon_url|spec-url)\W+["']([^"']+)["']""", html)
                assert assets, page
                for asset in assets:
                    assert not re.match(r"(https?:)?//", asset), (page, asset)
                    r = await c.get(asset)
                    assert r.status_code == 200 and len(r.content) > 0, (page, asset)
                assert not re.search(r"""["'](https?:)?//""", html), page  # no absolute URL anywhere

    asyncio.run(go())
