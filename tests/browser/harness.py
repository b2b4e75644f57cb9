"""harness.py — the real tally-server on loopback, seeded through its upload API, and a headless Chromium.

Shared by tests/browser/dashboard_test.py (the acceptance tests) and tests/browser/screenshots.py (the README
pictures). Needs Debian's chromium, chromium-driver and python3-selenium: run with /usr/bin/python3."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service

PASSWORD = "mat-khau-so-noi-vu-2026"


class Skip(Exception):
    """The backend asked for cannot run here (PostgreSQL 15 not installed): the caller exits 77."""


class Tally:
    """A fresh database with the sample unit tree, a running server, and the seeded history.

    backend "sqlite": a file in a temp dir; "pg": a throwaway PostgreSQL 15 cluster (tests/pg/pg-cluster), the
    schema made by `tally-admin --db URI init` like the file's. stop() removes either; so does a failed start."""

    def __init__(self, server, admin, seed_script, source_dir, end, months=6, per_day=6, extra_args=(),
                 backend="sqlite"):
        self.dir = tempfile.mkdtemp(prefix="tally-browser-")
        self.server_bin, self.admin_bin, self.source = server, admin, source_dir
        self.proc, self.log, self.pg_dir = None, None, None
        try:
            self._start(server, admin, seed_script, source_dir, end, months, per_day, extra_args, backend)
        except BaseException:
            self.stop(dump_log=self.proc is not None)
            raise

    def _start(self, server, admin, seed_script, source_dir, end, months, per_day, extra_args, backend):
        if backend == "pg":
            # Short (a Unix socket path is at most 107 bytes) and empty, as pg-cluster wants it.
            self.pg_dir = tempfile.mkdtemp(prefix="pgw", dir="/tmp")
            r = subprocess.run([os.path.join(source_dir, "tests", "pg", "pg-cluster"), "start", self.pg_dir],
                               capture_output=True, text=True)
            if r.returncode == 77:
                raise Skip(r.stderr.strip())
            if r.returncode != 0 or not r.stdout.startswith("postgresql://"):
                raise RuntimeError("tests/pg/pg-cluster start failed: " + r.stderr)
            self.db = r.stdout.strip()
        elif backend == "sqlite":
            self.db = os.path.join(self.dir, "tally.db")
        else:
            raise ValueError("backend is sqlite or pg, not " + backend)
        self.admin("init")
        self.admin("unit", "import", os.path.join(source_dir, "assets", "units-gialai.csv"))
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.proc = subprocess.Popen([server, "--db", self.db, "--listen", "127.0.0.1:0", *extra_args],
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"listening on (http://\S+)", line)
        if not m:
            raise RuntimeError("tally-server did not start: " + line)
        self.url = m.group(1)
        subprocess.run(["python3", seed_script, "--url", self.url, "--admin", admin, "--db", self.db, "--end", end,
                        "--months", str(months), "--per-day", str(per_day), "--hostile", "--silent"],
                       check=True, stdout=subprocess.DEVNULL)

    def admin(self, *args, stdin=None):
        r = subprocess.run([self.admin_bin, "--db", self.db, *args], input=stdin, capture_output=True, text=True)
        if r.returncode not in (0, 1):
            raise RuntimeError(f"tally-admin {' '.join(args)}: {r.stderr}")
        return r

    def viewer(self, name, unit=None, password=PASSWORD):
        """Adds a viewer with a dashboard password; returns its API token."""
        r = self.admin("viewer", "add", name, *(["--unit", unit] if unit else []))
        assert r.returncode == 0, r.stderr
        p = self.admin("viewer", "password", name, stdin=password + "\n")
        assert p.returncode == 0, p.stderr
        return r.stdout.strip().splitlines()[-1]

    def http(self, path, token=None, cookie=None, data=None, method=None, raw=False):
        """(status, headers, body text — or bytes with raw) without following redirects."""
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **k):
                return None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if token:
            req.add_header("Authorization", "Bearer " + token)
        if cookie:
            req.add_header("Cookie", cookie)
        if data is not None:
            req.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with urllib.request.build_opener(NoRedirect).open(req, timeout=30) as r:
                body = r.read()
                return r.status, dict(r.headers), body if raw else body.decode()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read().decode()

    def api(self, token, query):
        status, _, body = self.http("/api/v1/tally?" + query, token=token)
        assert status == 200, (status, body)
        return {row["key"]: row for row in json.loads(body)["rows"]}

    def stop(self, dump_log=False):
        """Stops the server (it must exit cleanly) and the cluster if any, removes the files; with dump_log,
        prints the server's log (for a failed run). Safe on a half-started Tally and when called twice."""
        if self.proc is not None:
            if dump_log or self.proc.poll() is not None:
                self.log.flush()
                print("---- tally-server log (tail) ----\n" + "".join(open(self.log.name).readlines()[-80:]))
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        if self.log is not None:
            self.log.close()
            self.log = None
        if self.pg_dir is not None:
            subprocess.run([os.path.join(self.source, "tests", "pg", "pg-cluster"), "stop", self.pg_dir])
            self.pg_dir = None
        shutil.rmtree(self.dir, ignore_errors=True)


def browser(width=1280, height=900):
    """Debian's Chromium, headless, as root-safe as it gets, with a fresh profile."""
    profile = tempfile.mkdtemp(prefix="tally-chromium-")
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
              "--lang=vi-VN", "--user-data-dir=" + profile, f"--window-size={width},{height}",
              "--hide-scrollbars", "--force-device-scale-factor=1"):
        o.add_argument(a)
    d = webdriver.Chrome(options=o, service=Service(executable_path="/usr/bin/chromedriver"))
    d.profile_dir = profile
    return d


def quit_browser(d):
    d.quit()
    shutil.rmtree(d.profile_dir, ignore_errors=True)


def click_and_wait(d, element):
    """Clicks a link or button that leaves the page and waits until the next page is there: a click returns
    once the event is dispatched, not when the navigation it starts is over (reading current_url at once raced
    the navigation on a loaded CI machine)."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait
    element.click()

    def gone(driver):
        # chromedriver sometimes reports a node of the page just left as "does not belong to the document"
        # (a plain WebDriverException) instead of a stale element: both mean the answer page is there.
        try:
            return expected_conditions.staleness_of(element)(driver)
        except WebDriverException as e:
            if "does not belong to the document" in str(e):
                return True
            raise
    WebDriverWait(d, 30).until(gone)
    WebDriverWait(d, 30).until(lambda driver: driver.execute_script("return document.readyState") == "complete")


def submit_login(d, name, password):
    """Fills the sign-in form already on screen, submits it and waits for the answer page."""
    from selenium.webdriver.common.by import By
    d.find_element(By.NAME, "name").clear()
    d.find_element(By.NAME, "name").send_keys(name)
    d.find_element(By.NAME, "password").send_keys(password)
    click_and_wait(d, d.find_element(By.CSS_SELECTOR, "form button[type=submit]"))


def sign_in(d, url, name, password=PASSWORD):
    d.get(url + "/dang-nhap")
    submit_login(d, name, password)
