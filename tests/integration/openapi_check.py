#!/usr/bin/python3
"""openapi_check.py — docs/openapi.yaml against the real tally-server's answers.

    openapi_check.py TALLY_SERVER TALLY_ADMIN docs/openapi.yaml assets/units-gialai.csv

Sets up a database with tally-admin, starts tally-server on a free loopback port, then provokes every reply
the document lists for every operation (and the 404/405 every path may give) and checks each against it:
the status is documented for that operation, the body is JSON in valid UTF-8 that validates against the
documented schema, a documented header (Retry-After) is there. At the end every documented reply must have
been seen. Run with Debian's /usr/bin/python3 (python3-yaml, python3-jsonschema from scripts/bootstrap).
"""
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import jsonschema
import yaml

SERVER, ADMIN, SPEC, UNITS = sys.argv[1:5]
spec = yaml.safe_load(open(SPEC, encoding="utf-8"))
resolver = jsonschema.RefResolver.from_schema(spec)
seen = set()
failures = []
checks = [0]
tmp = tempfile.mkdtemp(prefix="openapi-check-")
db = os.path.join(tmp, "tally.db")


def admin(*args):
    return subprocess.run([ADMIN, "--db", db, *args], check=True, capture_output=True, text=True).stdout.strip()


def resolve(obj):
    while isinstance(obj, dict) and "$ref" in obj:
        obj = resolver.resolve(obj["$ref"])[1]
    return obj


def raw(port, data, timeout=15, source=None):
    s = socket.create_connection(("127.0.0.1", port), source_address=(source, 0) if source else None)
    s.settimeout(timeout)
    s.sendall(data)
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
            head, sep, body = out.partition(b"\r\n\r\n")
            if sep:
                cl = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
                if cl and len(body) >= int(cl[0].split(b":")[1]):
                    break
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0].startswith(b"HTTP/1.1 ") else 0
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(b":")
        headers[k.decode().strip().lower()] = v.decode().strip()
    return status, headers, body


def request(port, method, path, token=None, body=None, ctype="application/json", extra=b"", source=None):
    h = f"{method} {path} HTTP/1.1\r\nHost: tally\r\nConnection: close\r\n".encode()
    if token:
        h += f"Authorization: Bearer {token}\r\n".encode()
    if body is not None:
        h += f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n".encode()
    return raw(port, h + extra + b"\r\n" + (body or b""), source=source)


def check(what, path, method, want, reply):
    """The reply must be `want`, documented for (path, method) (or 404/405 anywhere), in its schema."""
    checks[0] += 1
    status, headers, body = reply
    if status != want:
        failures.append(f"{what}: expected {want}, got {status} {body[:200]!r}")
        return
    op = spec["paths"].get(path, {}).get(method.lower())
    doc = (op or {}).get("responses", {}).get(str(status))
    if doc is None and status in (404, 405):
        doc = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    if doc is None:
        failures.append(f"{what}: {method} {path} answered {status}, which the document does not list")
        return
    doc = resolve(doc)
    if op is not None:
        seen.add((path, method.lower(), str(status)))
    if "text/plain" in doc.get("content", {}):  # GET /metrics: Prometheus text, checked by tally_metrics_http
        if not headers.get("content-type", "").startswith("text/plain; version=0.0.4"):
            failures.append(f"{what}: Content-Type {headers.get('content-type')!r}")
        return
    if not headers.get("content-type", "").startswith("application/json"):
        failures.append(f"{what}: Content-Type {headers.get('content-type')!r}")
    try:
        text = body.decode("utf-8")
        value = json.loads(text)
    except (UnicodeDecodeError, ValueError) as e:
        failures.append(f"{what}: body is not UTF-8 JSON ({e}): {body[:200]!r}")
        return
    schema = doc["content"]["application/json"]["schema"]
    try:
        jsonschema.validate(value, schema, cls=jsonschema.Draft202012Validator, resolver=resolver)
    except jsonschema.ValidationError as e:
        failures.append(f"{what}: {status} body does not match the document: {e.message} in {text[:300]}")
    for name, h in doc.get("headers", {}).items():
        h = resolve(h)
        v = headers.get(name.lower())
        if h.get("required") and v is None:
            failures.append(f"{what}: {status} without the {name} header")
        elif v is not None and h.get("schema", {}).get("type") == "integer" and not (v.isdigit() and int(v) >= 1):
            failures.append(f"{what}: {name}: {v!r}")


def batch(device, n=2, unit="000.00.31.H21.Q01"):
    ratings = [{"id": str(uuid.uuid4()), "seq": i + 1, "unit": unit, "area": "dat_dai", "scale": "tthc3",
                "score": 3, "reasons": [], "followup": "none", "at": "2025-05-05T09:00:00+07:00", "flags": []}
               for i in range(n)]
    return json.dumps({"schema": 1, "batch_id": str(uuid.uuid4()), "device_id": device,
                       "sent_at": "2025-05-05T10:00:00+07:00", "ratings": ratings}).encode()


def main():
    admin("init")
    admin("unit", "import", UNITS)
    dev = admin("device", "add", "api-dev", "--unit", "000.00.31.H21.Q01", "--since", "2024-01-01")
    gone = admin("device", "add", "api-gone", "--unit", "000.00.31.H21.Q01", "--since", "2024-01-01")
    admin("device", "revoke", "api-gone")
    viewer = admin("viewer", "add", "api-viewer")
    old = admin("viewer", "add", "api-old")
    admin("viewer", "revoke", "api-old")
    proc = subprocess.Popen([SERVER, "--db", db, "--listen", "127.0.0.1:0", "--header-timeout-s", "2",
                             "--queue-max", "1", "--metrics-allow", "127.0.0.2"], stdout=subprocess.PIPE, stderr=open(os.path.join(tmp, "log"), "w"),
                            text=True)
    try:
        line = proc.stdout.readline()
        port = int(line.split("http://127.0.0.1:")[1].split()[0])
        run(port, dev, gone, viewer, old)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    documented = {(p, m, s) for p, ops in spec["paths"].items() for m, op in ops.items()
                  for s in op.get("responses", {})}
    for missing in sorted(documented - seen):
        failures.append(f"documented but never provoked: {missing[1].upper()} {missing[0]} {missing[2]}")
    for f in failures:
        print("FAIL:", f)
    print(f"openapi_check: {checks[0]} answers checked, covering {len(seen)} of {len(documented)} documented replies")
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"{checks[0] - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


def run(port, dev, gone, viewer, old):
    B, T, G = "/api/v1/batches", "/api/v1/tally", "/api/v1/targets"
    good = batch("api-dev")
    check("a good batch", B, "POST", 200, request(port, "POST", B, dev, good))
    check("the same batch again", B, "POST", 200, request(port, "POST", B, dev, good))
    with_bad_item = json.loads(batch("api-dev", 3))
    with_bad_item["ratings"][1]["area"] = "hai_quan"
    with_bad_item["ratings"][2]["id"] = "nope"
    check("a batch with bad items", B, "POST", 200, request(port, "POST", B, dev, json.dumps(with_bad_item).encode()))
    answered = json.loads(batch("api-dev", 3))
    answered["schema"] = 2
    for r, (svc, who, wait) in zip(answered["ratings"], ((1, "nguoi_dan", "duoi_15"), (3, "to_chuc", "tren_30"),
                                                         (2, None, "15_30"))):
        r.update(service_score=svc, respondent=who, wait=wait)
    check("a schema-2 batch", B, "POST", 200, request(port, "POST", B, dev, json.dumps(answered).encode()))
    check("not JSON", B, "POST", 400, request(port, "POST", B, dev, b'{"schema":1,'))
    check("a NUL in the target", B, "POST", 400, request(port, "POST", B + "%00x", dev, good))
    check("two lengths", B, "POST", 400, request(port, "POST", B, dev, good, extra=b"Content-Length: 3\r\n"))
    check("no token", B, "POST", 401, request(port, "POST", B, None, good))
    check("a revoked device", B, "POST", 403, request(port, "POST", B, gone, batch("api-gone")))
    check("another device's batch", B, "POST", 403, request(port, "POST", B, dev, batch("api-gone")))
    check("too slow", B, "POST", 408, raw(port, b"POST " + B.encode() + b" HTTP/1.1\r\nHost: tally\r\n", timeout=10))
    check("chunked", B, "POST", 411, raw(port, f"POST {B} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {dev}\r\n"
                                             "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                                             "0\r\n\r\n".encode()))
    check("too long", B, "POST", 413, raw(port, f"POST {B} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {dev}\r\n"
                                               "Content-Type: application/json\r\nContent-Length: 99999999\r\n\r\n"
                                               .encode()))
    check("a long target", B, "POST", 414, request(port, "POST", B + "?" + "a" * 5000, dev, good))
    check("not JSON content", B, "POST", 415, request(port, "POST", B, dev, good, ctype="text/plain"))
    check("gzip", B, "POST", 501, raw(port, f"POST {B} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {dev}\r\n"
                                           "Content-Type: application/json\r\nTransfer-Encoding: gzip\r\n\r\n"
                                           .encode()))
    check("an unknown path", "/api/v2/x", "GET", 404, request(port, "GET", "/api/v2/x"))
    check("a wrong method", B, "GET", 405, request(port, "GET", B, dev))

    q = "?from=2025-01-01&to=2025-12-31"
    for by in ("", "&by=group", "&by=unit,area&unit=000.00.31.H21", "&by=month&area=dat_dai&min_n=1",
               "&by=respondent,group&min_n=1", "&respondent=nguoi_dan&by=group&min_n=1"):
        check("a tally", T, "GET", 200, request(port, "GET", T + q + by, viewer))
    reply = request(port, "GET", T + q + "&respondent=ai_do", viewer)
    check("an unknown respondent", T, "GET", 400, reply)
    err = json.loads(reply[2]) if reply[0] == 400 else {}
    if (err.get("error"), err.get("field")) != ("unknown_respondent", "respondent"):
        failures.append(f"an unknown respondent: not unknown_respondent naming respondent: {reply[2][:200]!r}")
    # The schema-2 batch's answers are in the figures: phuc_vu counts the three service faces, the wait
    # indicator two of three within 30 minutes.
    reply = request(port, "GET", T + q + "&by=group&min_n=1", viewer)
    rows = {r["key"]: r for r in json.loads(reply[2])["rows"]} if reply[0] == 200 else {}
    pv = rows.get("phuc_vu", {})
    if (pv.get("n"), pv.get("satisfied"), pv.get("wait", {}).get("n"), pv.get("wait", {}).get("within_30")) != \
            (3, 2, 3, 2):
        failures.append(f"by=group: phuc_vu row is not n 3, satisfied 2, wait 2 of 3: {pv}")
    check("a repeated respondent", T, "GET", 400,
          request(port, "GET", T + q + "&respondent=to_chuc&respondent=to_chuc", viewer))
    check("a repeated parameter", T, "GET", 400, request(port, "GET", T + q + "&to=2025-02-01", viewer))
    check("a query name not UTF-8", T, "GET", 400, request(port, "GET", T + "?%FF=1", viewer))
    check("no token", T, "GET", 401, request(port, "GET", T + q))
    check("a revoked viewer", T, "GET", 403, request(port, "GET", T + q, old))
    check("an unknown unit", T, "GET", 404, request(port, "GET", T + q + "&unit=NO.SUCH", viewer))
    check("the targets", G, "GET", 200, request(port, "GET", G, viewer))
    check("no token", G, "GET", 401, request(port, "GET", G))
    check("a revoked viewer", G, "GET", 403, request(port, "GET", G, old))
    check("health", "/healthz", "GET", 200, request(port, "GET", "/healthz"))
    check("ready", "/readyz", "GET", 200, request(port, "GET", "/readyz"))
    check("metrics", "/metrics", "GET", 200, request(port, "GET", "/metrics", source="127.0.0.2"))
    check("metrics refused", "/metrics", "GET", 403, request(port, "GET", "/metrics"))

    # 503 busy: another process holds the write lock, one batch waits for it, one queues (--queue-max 1).
    lock = sqlite3.connect(db, isolation_level=None, timeout=30)
    lock.execute("BEGIN IMMEDIATE")
    waiting = [threading.Thread(target=request, args=(port, "POST", B, dev, batch("api-dev"))) for _ in range(2)]
    for t in waiting:
        t.start()
        time.sleep(0.5)
    check("a full queue", B, "POST", 503, request(port, "POST", B, dev, batch("api-dev")))
    lock.execute("COMMIT")
    lock.close()
    for t in waiting:
        t.join()
    # 500: the file loses a table the writer needs; 503 from /readyz: it loses the probe's.
    con = sqlite3.connect(db, isolation_level=None, timeout=30)
    con.execute("DROP TABLE receipts")
    check("a broken database", B, "POST", 500, request(port, "POST", B, dev, batch("api-dev")))
    con.execute("DROP TABLE health")
    con.close()
    for _ in range(100):
        reply = request(port, "GET", "/readyz")
        if reply[0] == 503:
            break
        time.sleep(0.1)
    check("not ready", "/readyz", "GET", 503, reply)


if __name__ == "__main__":
    sys.exit(main())
