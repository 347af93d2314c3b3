"""GraphiQL works with no network: its page asks only this server for scripts and styles, the files served are
the ones its integrity hashes name, and in a real headless Chromium (Debian's ``chromium`` and
``chromium-driver``) that cannot resolve any other host the editor renders and runs ``viewer``."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import uvicorn

from bizzly.app import create_app
from bizzly.settings import Settings
from graphql_api.graphiql import ASSETS_DIR, ASSETS_PATH
from tests.support.accounts import sign_up
from tests.support.graphql import GraphQLClient
from tests.support.services import free_port

HTML = {"Accept": "text/html"}
CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
_ASSET = re.compile(r'(?:src|href)="([^"]+)"\s+integrity="([^"]+)"')


def _sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


async def test_the_page_loads_every_asset_from_this_server_as_its_hashes_say(http: httpx.AsyncClient) -> None:
    page = await http.get("/graphql", headers=HTML)
    assert page.status_code == 200
    assert "https://" not in re.sub(r"http://www\.w3\.org/2000/svg", "", page.text)  # the favicon's namespace
    assets = _ASSET.findall(page.text)
    assert len(assets) == 7, assets
    for url, integrity in assets:
        assert url.startswith(ASSETS_PATH + "/"), url
        assert (ASSETS_DIR / url.removeprefix(ASSETS_PATH + "/")).is_file(), f"not vendored: {url}"
        served = await http.get(url)
        assert served.status_code == 200, url
        assert _sri(served.content) == integrity, url


async def test_no_assets_where_graphiql_is_off(database_settings: dict[str, str]) -> None:
    from asgi_lifespan import LifespanManager

    from tests.conftest import make_settings

    app = create_app(make_settings(database_settings, graphiql=False))
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.get(f"{ASSETS_PATH}/graphiql@3.8.3/graphiql.min.js")
    assert response.status_code == 404


# --- in a real browser --------------------------------------------------------------------------------


@pytest.fixture
def live_server(settings: Settings) -> Iterator[str]:
    """The app under uvicorn on a free loopback port, in a thread of this process."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "the server stopped while starting"
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=20)


def _run_viewer_in_chromium(url: str, profile: Path) -> tuple[str, list[str]]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.ui import WebDriverWait

    assert CHROMIUM is not None
    assert CHROMEDRIVER is not None
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        # No network but this server: every other host name fails to resolve.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.get(url)
        wait = WebDriverWait(driver, 30)
        wait.until(seen.presence_of_element_located((By.CSS_SELECTOR, ".graphiql-query-editor .CodeMirror")))
        wait.until(seen.element_to_be_clickable((By.CSS_SELECTOR, ".graphiql-execute-button"))).click()
        wait.until(seen.text_to_be_present_in_element((By.CSS_SELECTOR, ".result-window"), '"viewer"'))
        result = driver.find_element(By.CSS_SELECTOR, ".result-window").text
        errors = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]  # type: ignore[no-untyped-call]
        return result, errors
    finally:
        driver.quit()


@pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="no Chromium: apt-get install chromium chromium-driver (Debian; .ci/run installs them)",
)
async def test_graphiql_renders_and_runs_viewer_offline_in_chromium(live_server: str, tmp_path: Path) -> None:
    async with httpx.AsyncClient(base_url=live_server) as client:
        owner = await sign_up(
            GraphQLClient(client), slug="graphiql-check", email="owner@graphiql.example.com"
        )
    # GraphiQL reads the query and the request headers from its address (Strawberry's page: q, headers).
    query = quote("{ viewer { role } }")
    headers = quote(json.dumps({"Authorization": f"Bearer {owner.access_token}"}))
    url = f"{live_server}/graphql?q={query}&headers={headers}"
    result, errors = await asyncio.to_thread(_run_viewer_in_chromium, url, tmp_path / "chromium")
    assert json.loads(result) == {"data": {"viewer": {"role": "OWNER"}}}
    assert errors == []
