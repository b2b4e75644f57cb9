#!/usr/bin/python3
"""screenshots.py — pictures of every dashboard page for the README, desktop and phone width.

Starts the real tally-server with a year of seeded history (scripts/tally-seed), signs in as a province viewer
in headless Chromium and saves docs/dashboard/<page>-desktop.png (1280 px wide) and <page>-phone.png (390 px).
Run by the build target `dashboard-screenshots`.

usage: /usr/bin/python3 screenshots.py SERVER ADMIN SEED_SCRIPT SOURCE_DIR OUT_DIR"""
import os
import sys

from selenium.webdriver.common.by import By

import harness

PAGES = [
    ("login", "/dang-nhap", False),
    ("overview", "/tong-quan?period=quy:2026-3", True),
    ("units", "/don-vi?period=quy:2026-3", True),
    ("unit", "/don-vi/000.00.31.H21?period=quy:2026-3", True),
    ("devices", "/thiet-bi?period=quy:2026-3", True),
    ("alerts", "/canh-bao?period=quy:2026-3", True),
]
SIZES = [("desktop", 1280, 900, 3600), ("phone", 390, 844, 2600)]


def main():
    server, admin, seed, source, out = sys.argv[1:6]
    os.makedirs(out, exist_ok=True)
    t = harness.Tally(server, admin, seed, source, end="2026-09-26", months=12, per_day=12)
    try:
        t.viewer("so-noi-vu")
        for size, w, h, max_h in SIZES:
            d = harness.browser(w, h)
            try:
                for name, path, signed_in in PAGES:
                    if signed_in and not d.get_cookie("tally_sid"):
                        harness.sign_in(d, t.url, "so-noi-vu")
                    d.get(t.url + path)
                    full = d.execute_script("return document.documentElement.scrollHeight")
                    d.set_window_size(w, min(max(full, h), max_h))
                    d.find_element(By.TAG_NAME, "body")
                    d.save_screenshot(os.path.join(out, f"{name}-{size}.png"))
                    d.set_window_size(w, h)
                    print(f"screenshots: {name}-{size}.png")
            finally:
                harness.quit_browser(d)
    finally:
        t.stop()


if __name__ == "__main__":
    main()
