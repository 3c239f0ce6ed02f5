"""What the browser test of the dashboard stands on: the real `hookd` binary
started on a free loopback port with SQLite in a temporary directory, a
forward target that refuses everything, signed webhooks, tokens from
`hookd token`, and a watch on the page's console, errors and dialogs."""

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler

from playwright.sync_api import expect

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
DEFAULT_SECRET = "ui-test-default-secret-0123456789abcdef"
# A rotated-out secret of the default source: past its not_after.
RETIRED_SECRET = "ui-test-retired-secret-0123456789abcdef"
BILLING_SECRET = "ui-test-billing-secret-0123456789abcdef"
GITHUB_SECRET = "ui-test-github-secret-0123456789abcdef"
FORM_BODY = b"action=opened&number=7"
FORWARD_SECRET = "whsec_" + base64.b64encode(b"ui-test-forward-secret-32-bytes!").decode()
JWT_SECRET = "ui-test-jwt-" + secrets.token_hex(24)
XSS_TYPE = "<img src=x onerror=alert(1)>"
TIMEOUT_MS = 15_000

passed = []


def check(name):
    passed.append(name)
    print(f"ok - {name}", flush=True)


def fail(message):
    raise AssertionError(message)


def wait_for(what, condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    fail(f"timed out waiting for {what}")


# --- The forward target: answers 400, so billing events go dead -------------

class RefusingTarget(BaseHTTPRequestHandler):
    received = 0

    def do_POST(self):  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("content-length") or 0))
        RefusingTarget.received += 1
        body = b'{"error":"the test target refuses everything"}'
        self.send_response(400)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


# --- hookd -------------------------------------------------------------------

class Hookd:
    def __init__(self, binary, workdir, target_port):
        self.binary = binary
        self.config = workdir / "hookd.toml"
        self.config.write_text(f"""
[server]
bind = "127.0.0.1:0"
[database]
url = "sqlite://{workdir}/hookd.db?mode=rwc"
[processing]
poll_interval_ms = 200
[log]
format = "json"
[sources.default]
secrets = ["{DEFAULT_SECRET}", {{ value = "{RETIRED_SECRET}", label = "retired", not_after = "2026-01-01T00:00:00Z" }}]
[sources.gh]
scheme = "github"
secret = "{GITHUB_SECRET}"
[sources.billing]
secret = "{BILLING_SECRET}"
[sources.billing.handler]
kind = "forward"
url = "http://127.0.0.1:{target_port}/in"
forward_secret = "{FORWARD_SECRET}"
""")
        self.env = {**os.environ, "HOOKD__AUTH__JWT_SECRET": JWT_SECRET, "HOOKD_CONFIG": str(self.config)}
        self.env.pop("RUST_LOG", None)
        self.log = workdir / "hookd.log"
        self.process = None
        self.base = None

    def start(self):
        log = self.log.open("wb")
        self.process = subprocess.Popen([self.binary, "serve"], env=self.env, stdout=log, stderr=subprocess.STDOUT)

        def listening():
            if self.process.poll() is not None:
                fail(f"hookd exited with {self.process.returncode}:\n{self.log.read_text()}")
            for line in self.log.read_text(errors="replace").splitlines():
                if "hookd listening" in line:
                    record = json.loads(line)
                    return record.get("addr") or record.get("fields", {}).get("addr")
            return None

        self.base = "http://" + wait_for("hookd to listen", listening)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def token(self, *args):
        out = subprocess.run([self.binary, "token", *args], env=self.env, check=True, capture_output=True, text=True)
        return out.stdout.strip()

    def request(self, method, path, body=None, headers=None):
        request = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    def send(self, source, payload, secret=None):
        body = json.dumps(payload).encode()
        key = secret or (BILLING_SECRET if source == "billing" else DEFAULT_SECRET)
        signature = hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
        path = "/webhook" if source == "default" else f"/webhooks/{source}"
        status, _, answer = self.request("POST", path, body, {"content-type": "application/json", "x-signature": signature})
        return status, json.loads(answer)

    def send_form(self):
        """A GitHub-style delivery whose body is a form, not JSON."""
        signature = "sha256=" + hmac.new(GITHUB_SECRET.encode(), FORM_BODY, hashlib.sha256).hexdigest()
        status, _, _ = self.request("POST", "/webhooks/gh", FORM_BODY, {
            "content-type": "application/x-www-form-urlencoded", "x-hub-signature-256": signature,
            "x-github-delivery": "gh_form_1", "x-github-event": "pull_request"})
        return status

    def api(self, path, token):
        status, _, body = self.request("GET", path, headers={"authorization": f"Bearer {token}"})
        if status != 200:
            fail(f"GET {path}: {status} {body!r}")
        return json.loads(body)


def expired_token():
    """An HS256 token signed with the right secret, expired an hour ago."""
    def part(value):
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    now = int(time.time())
    signing_input = part({"alg": "HS256", "typ": "JWT"}) + "." + part(
        {"sub": "late", "iat": now - 7200, "exp": now - 3600, "scope": "events:read stats:read"})
    signature = hmac.new(JWT_SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


# --- The browser -------------------------------------------------------------

class Watch:
    """Console errors, page errors and JS dialogs of one page."""

    def __init__(self, page):
        self.problems = []
        self.allowed = ()
        self.expected_seen = 0
        self.dialogs = []
        page.on("console", self.on_console)
        page.on("pageerror", lambda err: self.problems.append(f"page error: {err}"))
        page.on("dialog", self.on_dialog)

    def on_console(self, message):
        if message.type not in ("error", "warning"):
            return
        text = message.text
        if any(re.search(pattern, text) for pattern in self.allowed):
            self.expected_seen += 1
            return
        self.problems.append(f"console {message.type}: {text}")

    def on_dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    @contextmanager
    def expecting_http(self, *statuses):
        """The browser logs refused fetches; a step that provokes them says which."""
        self.allowed = tuple(f"status of {status} " for status in statuses)
        self.expected_seen = 0
        try:
            yield
        finally:
            self.allowed = ()
        # Also proves that console errors are seen at all.
        if not self.expected_seen:
            fail(f"the browser logged no refused request ({statuses}) where one was provoked")

    def assert_clean(self, step):
        if self.problems:
            fail(f"{step}: {self.problems}")
        if self.dialogs:
            fail(f"{step}: a JavaScript dialog opened: {self.dialogs}")


def sign_in(page, token):
    field = page.get_by_label("Token")
    expect(field).to_be_visible()
    field.fill(token)
    page.get_by_role("button", name="Sign in").click()


def nav(page, name):
    page.get_by_role("navigation", name="Views").get_by_role("link", name=name, exact=True).click()


def shot(page, directory, name):
    page.screenshot(path=str(directory / f"{name}.png"), full_page=True)
