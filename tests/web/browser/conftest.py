"""The web app in a real headless Chromium against a real server: one `smartfab demo` (virtual
factory on OPC UA and Modbus in its own process, connectors, ingestion, API and web app) on free
ports for the whole package, which its modules share (starting one takes a quarter of a minute);
it stops when the package's tests are done. A module that needs other data serves them itself
(test_values.py: its own `server`).

The demo creates the admin on its first start and prints the password once: the fixture reads it
from the demo's output, and the tests log in through the login page, as a person would.

Screenshots land in test-artifacts/browser/ (git-ignored) for a person to look at. Without
/usr/bin/chromium (the Debian package; scripts/install adds it) the tests skip, except under
CI=true, where a missing browser is a failure rather than a silent gap.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import demo_plant_on_free_ports, free_port

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "browser"
CNC = "shenyang/machining/cnc-line-1/cell-1/cnc-01"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

if not CHROMIUM.exists():
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing: scripts/install installs it", pytrace=False)
    pytest.skip(
        f"{CHROMIUM} is missing (apt-get install chromium; scripts/install does it as root)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")


ADMIN: dict[str, str] = {}  # user, password and session cookie of the running demo


def get_json(url: str) -> Any:
    """The answer of a GET as the demo's admin."""
    request = urllib.request.Request(url, headers={"Cookie": ADMIN.get("cookie", "")})
    with urllib.request.urlopen(request, timeout=5) as r:
        return json.load(r)


def _user_menu_item(page: Any, selector: str) -> Any:
    """An item of the user's menu (language, logout), opening the menu under the user's name
    first when the top bar is wide (a compact bar shows them in its own menu)."""
    if not page.locator(selector).is_visible():
        page.click("#user-menu-toggle")
    return page.locator(selector)


def choose_language(page: Any, lang: str) -> None:
    _user_menu_item(page, "#lang").select_option(lang)


def log_out(page: Any) -> None:
    _user_menu_item(page, "#logout").click()


def _login(url: str, user: str, password: str) -> str:
    """The session cookie of a login over the API."""
    request = urllib.request.Request(
        f"{url}/api/login",
        data=json.dumps({"user": user, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as r:
        return str(r.headers["Set-Cookie"]).split(";")[0]


def _read_output(stream: Any, lines: list[str]) -> None:
    for line in stream:
        lines.append(line)


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a running `smartfab demo` with a few hours of history and live connectors."""
    folder = tmp_path_factory.mktemp("browser")
    plant = demo_plant_on_free_ports(folder)
    port = free_port()
    demo = subprocess.Popen(
        [sys.executable, "-m", "smartfab", "demo", "--days", "0.25", "--plant", str(plant),
         "--data-dir", str(folder / "data"), "--port", str(port)],
        # One stream, drained by one thread all along: a full pipe would block the demo.
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    output: list[str] = []
    reader = threading.Thread(target=_read_output, args=(demo.stdout, output), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while True:
            assert demo.poll() is None, "".join(output)
            assert time.monotonic() < deadline, "the demo did not connect within 120 s"
            if "cookie" not in ADMIN:
                found = re.search(
                    r"created the user admin with the password (\S+)", "".join(output)
                )
                if found is None or not any("smartfab is running" in x for x in output):
                    time.sleep(0.5)
                    continue
                ADMIN.update(user="admin", password=found.group(1))
                ADMIN["cookie"] = _login(url, "admin", ADMIN["password"])
            try:
                connectors = get_json(f"{url}/api/connectors")
                if connectors and all(c["points"] > 0 for c in connectors):
                    break
            except OSError:
                pass
            time.sleep(0.5)
        yield url
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(timeout=60)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait()
        reader.join(timeout=5)
        ADMIN.clear()


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    """A page of a new browser context (its own cookies and storage), logged in as the admin;
    a script error or a failed request in it fails the test."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    # Leaving a page aborts its requests in flight (net::ERR_ABORTED); anything else is a fault.
    pg.on(
        "requestfailed",
        lambda r: None if "ERR_ABORTED" in (r.failure or "") else errors.append(r.url),
    )
    # Offline for real: any request that leaves the server would be a CDN or a leak.
    pg.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith(server) else route.abort(),
    )
    log_in(pg, server)
    yield pg
    context.close()
    assert not errors, errors


def log_in(page: Any, server: str) -> None:
    """Through the login page: the app sends a browser without a session there."""
    page.goto(server + "/")
    page.wait_for_selector("body.login-page[data-ready='true']")
    page.fill("#login-user", "admin")
    page.fill("#login-password", ADMIN["password"])
    page.click("button[type=submit]")
    page.wait_for_selector("body[data-ready='true'] #view")


def shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def in_language(page: Any, server: str, lang: str, path: str) -> None:
    """Open the app's page at ``path`` in ``lang``, as chosen before (kept in local storage)."""
    page.evaluate(f"localStorage.setItem('smartfab.lang', '{lang}')")
    page.goto(server + path)
    page.reload()
    page.wait_for_selector("body[data-ready='true']")


# In every document of a context: counts the page's fetch requests until their answers have
# arrived whole (a copy of each is read to the end) and tells whether none has been open for the
# last ``ms``. The live feed is an EventSource, which this does not count.
QUIET = """(() => {
  const fetch = window.fetch.bind(window);
  let open = 0, last = performance.now();
  const done = () => { open--; last = performance.now(); };
  window.fetch = (...args) => {
    open++;
    return fetch(...args).then(
      (r) => { r.clone().arrayBuffer().then(done, done); return r; },
      (e) => { done(); throw e; },
    );
  };
  window.__quiet = (ms) => open === 0 && performance.now() - last >= ms;
})();"""


def settled(page: Any) -> None:
    """Wait until the page has what it asked for: no request open for 300 ms (charts and tables
    fill in after the page is ready) and the live feed's first values shown. Needs QUIET in the
    page's context (``context.add_init_script(QUIET)``)."""
    page.wait_for_function(
        "window.__quiet(300) && document.querySelector('#live-status').dataset.state === 'live'"
    )


def broken_words(page: Any, selector: str) -> list[str]:
    """The words of the elements at ``selector`` that are split over two lines."""
    return list(
        page.evaluate(
            """sel => {
                const broken = [];
                for (const el of document.querySelectorAll(sel)) {
                  const node = el.firstChild;
                  if (!node || node.nodeType !== Node.TEXT_NODE) continue;
                  // Latin and Cyrillic words; Chinese wraps between any two characters.
                  const words = /[A-Za-z\\u00c0-\\u024f\\u0400-\\u04ff]+/g;
                  for (const m of node.textContent.matchAll(words)) {
                    const r = document.createRange();
                    r.setStart(node, m.index);
                    r.setEnd(node, m.index + m[0].length);
                    const lines = new Set([...r.getClientRects()].map((b) => Math.round(b.top)));
                    if (lines.size > 1) broken.push(m[0]);
                  }
                }
                return broken;
            }""",
            selector,
        )
    )
