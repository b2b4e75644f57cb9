#!/usr/bin/python3
"""dashboard_test.py — the dashboard's acceptance tests in a real browser (issue 9).

The real tally-server on a loopback port, seeded through its upload API with months of history at a dozen
counters (scripts/tally-seed: several units, areas, months and kiosks, a silent kiosk, one with missing
ratings, one with a skewed clock, and a unit named <script>alert(1)</script> "Quầy" & 'Một cửa'), driven by
Debian's Chromium through chromium-driver and python3-selenium. Downloaded report files are read back with
python3-openpyxl and poppler-utils (tests/integration/check_report_files.py).

usage: /usr/bin/python3 dashboard_test.py SERVER ADMIN SEED_SCRIPT SOURCE_DIR [--backend sqlite|pg]
The tally lives in a SQLite file, or with --backend pg in a throwaway PostgreSQL 15 cluster (tests/pg/pg-cluster)
that the run starts and stops (also when it fails or gets SIGTERM/SIGINT/SIGHUP).
Prints one line per test and "N passed, M failed"; exits 1 on any failure, 77 (skip) for --backend pg without
postgresql-15."""
import io
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse
import urllib.request
import uuid

import openpyxl

from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By

import harness
from harness import PASSWORD

HOSTILE = "<script>alert(1)</script> \"Quầy\" & 'Một cửa'"
HOSTILE_CODE = "000.00.31.H21.XSS"
PERIOD, FROM, TO = "quy:2026-3", "2026-07-01", "2026-09-30"
STATUS_WORDS = {"dat": "Đạt mốc", "khong_dat": "Chưa đạt mốc", "chua_du_mau": "Chưa đủ mẫu"}
# The server runs with --login-slow-s SLOW_S. The answer to the fifth wrong password and the next submit must fall
# inside it even on a loaded machine under ASan (the server counts whole seconds), so it is not cut too fine.
SLOW_S = 6
GROUPS = ["tthc", "dat_dai_xay_dung_dau_tu", "y_te", "giao_duc", "phuc_vu"]
RESPONDENTS = ["khong_tra_loi", "nguoi_dan", "doanh_nghiep", "to_chuc"]


class Ctx:
    pass


def no_alert(d):
    """Fails when the page opened a JavaScript alert (the hostile name ran)."""
    try:
        a = d.switch_to.alert
        text = a.text
        a.dismiss()
        raise AssertionError("a browser alert opened: " + text)
    except NoAlertPresentException:
        pass
    scripts = d.execute_script("return Array.from(document.scripts).map(s => s.src || s.textContent)")
    assert all(s.endswith("/static/dashboard.js") for s in scripts), scripts


def open_page(c, path):
    c.d.get(c.t.url + path)
    no_alert(c.d)
    return c.d.find_element(By.TAG_NAME, "body").text


def pct_text(row):
    """As the page shows a row's pct: one decimal, more while rounding would show an unmet target as met."""
    if not row["n"]:
        return "—"
    pct, dec = 100.0 * row["satisfied"] / row["n"], 1
    for m in ("2025", "2030"):
        while dec < 4 and row["status_" + m] == "khong_dat" and \
                math.floor(pct * 10 ** dec + 0.5) / 10 ** dec >= row["target_" + m]:
            dec += 1
    return ("%.*f" % (dec, pct)).replace(".", ",") + "%"


def session_cookie(d):
    ck = d.get_cookie("tally_sid")
    return "tally_sid=" + ck["value"] if ck else None


# ---- Tests ------------------------------------------------------------------------------------------------

def test_every_page_and_export_needs_a_session(c):
    for path in ["/", "/tong-quan", "/don-vi", "/don-vi/000.00.31.H21", "/thiet-bi", "/canh-bao",
                 "/tai-ve?format=json", "/tai-ve?format=pdf", "/tai-ve?format=xlsx&unit=000.00.31.H21",
                 "/tai-ve?format=csv&view=don-vi"]:
        for cookie in (None, "tally_sid=" + "ab" * 32):
            status, headers, _ = c.t.http(path, cookie=cookie)
            assert status == 303 and headers["Location"].startswith("/dang-nhap"), (path, status)
    c.d.get(c.t.url + "/tong-quan")
    assert "/dang-nhap" in c.d.current_url


def test_sign_in_sets_a_strict_http_only_session_cookie(c):
    harness.sign_in(c.d, c.t.url, "so-noi-vu")
    assert c.d.current_url.endswith("/tong-quan"), c.d.current_url
    ck = c.d.get_cookie("tally_sid")
    assert ck and ck["httpOnly"] and ck.get("sameSite") == "Strict", ck
    assert len(ck["value"]) == 64 and "tally_sid" not in c.d.current_url
    log = open(c.t.log.name).read()
    assert ck["value"] not in log and PASSWORD not in log


def test_overview_figures_equal_the_api(c):
    text = open_page(c, "/tong-quan?period=" + PERIOD)
    assert "Quý III năm 2026" in text and "Toàn tỉnh" in text and "Dữ liệu nhận lần cuối".upper() in text.upper()
    assert "mang tính tham khảo" in text and "Sở Y tế và Sở Giáo dục" in text
    api = c.t.api(c.token, f"from={FROM}&to={TO}&by=group")
    prev = c.t.api(c.token, "from=2026-04-01&to=2026-06-30&by=group")
    for g in GROUPS:
        card = c.d.find_element(By.CSS_SELECTOR, f'article.card[data-group="{g}"]')
        row = api[g]
        assert int(card.get_attribute("data-n")) == row["n"], (g, card.get_attribute("data-n"), row)
        assert int(card.get_attribute("data-satisfied")) == row["satisfied"]
        assert int(card.get_attribute("data-flagged")) == row["flagged"]
        assert int(card.get_attribute("data-wait-n")) == row["wait"]["n"], (g, row["wait"])
        assert int(card.get_attribute("data-wait-within")) == row["wait"]["within_30"], (g, row["wait"])
        big = card.find_element(By.CSS_SELECTOR, ".big").text
        assert big == pct_text(row), (g, big, row)
        badges = card.find_element(By.CSS_SELECTOR, ".badges").text
        for m in ("2025", "2030"):
            word = STATUS_WORDS[row["status_" + m]]
            assert word in badges, (g, badges, row)
        if prev[g]["n"] and row["n"]:
            change = 100.0 * row["satisfied"] / row["n"] - 100.0 * prev[g]["satisfied"] / prev[g]["n"]
            if abs(change) >= 0.05:
                want = ("%.1f" % abs(change)).replace(".", ",")
                assert want in card.text and ("tăng" if change > 0 else "giảm") in card.text, (g, card.text, change)
    # The fair ranking says how it ranks, and a unit with a tiny sample is not at the top.
    assert "cận trên của khoảng tin cậy Wilson" in text
    first = c.d.find_element(By.CSS_SELECTOR, ".ranking tbody tr").get_attribute("data-code")
    assert first != "000.01.24.H21.Q01", "the 2-ratings-a-week counter tops the ranking"


def test_unit_tree_figures_equal_the_api(c):
    open_page(c, "/don-vi?period=" + PERIOD)
    rows = c.d.find_elements(By.CSS_SELECTOR, "#unit-table tbody tr")
    assert len(rows) > 80
    checked = 0
    for tr in rows:
        code = tr.get_attribute("data-code")
        api = c.t.api(c.token, f"from={FROM}&to={TO}&unit={urllib.parse.quote(code)}&by=group")
        cells = tr.find_elements(By.CSS_SELECTOR, "td.fig")
        assert len(cells) == len(GROUPS)
        for g, td in zip(GROUPS, cells):
            assert int(td.get_attribute("data-n")) == api[g]["n"], (code, g)
            assert int(td.get_attribute("data-satisfied")) == api[g]["satisfied"], (code, g)
        checked += 1
    assert checked == len(rows)
    # Folding (the little script): a district's communes hide and come back.
    pleiku = c.d.find_element(By.CSS_SELECTOR, '#unit-table tr[data-code="000.00.21.H21"] button.fold')
    child = c.d.find_element(By.CSS_SELECTOR, '#unit-table tr[data-code="000.01.21.H21"]')
    assert child.is_displayed()
    pleiku.click()
    assert not child.is_displayed()
    pleiku.click()
    assert child.is_displayed()


def test_unit_page_areas_devices_heat_and_reasons(c):
    text = open_page(c, "/don-vi/000.00.31.H21?period=" + PERIOD)
    assert "Trung tâm Phục vụ hành chính công tỉnh Gia Lai" in text
    api = c.t.api(c.token, f"from={FROM}&to={TO}&unit=000.00.31.H21&by=area")
    for tr in c.d.find_elements(By.CSS_SELECTOR, "#area-table tbody tr"):
        area = tr.get_attribute("data-area")
        td = tr.find_element(By.CSS_SELECTOR, "td.fig")
        assert int(td.get_attribute("data-n")) == api[area]["n"], area
        assert int(td.get_attribute("data-satisfied")) == api[area]["satisfied"], area
    assert "Thời gian chờ đợi lâu" in text and "Lý do không hài lòng" in text
    assert len(c.d.find_elements(By.CSS_SELECTOR, ".heat svg rect")) >= 2 * 7 * 10
    assert "kiosk-ttpvhcc-q01" in text
    # Links down the tree and back up.
    harness.click_and_wait(c.d, c.d.find_element(By.LINK_TEXT, "Quầy 02 – Xây dựng"))
    no_alert(c.d)
    assert "/don-vi/000.00.31.H21.Q02" in c.d.current_url
    harness.click_and_wait(c.d, c.d.find_element(By.CSS_SELECTOR, "a.up"))
    assert "/don-vi/000.00.31.H21?" in c.d.current_url


def test_unit_page_respondents_equal_the_api(c):
    """The unit page has the overview's respondents table for the unit's subtree (and its respondent filter)."""
    for unit in ("000.00.31.H21", "000.00.21.H21"):
        open_page(c, f"/don-vi/{unit}?period={PERIOD}")
        api = check_respondents(c, "&unit=" + unit)
        province = c.t.api(c.token, f"from={FROM}&to={TO}&by=respondent,group")
        assert any(api[k]["n"] != province[k]["n"] for k in api), "the unit's own rows, not the province's"
        open_page(c, f"/don-vi/{unit}?period={PERIOD}&respondent=nguoi_dan")
        check_respondents(c, f"&unit={unit}&respondent=nguoi_dan")
    links = [a.get_attribute("href") for a in c.d.find_elements(By.CSS_SELECTOR, "a.dl")]
    assert any("view=doi-tuong" in h and "unit=000.00.21.H21" in h for h in links), links


def heat_sums(c):
    return [sum(int(r.get_attribute("data-v")) for r in c.d.find_elements(By.CSS_SELECTOR, f".heat svg rect.{k}"))
            for k in ("hn", "hu")]


def test_unit_page_heat_map_follows_the_area_filter(c):
    """With an area chosen in the picker, the unit page's heat maps hold that area's ratings only (misuse left out,
    as in the API's n), like its figures; without one, every area's."""
    unit = "000.00.31.H21"
    open_page(c, f"/don-vi/{unit}?period={PERIOD}")
    whole = c.t.api(c.token, f"from={FROM}&to={TO}&unit={unit}")[unit]
    assert not c.d.find_elements(By.ID, "meta-filter")  # no filter, nothing said
    assert heat_sums(c) == [whole["n"], whole["n"] - whole["satisfied"]], (heat_sums(c), whole)
    Select = __import__("selenium.webdriver.support.select", fromlist=["Select"]).Select
    Select(c.d.find_element(By.NAME, "area")).select_by_value("xay_dung")
    harness.click_and_wait(c.d, c.d.find_element(By.CSS_SELECTOR, "form.picker button[type=submit]"))
    no_alert(c.d)
    assert "area=xay_dung" in c.d.current_url, c.d.current_url
    one = c.t.api(c.token, f"from={FROM}&to={TO}&unit={unit}&area=xay_dung")[unit]
    assert 0 < one["n"] < whole["n"], (one, whole)
    assert heat_sums(c) == [one["n"], one["n"] - one["satisfied"]], (heat_sums(c), one)
    assert [tr.get_attribute("data-area") for tr in c.d.find_elements(By.CSS_SELECTOR, "#area-table tbody tr")] == \
        ["xay_dung"]
    assert c.d.find_element(By.ID, "meta-filter").text == "lĩnh vực Xây dựng"
    links = [a.get_attribute("href") for a in c.d.find_elements(By.CSS_SELECTOR, "a.dl")]
    assert links and all("area=xay_dung" in h for h in links), links
    assert c.t.http(f"/don-vi/{unit}?area=khong_co", cookie=session_cookie(c.d))[0] == 400


def test_hostile_unit_name_is_shown_literally_everywhere(c):
    for path in ["/tong-quan", "/don-vi", "/don-vi/" + HOSTILE_CODE, "/don-vi/000.00.31.H21", "/thiet-bi",
                 "/canh-bao"]:
        text = open_page(c, path + "?period=" + PERIOD)
        assert HOSTILE in text, path


def test_devices_page_highlights_silent_skewed_and_gappy_kiosks(c):
    open_page(c, "/thiet-bi")
    def row(dev):
        return c.d.find_element(By.CSS_SELECTOR, f'tr[data-device="{dev}"]')
    assert "warn" in row("kiosk-iaka-q01").get_attribute("class")
    assert "Im lặng quá 2 ngày" in row("kiosk-iaka-q01").text
    assert "Đồng hồ lệch quá 5 phút" in row("kiosk-iasao-q01").text
    gap = row("kiosk-yendo-q01")
    assert "Có đánh giá không về" in gap.text and "warn" in gap.get_attribute("class")
    assert "Bình thường" in row("kiosk-pleiku-q01").text
    assert "warn" not in row("kiosk-pleiku-q01").get_attribute("class")


def post_ratings(c, device, unit, ats):
    """Enrols a kiosk at unit and uploads one tthc3 rating per time in ats (ISO, +07:00); returns the reply."""
    token = c.t.admin("device", "add", device, "--unit", unit).stdout.strip().splitlines()[-1]
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    ratings = [{"id": str(uuid.uuid4()), "seq": i + 1, "unit": unit, "area": "dat_dai", "scale": "tthc3", "score": 3,
                "reasons": [], "followup": "none", "at": at, "flags": []} for i, at in enumerate(ats)]
    body = json.dumps({"schema": 1, "batch_id": str(uuid.uuid4()), "device_id": device, "sent_at": now,
                       "ratings": ratings}).encode()
    req = urllib.request.Request(c.t.url + "/api/v1/batches", data=body, method="POST", headers={
        "Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def test_devices_page_shows_ratings_quarantined_for_a_wrong_clock(c):
    """A kiosk whose clock ran ahead: its ratings dated after they arrived are counted on the devices page, the row
    is highlighted and the page says in Vietnamese what that means; the figures do not change."""
    before = c.t.api(c.token, "from=2027-01-01&to=2027-12-31")
    # Dated a year ahead of the server's clock: quarantined on arrival (TALLY_CLOCK_AHEAD_S).
    ahead = time.strftime("%Y-%m-%dT09:30:00+07:00", time.gmtime(time.time() + 366 * 86400))
    reply = post_ratings(c, "kiosk-dongho-sai", "000.00.21.H21.Q01", [ahead] * 3)
    assert reply["accepted"] == 3 and not reply["rejected"], reply
    assert c.t.api(c.token, "from=2027-01-01&to=2027-12-31") == before, "quarantined ratings are in no figure"
    text = open_page(c, "/thiet-bi")
    row = c.d.find_element(By.CSS_SELECTOR, 'tr[data-device="kiosk-dongho-sai"]')
    assert "warn" in row.get_attribute("class"), row.get_attribute("outerHTML")
    q = row.find_element(By.CSS_SELECTOR, "td.quarantined")
    assert q.get_attribute("data-v") == "3" and q.text == "3", q.get_attribute("outerHTML")
    assert "Có đánh giá bị giữ lại do đồng hồ sai" in row.text, row.text
    assert "Bị giữ lại (đồng hồ sai)" in text and "không tính vào số liệu nào" in \
        c.d.find_element(By.ID, "quarantine-note").text
    for dev in ("kiosk-pleiku-q01", "kiosk-iaka-q01"):
        cell = c.d.find_element(By.CSS_SELECTOR, f'tr[data-device="{dev}"] td.quarantined')
        assert cell.get_attribute("data-v") == "0", dev
    assert "warn" not in c.d.find_element(By.CSS_SELECTOR, 'tr[data-device="kiosk-pleiku-q01"]').get_attribute("class")


def test_a_mistyped_address_gets_the_dashboards_page(c):
    """A browser path no route takes is the dashboard's Vietnamese error page with its link back (signed in or not),
    404, or 405 + Allow for a page asked with another method; the read API and the kiosks' endpoints keep JSON."""
    cookie = session_cookie(c.d)
    hostile = "/" + urllib.parse.quote("<b>lạ</b>\"'&")
    for path in ["/tong-quanx", "/don-vi-sai", "/thiet-bi/x", "/dang-nhapp?msg=<i>", hostile]:
        for ck in (None, cookie):
            status, headers, body = c.t.http(path, cookie=ck)
            assert status == 404 and headers["Content-Type"].startswith("text/html"), (path, ck, status, body[:200])
            assert "Không tìm thấy trang này." in body and '<a href="/tong-quan">' in body, (path, body[:400])
            assert "default-src 'none'" in headers["Content-Security-Policy"], headers
            assert "<b>lạ" not in body and "<i>" not in body, body
            assert ("so-noi-vu" in body) == (ck is not None), (path, ck)
    status, headers, body = c.t.http("/tong-quan", cookie=cookie, data=b"a=1")
    assert status == 405 and headers["Allow"] == "GET" and headers["Content-Type"].startswith("text/html"), \
        (status, headers, body[:200])
    assert "Trang này không nhận loại yêu cầu này." in body and '<a href="/tong-quan">' in body, body[:400]
    for path, method, want in [("/api/v1/khong-co", None, 404), ("/api/v1/tally", "POST", 405),
                               ("/api/v1/batches", "GET", 405), ("/healthz", "POST", 405), ("/metrics", "POST", 405)]:
        status, headers, body = c.t.http(path, cookie=cookie, method=method, data=b"" if method == "POST" else None)
        assert status == want and headers["Content-Type"].startswith("application/json"), (path, status, body[:200])
        assert json.loads(body)["error"] == ("not_found" if want == 404 else "method_not_allowed"), (path, body)
    # In the browser: the page in Vietnamese, and its link leads back to the overview.
    text = open_page(c, "/don-vi-sai")
    assert "Không tìm thấy trang này." in text and "so-noi-vu" in text, text[:300]
    harness.click_and_wait(c.d, c.d.find_element(By.LINK_TEXT, "Về trang Tổng quan"))
    assert c.d.current_url.endswith("/tong-quan"), c.d.current_url
    log = open(c.t.log.name).read()
    assert "<b>lạ" not in log and "/tong-quanx" in log, "the request path is logged, escaped"


def test_alerts_page_and_cli(c):
    text = open_page(c, "/canh-bao?period=" + PERIOD)
    kinds = {tr.get_attribute("data-kind") for tr in c.d.find_elements(By.CSS_SELECTOR, "#alert-table tbody tr")}
    assert {"below_target", "drop", "silent", "seq_gap"} <= kinds, kinds
    assert "kiosk-iaka-q01" in text and "kiosk-yendo-q01" in text
    r = c.t.admin("alerts", "--from", FROM, "--to", TO, "--json")
    assert r.returncode == 1, r
    got = {a["kind"] for a in json.loads(r.stdout)["alerts"]}
    assert {"below_target", "silent", "seq_gap"} <= got, got


def test_export_needs_the_session_and_is_audited(c):
    cookie = session_cookie(c.d)
    status, headers, body = c.t.http(f"/tai-ve?format=json&period={PERIOD}", cookie=cookie)
    assert status == 200 and "attachment" in headers["Content-Disposition"], (status, headers)
    report = json.loads(body)
    api = c.t.api(c.token, f"from={FROM}&to={TO}&by=group")
    for g in report["groups"]:
        assert g["current"]["n"] == api[g["group"]]["n"]
    audit = c.t.admin("audit").stdout
    assert re.search(r"export\s+so-noi-vu", audit) and re.search(r"sign_in\s+so-noi-vu", audit), audit


def download_links(c):
    """The page's download links: {link id: path with query}, as the browser sees them."""
    return {a.get_attribute("id"): urllib.parse.urlsplit(a.get_attribute("href"))._replace(scheme="", netloc="")
            .geturl() for a in c.d.find_elements(By.CSS_SELECTOR, "#downloads a.dl")}


def fetch_file(c, path, cookie):
    status, headers, body = c.t.http(path, cookie=cookie, raw=True)
    assert status == 200, (path, status, body[:300])
    m = re.fullmatch(r'attachment; filename="([A-Za-z0-9._-]+)"', headers["Content-Disposition"])
    assert m, headers["Content-Disposition"]
    return m.group(1), body


def test_downloads_are_the_files_of_what_is_on_screen(c):
    """The unit page's PDF, XLSX and CSV links give that unit and period: every figure read back by openpyxl
    and pdftotext (tests/integration/check_report_files.py) equals the API, the page's cards and reasons
    equal the workbook, and every download is audited."""
    cookie = session_cookie(c.d)
    unit = "000.00.31.H21"
    open_page(c, f"/don-vi/{unit}?period={PERIOD}")
    links = download_links(c)
    assert set(links) == {"dl-pdf", "dl-xlsx", "dl-csv-nhom-chi-tieu", "dl-csv-doi-tuong", "dl-csv-don-vi",
                          "dl-csv-linh-vuc", "dl-csv-ly-do", "dl-csv-thiet-bi"}, links
    for path in links.values():
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        assert q["period"] == [PERIOD] and q["unit"] == [unit], path
    cards = {a.get_attribute("data-group"): (int(a.get_attribute("data-n")), int(a.get_attribute("data-satisfied")))
             for a in c.d.find_elements(By.CSS_SELECTOR, "article.card")}
    bars = c.d.execute_script("return Array.from(document.querySelectorAll('svg.bars text.bl')).map("
                              "t => [t.getAttribute('data-reason'), t.nextElementSibling.nextElementSibling.textContent])")
    audited = len(re.findall(r"\bexport\b", c.t.admin("audit").stdout))
    out = tempfile.mkdtemp(prefix="tally-downloads-")
    try:
        names = {}
        for lid, path in links.items():
            name, body = fetch_file(c, path, cookie)
            names[lid] = name
            fixed = {"dl-pdf": "report.pdf", "dl-xlsx": "report.xlsx"}.get(lid, name)
            open(os.path.join(out, fixed), "wb").write(body)
        assert names["dl-pdf"] == f"bao-cao-hai-long_{unit}_quy-2026-3.pdf", names
        assert names["dl-csv-ly-do"] == f"bao-cao-hai-long_{unit}_quy-2026-3_ly-do.csv", names
        # The views this page does not show, and the JSON, from the same query: the checker wants a full set.
        base = links["dl-csv-don-vi"]
        for view in ("xep-hang", "theo-thang", "canh-bao"):
            name, body = fetch_file(c, base.replace("view=don-vi", "view=" + view), cookie)
            open(os.path.join(out, name), "wb").write(body)
        _, body = fetch_file(c, f"/tai-ve?format=json&period={PERIOD}&unit={unit}", cookie)
        open(os.path.join(out, "report.json"), "wb").write(body)
        r = subprocess.run(["/usr/bin/python3", os.path.join(c.t.source, "tests", "integration", "check_report_files.py"),
                            "--url", c.t.url, "--token", c.token, "--from", FROM, "--to", TO, "--unit", unit,
                            "--dir", out, "--tag", PERIOD, "--hostile-script", HOSTILE, "--hostile-formula", HOSTILE],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        # The page and the workbook: the same cards and the same reasons.
        wb = openpyxl.load_workbook(os.path.join(out, "report.xlsx"))
        ws = wb["Nhóm chỉ tiêu"]
        heads = [x.value for x in ws[4]]
        for row in ws.iter_rows(min_row=5):
            if row[heads.index("Mã nhóm")].value is None:
                continue
            g = row[heads.index("Mã nhóm")].value
            n, sat = cards[g]
            assert row[heads.index("Số đánh giá hợp lệ")].value == n, (g, n)
            if n:
                assert abs(row[heads.index("Tỷ lệ hài lòng")].value - sat / n) < 0.00005 + 1e-9, g
        sheet = {row[1].value: row[2].value for row in wb["Lý do"].iter_rows(min_row=5) if row[1].value}
        assert bars and all(sheet[k] == int(v.replace(".", "")) for k, v in bars), (bars, sheet)
        pdf = subprocess.run(["pdftotext", "-raw", os.path.join(out, "report.pdf"), "-"], capture_output=True,
                             text=True).stdout
        assert "Trung tâm Phục vụ hành chính công tỉnh Gia Lai" in re.sub(r"\s+", " ", pdf) and "quý iii" in pdf.lower()
    finally:
        shutil.rmtree(out, ignore_errors=True)
    assert len(re.findall(r"\bexport\b", c.t.admin("audit").stdout)) == audited + len(links) + 4
    # The overview offers the report of the whole scope and the CSV of each of its tables.
    open_page(c, "/tong-quan?period=" + PERIOD)
    links = download_links(c)
    assert set(links) == {"dl-pdf", "dl-xlsx", "dl-csv-nhom-chi-tieu", "dl-csv-theo-thang", "dl-csv-xep-hang",
                          "dl-csv-doi-tuong"}, links
    name, body = fetch_file(c, links["dl-xlsx"], cookie)
    assert name == "bao-cao-hai-long_toan-tinh_quy-2026-3.xlsx" and body[:4] == b"PK\x03\x04"
    wb = openpyxl.load_workbook(io.BytesIO(body))
    api = c.t.api(c.token, f"from={FROM}&to={TO}&by=group")
    ws = wb["Nhóm chỉ tiêu"]
    heads = [x.value for x in ws[4]]
    code, n = heads.index("Mã nhóm"), heads.index("Số đánh giá hợp lệ")
    got = {row[code].value: row[n].value for row in ws.iter_rows(min_row=5) if row[code].value}
    assert got == {g: api[g]["n"] for g in GROUPS}, (got, api)
    status, _, _ = c.t.http(f"/tai-ve?format=docx&period={PERIOD}", cookie=cookie)
    assert status == 400
    status, _, _ = c.t.http(f"/tai-ve?format=csv&period={PERIOD}", cookie=cookie)
    assert status == 400


def test_a_post_without_the_csrf_token_is_refused(c):
    cookie = session_cookie(c.d)
    status, _, _ = c.t.http("/dang-xuat", cookie=cookie, data=b"")
    assert status == 403
    status, _, _ = c.t.http("/dang-xuat", cookie=cookie, data=b"csrf=" + b"0" * 64)
    assert status == 403
    assert c.t.http("/tong-quan", cookie=cookie)[0] == 200  # still signed in
    status, headers, _ = c.t.http("/dang-nhap", data=f"name=so-noi-vu&password={PASSWORD}".encode())
    assert status == 403 and "Set-Cookie" not in headers or "tally_sid=" not in headers.get("Set-Cookie", "")


def test_sign_out_ends_the_session(c):
    cookie = session_cookie(c.d)
    open_page(c, "/tong-quan")
    harness.click_and_wait(c.d, c.d.find_element(By.CSS_SELECTOR, ".who button"))
    assert "/dang-nhap" in c.d.current_url and "Đã đăng xuất" in c.d.find_element(By.TAG_NAME, "body").text
    assert c.t.http("/tong-quan", cookie=cookie)[0] == 303
    c.d.get(c.t.url + "/thiet-bi")
    assert "/dang-nhap" in c.d.current_url


def test_a_scoped_viewer_cannot_reach_another_subtree(c):
    harness.sign_in(c.d, c.t.url, "pleiku")
    text = open_page(c, "/tong-quan?period=" + PERIOD)
    assert "UBND thành phố Pleiku" in c.d.find_element(By.ID, "meta-scope").text
    api = c.t.api(c.pleiku_token, f"from={FROM}&to={TO}&by=group")  # no unit: the scope
    whole = c.t.api(c.token, f"from={FROM}&to={TO}&unit=000.00.21.H21&by=group")
    assert api == whole
    for g in GROUPS:
        card = c.d.find_element(By.CSS_SELECTOR, f'article.card[data-group="{g}"]')
        assert int(card.get_attribute("data-n")) == api[g]["n"]
    open_page(c, "/don-vi?period=" + PERIOD)
    codes = {tr.get_attribute("data-code") for tr in c.d.find_elements(By.CSS_SELECTOR, "#unit-table tbody tr")}
    assert "000.01.21.H21.Q01" in codes and "000.00.08.H21" not in codes and "000.00.00.H21" not in codes
    text = open_page(c, "/don-vi/000.00.08.H21")
    assert "nằm ngoài phạm vi" in text
    cookie = session_cookie(c.d)
    for path in ["/don-vi/000.00.08.H21", "/don-vi/000.00.00.H21", "/tai-ve?format=json&unit=000.00.31.H21",
                 "/tai-ve?format=pdf&unit=000.00.31.H21", "/tai-ve?format=xlsx&unit=000.00.08.H21",
                 "/tai-ve?format=csv&view=don-vi&unit=000.00.00.H21"]:
        assert c.t.http(path, cookie=cookie)[0] == 403, path
    # The links on the scoped viewer's own pages give the scope's files, and only them.
    open_page(c, "/tong-quan?period=" + PERIOD)
    for lid, path in download_links(c).items():
        name, body = fetch_file(c, path, cookie)
        assert "_000.00.21.H21_" in name, (lid, name)
    _, body = fetch_file(c, f"/tai-ve?format=xlsx&period={PERIOD}", cookie)
    codes = {row[0].value for row in openpyxl.load_workbook(io.BytesIO(body))["Đơn vị"].iter_rows(min_row=6)}
    assert "000.01.21.H21.Q01" in codes and "000.00.08.H21" not in codes and "000.00.31.H21" not in codes, codes
    status, _, body = c.t.http(f"/api/v1/tally?from={FROM}&to={TO}&unit=000.00.08.H21", token=c.pleiku_token)
    assert status == 403 and json.loads(body)["error"] == "out_of_scope"
    devices = open_page(c, "/thiet-bi")
    assert "kiosk-pleiku-q01" in devices and "kiosk-soyte-q01" not in devices


def test_wrong_passwords_are_slowed_then_locked(c):
    c.d.delete_all_cookies()
    for i in range(5):
        harness.sign_in(c.d, c.t.url, "khoa", "sai-mat-khau")
    assert "mỗi lần thử tiếp theo phải chờ" in c.d.find_element(By.ID, "login-msg").text
    harness.submit_login(c.d, "khoa", PASSWORD)  # at once, from the answer page: too soon, not even checked
    assert "Xin chờ" in c.d.find_element(By.ID, "login-msg").text
    assert c.d.get_cookie("tally_sid") is None
    for i in range(5):
        time.sleep(SLOW_S + 0.1)
        harness.sign_in(c.d, c.t.url, "khoa", "sai-mat-khau")
        assert "tạm khóa" not in c.d.find_element(By.ID, "login-msg").text
    time.sleep(SLOW_S + 0.1)
    harness.sign_in(c.d, c.t.url, "khoa", PASSWORD)
    msg = c.d.find_element(By.ID, "login-msg").text
    assert "tạm khóa" in msg and "phút" in msg, msg
    assert c.d.get_cookie("tally_sid") is None


def test_a_session_from_before_a_password_change_no_longer_works(c):
    c.d.delete_all_cookies()
    harness.sign_in(c.d, c.t.url, "doi-mat-khau")
    assert c.d.current_url.endswith("/tong-quan")
    cookie = session_cookie(c.d)
    r = c.t.admin("viewer", "password", "doi-mat-khau", stdin="mat-khau-moi-2027\n")
    assert r.returncode == 0, r.stderr
    c.d.get(c.t.url + "/don-vi")
    assert "/dang-nhap" in c.d.current_url
    assert "hết hạn" in c.d.find_element(By.TAG_NAME, "body").text
    assert c.t.http("/tong-quan", cookie=cookie)[0] == 303
    harness.sign_in(c.d, c.t.url, "doi-mat-khau", "mat-khau-moi-2027")
    assert c.d.current_url.endswith("/tong-quan")


def wait_text(w):
    return "–" if not w["n"] else ("%.1f" % w["pct"]).replace(".", ",") + "%"


def check_respondents(c, query):
    """The overview's phuc_vu card, respondents table and 30-minute share equal the API for the same filter."""
    api = c.t.api(c.token, f"from={FROM}&to={TO}&by=respondent,group" + query)
    whole = c.t.api(c.token, f"from={FROM}&to={TO}" + query)
    total = next(iter(whole.values()))
    assert total["wait"]["n"] > 0, "the seeded kiosks answered the wait question"
    note = c.d.find_element(By.ID, "wait-total").text
    assert wait_text(total["wait"]) in note and "Chờ không quá 30 phút" in note, (note, total["wait"])
    rows = c.d.find_elements(By.CSS_SELECTOR, "#respondent-table tbody tr")
    assert [r.get_attribute("data-respondent") for r in rows] == RESPONDENTS
    for r in rows:
        p = r.get_attribute("data-respondent")
        figs = r.find_elements(By.CSS_SELECTOR, "td.fig")
        assert len(figs) == len(GROUPS)
        for g, td in zip(GROUPS, figs):
            a = api.get(p + "/" + g, {"n": 0, "satisfied": 0})
            assert (int(td.get_attribute("data-n")), int(td.get_attribute("data-satisfied"))) == \
                (a["n"], a["satisfied"]), (p, g, a)
        w = r.find_element(By.CSS_SELECTOR, "td.wait")
        # every area's wait together: the by=respondent row
        one = c.t.api(c.token, f"from={FROM}&to={TO}&by=respondent" + query).get(p, {"wait": {"n": 0, "within_30": 0}})
        assert (int(w.get_attribute("data-wait-n")), int(w.get_attribute("data-wait-within"))) == \
            (one["wait"]["n"], one["wait"]["within_30"]), (p, one)
    return api


def test_phuc_vu_respondents_and_the_wait_indicator(c):
    open_page(c, "/tong-quan?period=" + PERIOD)
    api = check_respondents(c, "")
    assert api["nguoi_dan/phuc_vu"]["n"] > 0, "seeded service answers"
    # The filter: choose Người dân in the picker; every figure follows it, and the links keep it.
    sel = c.d.find_element(By.CSS_SELECTOR, "form.picker select[name=respondent]")
    sel.find_element(By.CSS_SELECTOR, "option[value=nguoi_dan]").click()
    harness.click_and_wait(c.d, c.d.find_element(By.CSS_SELECTOR, "form.picker button[type=submit]"))
    no_alert(c.d)
    assert "respondent=nguoi_dan" in c.d.current_url, c.d.current_url
    filtered = c.t.api(c.token, f"from={FROM}&to={TO}&by=group&respondent=nguoi_dan")
    for g in GROUPS:
        card = c.d.find_element(By.CSS_SELECTOR, f'article.card[data-group="{g}"]')
        assert int(card.get_attribute("data-n")) == filtered[g]["n"], (g, filtered[g])
        assert int(card.get_attribute("data-wait-n")) == filtered[g]["wait"]["n"], (g, filtered[g])
    check_respondents(c, "&respondent=nguoi_dan")
    links = [a.get_attribute("href") for a in c.d.find_elements(By.CSS_SELECTOR, "a.dl")]
    assert links and all("respondent=nguoi_dan" in h for h in links), links
    # The respondents CSV of the filtered page is the model's table for người dân only.
    csv_link = next(h for h in links if "view=doi-tuong" in h)
    status, _, text = c.t.http(csv_link[len(c.t.url):], cookie=session_cookie(c.d))
    assert status == 200, status
    assert "Chờ ≤ 30 phút (%)" in text and "nguoi_dan" in text, text[:400]
    # The page and its PDF say what they count, not only the picker: a signed file must not pass for everyone.
    assert c.d.find_element(By.ID, "meta-filter").text == "đối tượng Người dân"
    pdf_link = next(h for h in links if "format=pdf" in h)
    status, _, pdf = c.t.http(pdf_link[len(c.t.url):], cookie=session_cookie(c.d), raw=True)
    assert status == 200, status
    words = " ".join(subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True).stdout.decode().split())
    assert "phạm vi: Toàn tỉnh, đối tượng Người dân." in words, words[:600]
    # An unknown type is refused with a clear page, not shown as everyone.
    assert c.t.http("/tong-quan?respondent=ai_do", cookie=session_cookie(c.d))[0] == 400
    assert c.t.http(f"/api/v1/tally?from={FROM}&to={TO}&respondent=ai_do", token=c.token)[0] == 400


TESTS = [test_every_page_and_export_needs_a_session, test_sign_in_sets_a_strict_http_only_session_cookie,
         test_overview_figures_equal_the_api, test_phuc_vu_respondents_and_the_wait_indicator,
         test_unit_tree_figures_equal_the_api,
         test_unit_page_areas_devices_heat_and_reasons, test_unit_page_respondents_equal_the_api,
         test_unit_page_heat_map_follows_the_area_filter,
         test_hostile_unit_name_is_shown_literally_everywhere,
         test_devices_page_highlights_silent_skewed_and_gappy_kiosks,
         test_devices_page_shows_ratings_quarantined_for_a_wrong_clock, test_a_mistyped_address_gets_the_dashboards_page,
         test_alerts_page_and_cli,
         test_export_needs_the_session_and_is_audited, test_downloads_are_the_files_of_what_is_on_screen,
         test_a_post_without_the_csrf_token_is_refused,
         test_sign_out_ends_the_session, test_a_scoped_viewer_cannot_reach_another_subtree,
         test_wrong_passwords_are_slowed_then_locked, test_a_session_from_before_a_password_change_no_longer_works]


def main():
    if len(sys.argv) not in (5, 7) or (len(sys.argv) == 7 and (sys.argv[5] != "--backend" or
                                                               sys.argv[6] not in ("sqlite", "pg"))):
        sys.exit(__doc__)
    server, admin, seed, source = sys.argv[1:5]
    backend = sys.argv[6] if len(sys.argv) == 7 else "sqlite"
    # A killed run (ctest's timeout, ^C) still stops its server, cluster and browser: the finally blocks run.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda n, f: sys.exit(f"dashboard_test: signal {n}"))
    c = Ctx()
    try:
        c.t = harness.Tally(server, admin, seed, source, end="2026-09-20", backend=backend,
                            extra_args=("--login-slow-s", str(SLOW_S)))
    except harness.Skip as e:
        print("SKIP: PostgreSQL 15 is not installed (scripts/bootstrap installs postgresql-15):", e)
        sys.exit(77)
    print(f"tally on {backend}", flush=True)
    passed = failed = 0
    try:
        c.token = c.t.viewer("so-noi-vu")
        c.pleiku_token = c.t.viewer("pleiku", unit="000.00.21.H21")
        c.t.viewer("khoa")
        c.t.viewer("doi-mat-khau")
        c.d = harness.browser()
        try:
            for t in TESTS:
                try:
                    t(c)
                    passed += 1
                    print("ok  ", t.__name__, flush=True)
                except Exception:
                    failed += 1
                    print("FAIL", t.__name__, flush=True)
                    traceback.print_exc()
        finally:
            harness.quit_browser(c.d)
    finally:
        c.t.stop(dump_log=failed > 0)
    print(f"{passed} passed, {failed} failed (tally on {backend})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
