"""The administration pages in headless Chromium against the package's `smartfab demo`
(conftest.py), as an admin would use them: a user limited to the press shop added, an API token
created (its secret works), revoked (it no longer does), the audit log's chain verified with those
changes in it; at a phone's width every administration page fits and the menu reaches the alarms
and logout; and the user added, a viewer, sees neither the administration pages of admins nor
their menu tabs, and the API refuses them anyway."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.web.browser.conftest import ADMIN, CNC, QUIET, get_json, log_in, settled, shot

PRESSING = "shenyang/pressing"
VIEWER, PASSWORD = "press-viewer", "a long pass phrase 3"
ADMIN_ONLY = ("users", "tokens", "audit", "retention")
FOR_READERS = ("connectors", "setpoints", "export", "lineage")


def _status(url: str, secret: str) -> int:
    """The status of GET ``url`` with the API token ``secret``."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {secret}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return e.code


def test_admin_adds_a_user_creates_and_revokes_a_token_and_verifies_the_audit_log(
    page: Any, server: str
) -> None:
    page.on("dialog", lambda d: d.accept())  # "revoke the token?"
    page.goto(f"{server}/#/admin/users")
    page.wait_for_selector(".admin-section[data-loaded]")
    form = page.locator("form.add-user")
    form.locator("input[name=name]").fill(VIEWER)
    form.locator("select[name=role]").select_option("viewer")
    form.locator("input[name=scope]").fill(PRESSING)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("summary").click()  # what a viewer may do, beside the role picked
    assert form.locator("li[data-permission='plant.read']").count() == 1
    assert form.locator("li[data-permission='alarms.ack']").count() == 0
    form.locator("button[type=submit]").click()
    page.wait_for_selector("form.add-user .ok-box")
    row = page.locator(f"table.users tr[data-user='{VIEWER}']")
    assert PRESSING in row.inner_text() and "Viewer" in row.inner_text()
    users = {u["name"]: u for u in get_json(f"{server}/api/users")}
    assert (users[VIEWER]["role"], users[VIEWER]["scope"]) == ("viewer", PRESSING)
    shot(page, "admin-users")

    page.goto(f"{server}/#/admin/tokens")
    page.wait_for_selector(".admin-section[data-loaded]")
    form = page.locator("form.create-token")
    form.locator("input[name=name]").fill("mes import")
    form.locator("input[name=scope]").fill(PRESSING)
    form.locator("input[name=expires_days]").fill("30")
    form.locator("button[type=submit]").click()
    secret = page.locator("form.create-token code.secret").inner_text()
    assert secret.startswith("sft_")
    assert _status(f"{server}/api/me", secret) == 200
    token = next(t for t in get_json(f"{server}/api/tokens") if t["name"] == "mes import")
    assert (token["role"], token["scope"], token["revoked"]) == ("viewer", PRESSING, None)
    shot(page, "admin-token-created")
    row = page.locator(f"tr[data-token='{token['id']}']")
    row.locator("button[data-action=revoke]").click()
    page.wait_for_selector(f"tr[data-token='{token['id']}'][data-status='revoked']")
    assert _status(f"{server}/api/me", secret) == 401
    shot(page, "admin-tokens")

    page.goto(f"{server}/#/admin/audit")
    page.wait_for_selector(".admin-section[data-loaded]")
    page.locator("button[data-action=verify]").click()
    page.wait_for_selector(".verify-box[data-verified='ok']")
    head = get_json(f"{server}/api/audit/verify")["head_hash"]
    assert head in page.locator(".verify-box").inner_text()
    targets = page.locator("table.audit tr[data-seq] td.target").all_inner_texts()
    for target in (f"user:{VIEWER}", f"token:{token['id']}"):
        assert target in targets, targets
    actions = page.locator("table.audit tr[data-seq]").evaluate_all(
        "rs => rs.map(r => r.dataset.action)"
    )
    assert "token.revoke" in actions and "token.create" in actions
    shot(page, "admin-audit")


def test_phone_width_admin_pages_fit_and_the_menu_reaches_alarms_and_logout(
    browser: Any, server: str
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB")
    context.add_init_script(QUIET)
    pg = context.new_page()
    try:
        log_in(pg, server)
        for section in FOR_READERS + ADMIN_ONLY:
            pg.goto(f"{server}/#/admin/{section}")
            pg.wait_for_selector(".admin-section[data-loaded]", timeout=20000)
            settled(pg)
            overflow = pg.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{section} is {overflow} px too wide"
            shot(pg, f"phone-admin-{section}")
        # Narrow tables are cards: no header row, each value named.
        assert pg.locator(".as-cards table.security-events tr:has(th)").is_hidden()
        toggle = pg.locator("#menu-toggle")
        toggle.click()
        pg.locator(".mainnav a[data-nav='alarms']").click()
        pg.wait_for_selector(".page-alarms[data-loaded]")
        if pg.locator("tr[data-alarm]").count():
            assert pg.locator(".as-cards table.alarms").count() == 1
        toggle.click()
        pg.click("#logout")
        pg.wait_for_selector("body.login-page[data-ready='true']")
    finally:
        context.close()


def test_a_viewer_sees_no_admin_pages(browser: Any, server: str) -> None:
    """Runs after the admin added the viewer (tests of a module run in order)."""
    if VIEWER not in {u["name"] for u in get_json(f"{server}/api/users")}:
        request = urllib.request.Request(
            f"{server}/api/users",
            data=json.dumps(
                {"name": VIEWER, "role": "viewer", "scope": PRESSING, "password": PASSWORD}
            ).encode(),
            headers={"Content-Type": "application/json", "Cookie": ADMIN["cookie"]},
        )
        urllib.request.urlopen(request, timeout=5).close()
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-GB")
    pg = context.new_page()
    try:
        pg.goto(server + "/")
        pg.wait_for_selector("body.login-page[data-ready='true']")
        pg.fill("#login-user", VIEWER)
        pg.fill("#login-password", PASSWORD)
        pg.click("button[type=submit]")
        pg.wait_for_selector("body[data-ready='true'] #view")
        # The menu offers the page (its sections for readers): in the bar, or behind its button.
        assert pg.locator(".mainnav a[data-nav='admin']").evaluate("a => !a.hidden")
        pg.goto(f"{server}/#/admin")
        pg.wait_for_selector(".admin-section[data-loaded]")
        tabs = pg.locator(".tabs a").evaluate_all("as => as.map(a => a.dataset.section)")
        assert tabs == [*FOR_READERS, "plant"]  # the last: the plant model's page
        # Connectors: only the one that feeds the press shop, and no changing it.
        names = pg.locator("table.connectors tr[data-connector]").evaluate_all(
            "rs => rs.map(r => r.dataset.connector)"
        )
        assert names == ["modbus-press"]
        assert pg.locator("form.connector-settings button[type=submit]").is_hidden()
        # Setpoints: the press shop's writable signals, and no writing them.
        pg.goto(f"{server}/#/admin/setpoints")
        pg.wait_for_selector(".admin-section[data-loaded]")
        signals = pg.locator("table.writable tr[data-signal]").evaluate_all(
            "rs => rs.map(r => r.dataset.signal)"
        )
        assert signals and all(s.startswith(PRESSING + "/") for s in signals)
        assert pg.locator("button[data-action=write]").count() == 0
        shot(pg, "admin-viewer-setpoints")
        for section in ADMIN_ONLY:
            pg.goto(f"{server}/#/admin/{section}")
            pg.wait_for_selector(".admin-section .not-permitted")
        shot(pg, "admin-viewer-refused")
        refused = pg.evaluate(
            "Promise.all(['users', 'tokens', 'audit', 'retention'].map("
            "p => fetch('api/' + p).then(r => r.status)))"
        )
        assert refused == [403, 403, 403, 403]
    finally:
        context.close()


def test_export_downloads_the_signals_chosen(page: Any, server: str) -> None:
    """The export page tries the request first (a refusal would be shown in words), then the
    browser downloads the streamed file: the CSV holds the one signal chosen."""
    page.goto(f"{server}/#/admin/export/{CNC}")
    page.wait_for_selector(".admin-section[data-loaded]")
    page.locator(".signal-picks .all input").check()
    page.locator(".signal-picks .all input").uncheck()
    page.locator(f".signal-picks input[value='{CNC}/spindle_power']").check()
    page.locator("select[name=range]").select_option(str(3600 * 1000))
    with page.expect_download() as download:
        page.locator("button[data-action=download]").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    lines = text.splitlines()
    assert len(lines) > 1 and all(f"{CNC}/spindle_power" in line for line in lines[1:])
    # As counted when it was tried; points of the range still arriving may be stored since.
    points = int(page.locator(".export-form .form-message").get_attribute("data-points"))
    assert 0 < points <= len(lines) - 1 <= points + 10
