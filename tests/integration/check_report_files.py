#!/usr/bin/python3
"""check_report_files.py — reads one set of report files with independent readers and compares every figure
with GET /api/v1/tally for the same filters. Run by tests/integration/tally_files.c with Debian's
/usr/bin/python3 (python3-openpyxl) and poppler-utils' pdftotext. Exit 0 when everything holds; otherwise
every failed check is printed and the exit status is 1.

The directory holds report.json, report.xlsx, report.pdf and the CSV views (*_<view>.csv)."""
import argparse
import csv
import glob
import io
import json
import os
import re
import subprocess
import sys
import urllib.request

import openpyxl

GROUPS = ["tthc", "dat_dai_xay_dung_dau_tu", "y_te", "giao_duc", "phuc_vu"]
STATUS_VI = {"dat": "Đạt", "khong_dat": "Không đạt", "chua_du_mau": "Chưa đủ mẫu", None: ""}
SHORT = {"dat": "Đ", "khong_dat": "K", "chua_du_mau": "—"}
SHEETS = ["Bìa", "Nhóm chỉ tiêu", "Đơn vị", "Xếp hạng", "Lĩnh vực", "Theo tháng", "Lý do", "Thiết bị", "Cảnh báo", "Đối tượng"]
CSV_VIEWS = ["nhom-chi-tieu", "don-vi", "xep-hang", "linh-vuc", "theo-thang", "ly-do", "thiet-bi", "canh-bao", "doi-tuong"]

failures = []


def expect(cond, what):
    if not cond:
        failures.append(what)
    return cond


def api(args, **params):
    q = "&".join(f"{k}={v}" for k, v in params.items() if v not in (None, ""))
    req = urllib.request.Request(f"{args.url}/api/v1/tally?{q}", headers={"Authorization": f"Bearer {args.token}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)["rows"]


def vi_int(n):
    return f"{n:,}".replace(",", ".")


def vi_pct(p):
    # The API's two decimals, Vietnamese style: 92.74 -> "92,74%"
    return f"{p:.2f}".replace(".", ",") + "%"


def same_pct(cell_fraction, api_pct):
    """An XLSX percent cell holds the fraction; the API rounds the percentage to 2 decimals."""
    return api_pct is not None and cell_fraction is not None and abs(cell_fraction * 100 - api_pct) <= 0.005 + 1e-9


def norm(s):
    return re.sub(r"\s+", " ", s).strip()


def in_order(name, seg):
    """Every word of name in seg, in order: a name wrapped in its table cell reads with other cells' words
    between its lines in pdftotext's layout output."""
    words, pos = norm(name).split(" "), 0
    toks = seg.split(" ")
    for w in words:
        while pos < len(toks) and toks[pos] != w:
            pos += 1
        if pos == len(toks):
            return False
        pos += 1
    return True


def main():
    ap = argparse.ArgumentParser()
    for a in ["url", "token", "from", "to", "unit", "dir", "tag", "hostile-script", "hostile-formula"]:
        ap.add_argument("--" + a, default="")
    args = ap.parse_args()
    period = dict(zip(["from", "to"], [getattr(args, "from"), args.to]))
    hostile = [args.hostile_script, args.hostile_formula]

    # ---- The truth: the API, for the same filters ------------------------------------------------------
    groups = {r["key"]: r for r in api(args, by="group", unit=args.unit, **period)}
    with open(os.path.join(args.dir, "report.json"), encoding="utf-8") as f:
        model = json.load(f)
    units = model["units"]
    unit_api = {}
    for u in units:
        unit_api[u["code"]] = {r["key"]: r for r in api(args, by="group", unit=u["code"], **period)}
    areas = {r["key"]: r for r in api(args, by="area", unit=args.unit, **period)}
    year_from = getattr(args, "from")[:4] + "-01-01"
    months = {r["key"]: r for r in api(args, by="month,group", unit=args.unit, **{"from": year_from, "to": args.to})}
    names = {u["code"]: u["name"] for u in units}
    expect(all(h in names.values() for h in hostile) or args.unit == "000.00.08.H21", "hostile units in the model")
    expect(len(units) >= 5, f"{args.tag}: the model has units")

    # ---- JSON -------------------------------------------------------------------------------------------
    expect(model["meta"]["period"] == args.tag, f"json period code {model['meta']['period']}")
    for g in model["groups"]:
        a = groups[g["group"]]
        for k in ["n", "satisfied", "pct", "wilson_low", "wilson_high", "flagged", "status_2025", "status_2030", "wait"]:
            expect(g["current"][k] == a[k], f"json group {g['group']} {k}: {g['current'][k]} != api {a[k]}")
    # Per respondent type: the model's respondents[] equal by=respondent,group (a row absent there has n 0).
    by_resp = {r["key"]: r for r in api(args, by="respondent,group", unit=args.unit, **period)}
    expect([p["respondent"] for p in model["respondents"]] == ["khong_tra_loi", "nguoi_dan", "doanh_nghiep", "to_chuc"],
           "json respondents rows")
    for p in model["respondents"]:
        for g in GROUPS:
            a, m = by_resp.get(p["respondent"] + "/" + g), p["groups"][g]
            if a is None:
                expect(m["n"] == 0 and m["wait"]["n"] == 0, f"json respondent {p['respondent']} {g} not in the api")
                continue
            for k in ["n", "satisfied", "pct", "status_2025", "wait"]:
                expect(m[k] == a[k], f"json respondent {p['respondent']} {g} {k}: {m[k]} != api {a[k]}")
    for u in units:
        for g in GROUPS:
            a = unit_api[u["code"]][g]
            for k in ["n", "satisfied", "pct", "status_2025", "status_2030"]:
                expect(u["groups"][g][k] == a[k], f"json unit {u['code']} {g} {k}: {u['groups'][g][k]} != {a[k]}")

    # ---- XLSX -------------------------------------------------------------------------------------------
    wb = openpyxl.load_workbook(os.path.join(args.dir, "report.xlsx"))
    expect(wb.sheetnames == SHEETS, f"xlsx sheets {wb.sheetnames}")
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                expect(c.data_type != "f", f"xlsx {ws.title}!{c.coordinate} is a formula: {c.value!r}")
        expect(not ws._hyperlinks, f"xlsx {ws.title} has hyperlinks")
        if ws.title != "Bìa":
            expect(ws.page_setup.paperSize in (9, "9"), f"xlsx {ws.title} not A4")
            expect(ws.print_title_rows is not None, f"xlsx {ws.title} header rows do not repeat on print")
            expect(ws.sheet_properties.pageSetUpPr.fitToPage, f"xlsx {ws.title} not fitted to the page width")
    cover = wb["Bìa"]
    cover_text = " ".join(str(c.value) for row in cover.iter_rows() for c in row if c.value is not None)
    expect(model["meta"]["period_label"] in cover_text, "xlsx cover names the period")
    expect("Kết quả đánh giá mức độ hài lòng" in cover_text, "xlsx cover title")
    expect("tham khảo" in cover_text, "xlsx cover has the indicative note")
    dates = [c for row in cover.iter_rows() for c in row if c.is_date]
    expect(len(dates) >= 3, "xlsx cover dates are date cells")
    expect(any(c.number_format == "dd/mm/yyyy" for c in dates), "xlsx dates shown dd/mm/yyyy")

    def table(ws, head_row):
        heads = [c.value for c in ws[head_row]]
        rows = [r for r in ws.iter_rows(min_row=head_row + 1) if any(c.value is not None for c in r)]
        return heads, rows

    ws = wb["Nhóm chỉ tiêu"]
    heads, rows = table(ws, 4)
    col = {h: i for i, h in enumerate(heads)}
    expect(len(rows) == len(GROUPS), f"xlsx groups rows {len(rows)}")
    for r in rows:
        a = groups[r[col["Mã nhóm"]].value]
        expect(r[col["Số đánh giá hợp lệ"]].value == a["n"], f"xlsx group n {a['key']}")
        expect(r[col["Số đánh giá hợp lệ"]].data_type == "n", "xlsx counts are numbers")
        c = r[col["Tỷ lệ hài lòng"]]
        if a["n"]:
            expect(same_pct(c.value, a["pct"]), f"xlsx group pct {a['key']}: {c.value} vs {a['pct']}")
            expect(c.number_format == "0.00%", f"xlsx pct format {c.number_format}")
        expect((r[col["Mốc 2025"]].value or "") == STATUS_VI[a["status_2025"]], f"xlsx verdict 2025 {a['key']}")
        expect((r[col["Mốc 2030"]].value or "") == STATUS_VI[a["status_2030"]], f"xlsx verdict 2030 {a['key']}")
        expect(same_pct(r[col["Chỉ tiêu 2025"]].value, a["target_2025"]), "xlsx target 2025")

    ws = wb["Đơn vị"]
    heads, rows = table(ws, 5)
    expect(heads[0] == "Mã định danh" and heads[1] == "Tên đơn vị", f"xlsx units heads {heads[:2]}")
    expect(len(rows) == len(units), f"xlsx unit rows {len(rows)} != {len(units)}")
    rules = " ".join(str(r.formula) for cf in ws.conditional_formatting for r in cf.rules)
    expect("Không đạt" in rules and "Chưa đủ mẫu" in rules, "xlsx conditional colours for Không đạt / Chưa đủ mẫu")
    for r in rows:
        code, name = r[0].value, r[1].value
        expect(name == names.get(code), f"xlsx unit name {code}: {name!r}")
        expect(r[1].data_type == "s", f"xlsx unit name {code} is a string cell")
        depth = next(u["depth"] for u in units if u["code"] == code)
        expect((r[1].alignment.indent or 0) == min(depth, 8), f"xlsx unit {code} indented by its level")
        for gi, g in enumerate(GROUPS):
            a = unit_api[code][g]
            pct, n = r[4 + 4 * gi], r[5 + 4 * gi]
            expect(n.value == a["n"], f"xlsx unit {code} {g} n {n.value} != {a['n']}")
            if a["n"]:
                expect(same_pct(pct.value, a["pct"]), f"xlsx unit {code} {g} pct {pct.value} vs {a['pct']}")
                expect(pct.number_format == "0.00%", "xlsx unit pct format")
            expect((r[6 + 4 * gi].value or "") == STATUS_VI[a["status_2025"]], f"xlsx unit {code} {g} verdict")
    for h in hostile:
        if h in names.values():
            cells = [c for c in ws["B"] if c.value == h]
            expect(len(cells) == 1 and cells[0].data_type == "s", f"xlsx hostile name literal: {h!r}")

    ws = wb["Xếp hạng"]
    heads, rows = table(ws, 4)
    expect(len(rows) == len(model["ranking"]), "xlsx ranking has every item")
    for r in rows:
        code, gname = r[1].value, r[3].value
        g = GROUPS[[x["name_vi"] for x in model["groups"]].index(gname)]
        a = unit_api[code][g]
        expect(r[4].value == a["n"] and same_pct(r[5].value, a["pct"]) and same_pct(r[6].value, a["wilson_high"]),
               f"xlsx ranking {code} {g}")
    # Furthest below the 2025 target first: "upper bound minus target" ascending, as the model ranks.
    gaps = [r[8].value for r in rows]
    expect(gaps == sorted(gaps), "xlsx ranking in the model's order")
    expect([(r[1].value, GROUPS[[x["name_vi"] for x in model["groups"]].index(r[3].value)]) for r in rows] ==
           [(x["unit"], x["group"]) for x in model["ranking"]], "xlsx ranking rows = the model's ranking")

    ws = wb["Lĩnh vực"]
    heads, rows = table(ws, 4)
    for r in rows:
        a = areas.get(r[1].value)
        n = a["n"] if a else 0
        expect(r[3].value == n, f"xlsx area {r[1].value} n {r[3].value} != {n}")
        if n:
            expect(same_pct(r[5].value, a["pct"]), f"xlsx area {r[1].value} pct")

    ws = wb["Theo tháng"]
    heads, rows = table(ws, 5)
    for r in rows:
        mm, yyyy = r[0].value.split("/")
        for gi, g in enumerate(GROUPS):
            a = months.get(f"{yyyy}-{mm}/{g}")
            n = a["n"] if a else 0
            expect(r[1 + 3 * gi].value == n, f"xlsx month {r[0].value} {g} n {r[1 + 3 * gi].value} != {n}")
            if n:
                expect(same_pct(r[2 + 3 * gi].value, a["pct"]), f"xlsx month {r[0].value} {g} pct")

    ws = wb["Lý do"]
    heads, rows = table(ws, 4)
    jr = {x["reason"]: x["n"] for x in model["reasons"]}
    expect({r[1].value: r[2].value for r in rows} == jr, "xlsx reasons = the model's")

    ws = wb["Thiết bị"]
    heads, rows = table(ws, 4)
    jd = {d["id"]: d for d in model["devices"]}
    expect({r[0].value for r in rows} == set(jd), "xlsx devices")
    for r in rows:
        expect(r[4].value == jd[r[0].value]["received"], f"xlsx device {r[0].value} received")
        expect(r[3].is_date and r[3].number_format == "dd/mm/yyyy hh:mm", f"xlsx device {r[0].value} last upload date")

    # ---- CSV --------------------------------------------------------------------------------------------
    files = {}
    for v in CSV_VIEWS:
        found = glob.glob(os.path.join(args.dir, f"*_{v}.csv"))
        if expect(len(found) == 1, f"csv view {v}: {found}"):
            raw = open(found[0], "rb").read()
            expect(raw.startswith(b"\xef\xbb\xbf"), f"csv {v} starts with a BOM")
            expect(b"\r\n" in raw, f"csv {v} has CRLF lines")
            files[v] = list(csv.reader(io.StringIO(raw[3:].decode("utf-8"), newline="")))
            expect((args.unit or "toan-tinh") in os.path.basename(found[0]), f"csv file name {found[0]}")
    units_csv = files.get("don-vi", [[]])
    head = units_csv[0]
    expect(head[:2] == ["Mã định danh", "Tên đơn vị"], f"csv units head {head[:2]}")
    expect("Giải quyết thủ tục hành chính – Tỷ lệ hài lòng" in head, "csv Vietnamese headers")
    for row in units_csv[1:]:
        code, name = row[0], row[1]
        want = names[code]
        if want[:1] in ("=", "+", "-", "@", "\t", "\r"):
            expect(name == "'" + want, f"csv neutralised {want!r} -> {name!r}")
        else:
            expect(name == want, f"csv unit name {code}: {name!r}")
        for gi, g in enumerate(GROUPS):
            a = unit_api[code][g]
            expect(row[5 + 4 * gi] == str(a["n"]), f"csv unit {code} {g} n")
            expect(row[4 + 4 * gi] == ("" if not a["n"] else f"{a['pct']:.2f}"), f"csv unit {code} {g} pct {row[4 + 4 * gi]}")
    for v, rows in files.items():
        for row in rows[1:]:
            for cell in row:
                # Text cells never start with a formula character; numbers are the only bare "-".
                if cell[:1] in ("=", "+", "@", "\t", "\r") or (cell[:1] == "-" and not re.fullmatch(r"-[0-9.]+", cell)):
                    failures.append(f"csv {v} live formula cell {cell!r}")
    for row in files.get("nhom-chi-tieu", [[]])[1:]:
        a = groups[row[1]]
        expect(row[2] == str(a["n"]) and row[4] == ("" if not a["n"] else f"{a['pct']:.2f}"), f"csv group {row[1]}")

    # ---- PDF --------------------------------------------------------------------------------------------
    pdf = os.path.join(args.dir, "report.pdf")
    fonts = subprocess.run(["pdffonts", pdf], capture_output=True, text=True).stdout
    expect("LiberationSerif" in fonts, "pdf uses Liberation Serif")
    for line in fonts.splitlines()[2:]:
        expect(" yes " in line and line.split()[-5] == "yes", f"pdf font not embedded: {line}")
    # -layout keeps table rows on their lines (for the appendix); -raw keeps each cell's text together in the
    # order it was drawn (for literal names and the groups table).
    text = subprocess.run(["pdftotext", "-layout", pdf, "-"], capture_output=True, text=True).stdout
    flat = norm(subprocess.run(["pdftotext", "-raw", pdf, "-"], capture_output=True, text=True).stdout)
    for s in ["UBND TỈNH GIA LAI", "SỞ NỘI VỤ", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
              "Gia Lai, ngày", "BÁO CÁO", "Kết quả đánh giá mức độ hài lòng", "Số:", "Nơi nhận:", "PHƯƠNG PHÁP",
              "Wilson", "Chưa đủ mẫu", "PHỤ LỤC", "GIÁM ĐỐC"]:
        expect(s in flat, f"pdf text lacks {s!r}")
    label = model["meta"]["period_label"]
    expect(label in flat or label.lower() in flat or label[0].lower() + label[1:] in flat, f"pdf period {label}")
    expect(re.search(r"^\s*2\s*$", text, re.M) is not None, "pdf page numbers")
    # The groups table: each group's line holds its n and percentage.
    gi = [flat.find(g["name_vi"]) for g in model["groups"]]
    for k, g in enumerate(model["groups"]):
        a = groups[g["group"]]
        seg = flat[gi[k]: gi[k + 1] if k + 1 < len(gi) else len(flat)]
        expect(vi_int(a["n"]) in seg, f"pdf group {g['group']} n {a['n']}")
        if a["n"]:
            expect(vi_pct(a["pct"]) in seg, f"pdf group {g['group']} pct {vi_pct(a['pct'])}")
            expect(STATUS_VI[a["status_2025"]] in seg, f"pdf group {g['group']} verdict")
    # The respondents table in section I: each respondent type's procedure figure (as by=respondent,group).
    rs = flat.find(norm("Theo đối tượng đánh giá và thời gian chờ"))
    expect(rs >= 0, "pdf lacks the respondents table")
    rseg = flat[rs: flat.find("II. XẾP HẠNG")]
    for p in model["respondents"]:
        a = by_resp.get(p["respondent"] + "/tthc")
        if a and a["n"]:
            expect(vi_pct(a["pct"]) in rseg, f"pdf respondents {p['respondent']} tthc {vi_pct(a['pct'])}")
    # The appendix: one row per unit (its first line holds code, name and percentages; the next the n).
    app = text[text.find("PHỤ LỤC"):]
    lines = app.splitlines()
    code_re = re.compile(r"^\s*(\S+)\s")
    starts = [(i, m.group(1)) for i, l in enumerate(lines) if (m := code_re.match(l)) and m.group(1) in names]
    expect(len(starts) == len(units), f"pdf appendix rows {len(starts)} != {len(units)}")
    for k, (i, code) in enumerate(starts):
        seg = norm(" ".join(lines[i: starts[k + 1][0] if k + 1 < len(starts) else len(lines)]))
        expect(in_order(names[code], seg), f"pdf appendix name {names[code]!r} not in {seg!r}")
        expect(norm(names[code]) in flat, f"pdf unit name literally: {names[code]!r}")
        for g in GROUPS:
            a = unit_api[code][g]
            if a["n"]:
                cell = f"{vi_pct(a['pct'])} {SHORT[a['status_2025']]}/{SHORT[a['status_2030']]}"
                expect(cell in seg, f"pdf appendix {code} {g}: {cell!r} not in {seg!r}")
                expect(re.search(r"n\s*=\s*" + re.escape(vi_int(a["n"])) + r"(\s|$)", seg), f"pdf appendix {code} {g} n")
    for h in hostile:
        if h in names.values():
            expect(norm(h) in flat, f"pdf hostile name literal {h!r}")
    # The ranking's rows (at most 15) show their unit's figure.
    rank = flat[flat.find("II. XẾP HẠNG"): flat.find("III. DIỄN BIẾN")]
    for item in model["ranking"][:15]:
        a = unit_api[item["unit"]][item["group"]]
        expect(item["unit"] in rank and vi_pct(a["pct"]) in rank, f"pdf ranking {item['unit']} {item['group']}")

    if failures:
        print(f"check_report_files [{args.tag} {args.dir}]: {len(failures)} failed:")
        for f in failures[:60]:
            print("  -", f)
        return 1
    print(f"check_report_files [{args.tag}]: json, xlsx, csv, pdf agree with the API "
          f"({len(units)} units, {len(GROUPS)} groups)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
