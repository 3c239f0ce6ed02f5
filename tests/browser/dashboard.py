#!/usr/bin/env python3
"""The dashboard in a real browser (Chromium driven by Playwright).

Starts the real `hookd` binary on 127.0.0.1 (a free port) with SQLite in a
temporary directory, a `forward` source whose target answers 400 (so its
events go dead), sends really signed webhooks, mints tokens with
`hookd token`, and checks every view of /ui/. Any console error or page
error fails the run, except the 401/403 answers a step provokes on purpose.
Screenshots of every view go to --screenshots.

    python3 tests/browser/dashboard.py --hookd target/debug/hookd --screenshots /tmp/shots
"""

import argparse
import base64
import hashlib
import json
import os
import re
import sys
import tempfile
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from harness import (
    CHROMIUM_ARGS, FORM_BODY, RETIRED_SECRET, XSS_TYPE, TIMEOUT_MS, Hookd, RefusingTarget, Watch,
    check, expired_token, fail, nav, passed, shot, sign_in, wait_for,
)


def run(hookd, shots):
    admin = hookd.token("--sub", "ui-test", "--ttl", "1h")
    stats_only = hookd.token("--sub", "stats-only", "--ttl", "1h", "--scope", "stats:read")

    # Stored data: processed events, an HTML-in-type event, dead events, a forged request.
    types = ["invoice.paid", "customer.created", "invoice.paid", "charge.refunded", "invoice.paid"]
    for n, kind in enumerate(types, 1):
        status, _ = hookd.send("default", {"event_id": f"evt_seed_{n}", "type": kind, "amount": n * 100})
        assert status == 202, status
    assert hookd.send("default", {"event_id": "evt_xss", "type": XSS_TYPE, "note": "<script>alert(2)</script>"})[0] == 202
    assert hookd.send("billing", {"event_id": "evt_bill_1", "type": "invoice.failed", "amount": 4200})[0] == 202
    assert hookd.send("billing", {"event_id": "evt_bill_2", "type": "invoice.failed", "amount": 1300})[0] == 202
    assert hookd.send_form() == 202
    status, _ = hookd.send("default", {"event_id": "evt_forged", "type": "invoice.paid"}, secret="not-the-secret-at-all-0123456789")
    assert status == 401, status
    status, _ = hookd.send("default", {"event_id": "evt_retired", "type": "invoice.paid"}, secret=RETIRED_SECRET)
    assert status == 401, status
    wait_for("both billing events to be dead", lambda: hookd.api("/stats", admin)["dead"] == 2)
    wait_for("the seed events to be processed",
             lambda: hookd.api("/stats", admin)["by_status"].get("processed") == 7)
    wait_for("both refused requests in the quarantine", lambda: len(hookd.api("/rejections", admin)["items"]) == 2)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light")
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        watch = Watch(page)
        assets = []
        page.on("response", lambda response: assets.append(response) if "/ui/assets/" in response.url else None)

        # Headers of the page and its assets.
        response = page.goto(hookd.base + "/ui/")
        headers = response.headers
        csp = headers.get("content-security-policy", "")
        for part in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"):
            if part not in csp:
                fail(f"CSP {csp!r} lacks {part}")
        if "unsafe" in csp:
            fail(f"CSP allows unsafe sources: {csp}")
        assert headers.get("x-content-type-options") == "nosniff", headers
        assert headers.get("referrer-policy") == "no-referrer", headers
        assert headers.get("cache-control") == "no-cache", headers
        expect(page.get_by_label("Token")).to_be_visible()
        assert assets, "no asset was loaded"
        for asset in assets:
            if "immutable" not in asset.headers.get("cache-control", "") or "content-security-policy" not in asset.headers:
                fail(f"{asset.url}: {asset.headers}")
        check("the page and its hashed assets carry the CSP, nosniff, no-referrer and their cache headers")

        shot(page, shots, "01-sign-in")

        # A refused token and an expired one bring the sign-in back with the reason.
        with watch.expecting_http(401):
            sign_in(page, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.bm90LWEtc2lnbmF0dXJl")
            expect(page.get_by_role("alert")).to_contain_text("hookd refused the token: the token is not valid")
            expect(page.get_by_label("Token")).to_be_visible()
            sign_in(page, expired_token())
            expect(page.get_by_role("alert")).to_contain_text("the token has expired")
        assert page.evaluate("sessionStorage.getItem('hookd.token')") is None
        check("a refused token and an expired token bring the sign-in back with the reason")
        watch.assert_clean("sign-in")

        # Sign in: the overview and its chart.
        sign_in(page, admin)
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        chart = page.locator("svg.chart")
        expect(chart.locator("rect.bar")).to_have_count(60)
        heights = chart.locator("rect.bar").evaluate_all("bars => bars.map(b => Number(b.getAttribute('height')))")
        events_drawn = chart.locator("rect.bar").evaluate_all("bars => bars.reduce((n, b) => n + Number(b.dataset.events), 0)")
        if max(heights) <= 0 or events_drawn != 9:
            fail(f"the chart draws {events_drawn} events, heights {heights}")
        dead_card = page.locator(".card", has_text="Dead")
        expect(dead_card.locator(".value")).to_have_text("2")
        expect(page.locator("section", has_text="By source")).to_contain_text("billing")
        assert page.evaluate("sessionStorage.getItem('hookd.token')") == admin
        assert page.evaluate("localStorage.length") == 0 and not context.cookies()
        check("signed in (token in sessionStorage only); the overview draws 9 arrivals in its SVG chart, 2 dead")
        shot(page, shots, "02-overview")

        # Events: the stored ones, then a new one without a reload.
        nav(page, "Events")
        expect(page).to_have_url(hookd.base + "/ui/events")
        table = page.locator("table.data")
        for n in range(1, 6):
            expect(table.get_by_role("link", name=f"evt_seed_{n}", exact=True)).to_be_visible()
        check("the events view lists the stored events")
        page.evaluate("window.__sameDocument = true")
        assert hookd.send("default", {"event_id": "evt_live_1", "type": "invoice.paid"})[0] == 202
        expect(table.get_by_role("link", name="evt_live_1", exact=True)).to_be_visible(timeout=10_000)
        assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"
        check("a new event appears without a reload")

        # The HTML-in-type event is text.
        xss_row = table.locator("tr", has=page.get_by_role("link", name="evt_xss", exact=True))
        expect(xss_row.get_by_text(XSS_TYPE, exact=True)).to_be_visible()
        assert page.locator("main img").count() == 0
        watch.assert_clean("events")
        check("the event whose type is HTML shows it as text; no element made, no dialog")
        shot(page, shots, "03-events")

        # The keyboard reaches an event from the filters, and Enter opens it.
        page.get_by_label("Status").focus()
        for _ in range(60):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.textContent") == "evt_seed_1":
                break
        else:
            fail("Tab never reached the link of evt_seed_1")
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Event evt_seed_1")).to_be_visible()
        page.go_back()
        expect(table.get_by_role("link", name="evt_seed_1", exact=True)).to_be_visible()
        check("keyboard: Tab reaches an event's link, Enter opens it, Back returns")

        # Filters live in the URL: shareable, and kept across a reload.
        page.get_by_label("Status").select_option("dead")
        page.get_by_role("button", name="Apply").click()
        expect(page).to_have_url(hookd.base + "/ui/events?status=dead")
        expect(table.locator("tbody tr")).to_have_count(2)
        page.reload()
        expect(page.get_by_label("Status")).to_have_value("dead")
        expect(table.locator("tbody tr")).to_have_count(2)
        expect(table).to_contain_text("evt_bill_1")
        check("filters are kept in the URL and survive a reload")

        # Keyset pagination, three at a time: 10 events are stored.
        page.goto(hookd.base + "/ui/events?limit=3")
        rows = table.locator("tbody tr")
        expect(rows).to_have_count(3)
        ids = lambda: rows.evaluate_all("rows => rows.map(r => r.dataset.id)")  # noqa: E731
        first = ids()
        seen = list(first)
        while page.get_by_role("link", name="Next page →").count():
            previous = seen[-1]
            page.get_by_role("link", name="Next page →").click()
            page.wait_for_function(
                "prev => { const r = document.querySelector('table.data tbody tr'); return r && r.dataset.id !== prev; }",
                arg=previous)
            expect(page).to_have_url(re.compile(r"limit=3&cursor="))
            seen.extend(ids())
        if len(seen) != 10 or len(set(seen)) != 10:
            fail(f"pages gave {len(seen)} events, {len(set(seen))} distinct: {seen}")
        page.get_by_role("link", name="← First page").click()
        expect(rows.first).to_have_attribute("data-id", first[0])
        check("keyset pagination walks all 10 events, 3 per page, without repeats")

        # An event: payload and attempts, then Replay.
        page.goto(hookd.base + "/ui/events?source=billing")
        table.get_by_role("link", name="evt_bill_1", exact=True).click()
        expect(page.get_by_role("heading", name="Event evt_bill_1")).to_be_visible()
        expect(page.locator("pre.payload")).to_contain_text('"amount": 4200')
        attempts = page.locator("ol.timeline > li")
        expect(attempts).to_have_count(1)
        expect(attempts.first).to_contain_text("dead")
        expect(attempts.first).to_contain_text("400")
        expect(page.locator(".fields")).to_contain_text("application/json")
        sha = hashlib.sha256(json.dumps({"event_id": "evt_bill_1", "type": "invoice.failed", "amount": 4200}).encode()).hexdigest()
        expect(page.locator(".fields")).to_contain_text(sha)
        check("an event shows its payload, SHA-256, content type and its attempt (dead, 400)")
        shot(page, shots, "04-event-dead")
        forwarded = RefusingTarget.received
        page.get_by_role("button", name="Replay…").click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text("evt_bill_1")
        dialog.get_by_role("button", name="Replay", exact=True).click()
        expect(page.locator("#replay-answer")).to_have_text(re.compile(r'^202: \{.*"status":"requeued".*\}$'))
        expect(attempts).to_have_count(2, timeout=20_000)
        wait_for("the replayed event to reach the target again", lambda: RefusingTarget.received > forwarded)
        check("Replay (confirmed in the page) shows the API's 202 requeued; a second attempt follows")
        shot(page, shots, "05-event-replayed")

        # Bulk replay of the dead events of a source.
        wait_for("evt_bill_1 to be dead again", lambda: hookd.api("/stats", admin)["dead"] == 2)
        page.goto(hookd.base + "/ui/events?source=billing")
        page.get_by_text("Bulk replay").click()
        page.get_by_role("button", name="Replay dead events…").click()
        page.get_by_role("dialog").get_by_role("button", name="Replay dead events").click()
        expect(page.locator(".bulk output")).to_have_text("Queued 2 dead events for replay.")
        check("bulk replay of a source's dead events says how many were queued (2)")
        shot(page, shots, "06-bulk-replay")
        wait_for("the bulk-replayed events to be dead again", lambda: hookd.api("/stats", admin)["dead"] == 2)

        # The HTML-in-type event's detail.
        page.goto(hookd.base + "/ui/events?event_id=evt_xss")
        table.get_by_role("link", name="evt_xss", exact=True).click()
        expect(page.locator(".fields")).to_contain_text(XSS_TYPE)
        expect(page.locator("pre.payload")).to_contain_text("<script>alert(2)</script>")
        assert page.locator("main img, main script").count() == 0
        check("the HTML-in-type event's detail shows its type and payload as text")

        # A body that is not JSON: base64, and its text.
        page.goto(hookd.base + "/ui/events?source=gh")
        table.get_by_role("link", name="gh_form_1", exact=True).click()
        expect(page.locator(".detail")).to_contain_text("Not JSON (22 B); base64:")
        payloads = page.locator("pre.payload")
        expect(payloads.nth(0)).to_have_text(base64.b64encode(FORM_BODY).decode())
        expect(payloads.nth(1)).to_have_text(FORM_BODY.decode())
        expect(page.locator(".fields")).to_contain_text("application/x-www-form-urlencoded")
        check("a non-JSON body is shown as base64 and as its UTF-8 text")

        # Rejections: the forged request.
        nav(page, "Rejections")
        rejected = page.locator("table.data tbody tr")
        expect(rejected).to_have_count(2)
        forged = rejected.filter(has_text="bad_signature")
        expect(forged).to_contain_text("127.0.0.1")
        expect(forged).to_contain_text("x-signature")
        expect(rejected.filter(has_text="expired_secret")).to_have_count(1)
        check("rejections list the forged request (bad_signature, remote address, header names)")
        page.get_by_label("Reason").select_option("expired_secret")
        page.get_by_role("button", name="Apply").click()
        expect(page).to_have_url(hookd.base + "/ui/rejections?reason=expired_secret")
        expect(rejected).to_have_count(1)
        expect(rejected.first).to_contain_text("expired_secret")
        check("the rejections' reason filter applies (and lives in the URL)")
        page.get_by_role("link", name="Clear").click()
        expect(rejected).to_have_count(2)
        shot(page, shots, "07-rejections")

        # Sources: schemes, secrets and their use.
        nav(page, "Sources")
        billing = page.locator("section.source", has=page.get_by_role("heading", name=re.compile("^billing")))
        expect(billing).to_contain_text("hmac-hex")
        expect(billing.locator('td[data-label="Events"]')).to_have_text("2")
        expect(page.locator("section.source")).to_have_count(3)
        default = page.locator("section.source", has=page.get_by_role("heading", name=re.compile("^default")))
        retired = default.locator("tbody tr", has_text="retired")
        expect(retired.locator('td[data-label="Expired"]')).to_have_text("expired")
        expect(retired.locator('td[data-label="Not after"]')).not_to_have_text("—")
        expect(retired.locator('td[data-label="Events"]')).to_have_text("0")
        expect(billing.locator("p.delivery")).to_contain_text("delivering")
        expect(billing.locator("p.delivery")).to_contain_text("of 32 in flight")
        check("sources show their scheme, secrets, event counts, not_after and the expired flag, and their destination's state")
        shot(page, shots, "08-sources")
        watch.assert_clean("signed-in views")

        # Sign out, then a token without events:read.
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_label("Token")).to_be_visible()
        assert page.evaluate("sessionStorage.getItem('hookd.token')") is None
        check("sign-out forgets the token")
        sign_in(page, stats_only)
        nav(page, "Overview")
        expect(page.locator("svg.chart rect.bar")).to_have_count(60)
        with watch.expecting_http(403):
            nav(page, "Events")
            problem = page.get_by_role("alert")
            expect(problem).to_contain_text("This view needs a token with the scope events:read")
        # A 403 will not change by asking again: the view stops polling.
        asked = []
        page.on("request", lambda request: asked.append(request.url) if "/events?" in request.url else None)
        page.wait_for_timeout(3500)
        if asked:
            fail(f"the events view kept polling after 403: {asked}")
        check("a token without events:read gets an explanation naming the scope, and polling stops")
        shot(page, shots, "09-missing-scope")
        watch.assert_clean("missing scope")
        context.close()

        # A phone, in dark mode.
        phone = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark", device_scale_factor=2)
        phone.set_default_timeout(TIMEOUT_MS)
        page = phone.new_page()
        watch = Watch(page)
        page.goto(hookd.base + "/ui/events")
        sign_in(page, admin)
        expect(page.locator("table.data").get_by_role("link", name="evt_live_1", exact=True)).to_be_visible()
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        if overflow > 0:
            fail(f"the events view is {overflow}px wider than a phone")
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        if background != "rgb(16, 20, 27)":
            fail(f"dark mode background is {background}")
        check("on a 390 px phone in dark mode the events view fits the width")
        shot(page, shots, "10-events-phone-dark")
        nav(page, "Overview")
        expect(page.locator("svg.chart rect.bar")).to_have_count(60)
        shot(page, shots, "11-overview-phone-dark")
        watch.assert_clean("phone")
        phone.close()
        browser.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hookd", required=True, help="the hookd binary")
    parser.add_argument("--screenshots", required=True, help="where to save the screenshots")
    args = parser.parse_args()
    shots = Path(args.screenshots)
    shots.mkdir(parents=True, exist_ok=True)

    target = ThreadingHTTPServer(("127.0.0.1", 0), RefusingTarget)
    threading.Thread(target=target.serve_forever, daemon=True).start()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hookd-ui-") as workdir:
        hookd = Hookd(os.path.abspath(args.hookd), Path(workdir), target.server_address[1])
        try:
            hookd.start()
            run(hookd, shots)
        except Exception:
            print(f"--- hookd log ---\n{hookd.log.read_text(errors='replace')[-4000:]}", file=sys.stderr)
            raise
        finally:
            hookd.stop()
            target.shutdown()
    print(f"dashboard: {len(passed)} checks passed in {time.monotonic() - started:.1f}s; screenshots in {shots}")


if __name__ == "__main__":
    main()
