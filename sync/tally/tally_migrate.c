/* tally_migrate.c — copies a SQLite tally into PostgreSQL and proves the copy equal (tally_migrate.h).
 *
 * Rows are copied verbatim, not re-ingested: a rating's stored copy may be a later revision of what its kiosk
 * first sent, its roll-up cells moved when it changed, and the token hashes must stay the ones the kiosks
 * hold. Each chunk goes to PostgreSQL by COPY into a temporary table and one INSERT … ON CONFLICT DO UPDATE
 * … WHERE the row differs, in one transaction: rows already equal are left alone and not counted, so the
 * counts printed are exactly what the run changed. Before copying, a PostgreSQL database that has received
 * batches newer than the file's last is refused: the servers have moved there, and the file would overwrite
 * their roll-ups. TABLES below must name every column of both schemas: the schema check refuses to run when a
 * migration added a column this file does not copy. */
#include "sync/tally/tally_migrate.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "sync/tally/tally_db.h"
#include "sync/tally/tally_pg.h"

#define CHUNK_ROWS_DEFAULT 5000
#define SHOW_DIFFS 8 /* differences printed per table */

/* One table of both schemas. cols lists the key columns first (nkey of them); types has one letter per
 * column: T text, I integer, R real, B blob/bytea. */
typedef struct {
    const char *name, *cols, *types;
    int         nkey;     /* 0: no key; rows are a multiset, compared and copied by all columns (receipts) */
    bool        whole;    /* one chunk: units (a child may precede its parent), and the mirrored tables */
    bool        mirror;   /* rows absent from the file are deleted: sign-in state must not outlive the file's */
    bool        identity; /* the key is GENERATED ALWAYS on PostgreSQL (audit.id) */
} Table;

/* In dependency order (units before what references them). health is the writer's liveness probe and
 * schema_version the schema's own: neither is data. */
static const Table TABLES[] = {
    {"units", "code,name,parent", "TTT", 1, true, false, false},
    {"viewers", "name,token_hash,created_at,revoked_at,unit,pw_hash", "TBIITT", 1, false, false, false},
    {"devices", "id,unit,token_hash,created_at,revoked_at,last_seen,last_skew_s,received,max_seq,quarantined,since",
     "TTBIIIIIIII", 1, false, false, false},
    {"targets", "grp,milestone,pct", "TIR", 2, false, false, false},
    {"settings", "key,value", "TT", 1, false, false, false},
    {"ratings", "id,device,unit,area,scale,score,flagged,day,body,batch,received_at,quarantine", "TTTTTIIITTII", 1,
     false, false, false},
    {"daily", "unit,day,area,scale,score,flagged,n", "TITTIII", 6, false, false, false},
    {"monthly", "unit,month,area,scale,score,flagged,n", "TITTIII", 6, false, false, false},
    {"daily_sat",
     "unit,day,area,respondent,n,satisfied,flagged,svc_n,svc_satisfied,svc_flagged,wait_n,wait_within,svc_wait_n,"
     "svc_wait_within",
     "TITTIIIIIIIIII", 4, false, false, false},
    {"monthly_sat",
     "unit,month,area,respondent,n,satisfied,flagged,svc_n,svc_satisfied,svc_flagged,wait_n,wait_within,svc_wait_n,"
     "svc_wait_within",
     "TITTIIIIIIIIII", 4, false, false, false},
    {"reasons_daily", "unit,day,area,reason,n", "TITTI", 4, false, false, false},
    {"reasons_monthly", "unit,month,area,reason,n", "TITTI", 4, false, false, false},
    {"hours_daily", "unit,day,area,hour,n,unsatisfied", "TITIII", 4, false, false, false},
    {"hours_monthly", "unit,month,area,weekday,hour,n,unsatisfied", "TITIIII", 5, false, false, false},
    {"receipts", "device,received_at,batch_id,sent_at,skew_s,accepted,duplicate,rejected", "TITTIIII", 0, false,
     false, false},
    {"sessions", "id_hash,viewer,csrf,created_at,last_seen,addr", "BTTIIT", 1, true, true, false},
    {"login_failures", "kind,key,failures,last_at", "TTII", 2, true, true, false},
    {"audit", "id,at,viewer,addr,event,detail", "IITTTT", 1, false, false, true},
};
#define N_TABLES ((int)(sizeof TABLES / sizeof TABLES[0]))
static const char *const NOT_COPIED[] = {"health", "schema_version"};

/* The roll-ups a report reads for a period, by unit × month × area (every respondent together). */
#define ROLLUP_COLS "unit, month, area, sum(n), sum(satisfied), sum(flagged), sum(svc_n), sum(svc_satisfied)," \
                    " sum(wait_n), sum(wait_within)"
#define ROLLUP_TYPES "TITIIIIIII"

typedef struct {
    const char *from;
    TallyDb    *sq_db, *pg_db;
    sqlite3    *sq;
    PGconn     *pg;
    long        chunk_rows;
    char        msg[TALLY_MSG_MAX];
} Ctx;

/* ---- Small helpers -------------------------------------------------------------------------------------- */

typedef struct {
    char  *p;
    size_t len, cap;
} Buf;

static bool buf_add(Buf *b, const char *s, size_t n)
{
    if(b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while(cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if(!p)
            return false;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return true;
}

static bool buf_str(Buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

static bool buf_fmt(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool buf_fmt(Buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < sizeof tmp && buf_add(b, tmp, (size_t)n);
}

/* The i-th name of a comma-separated list, into out. */
static void col_name(const char *cols, int i, char out[64])
{
    const char *p = cols;
    for(int k = 0; k < i && p; k++) {
        p = strchr(p, ',');
        if(p)
            p++;
    }
    size_t n = p ? strcspn(p, ",") : 0;
    snprintf(out, 64, "%.*s", (int)(n < 63 ? n : 63), p ? p : "");
}

static int n_cols(const Table *t)
{
    return (int)strlen(t->types);
}

/* "a, b, c" of the columns [from, to), each with prefix and, for text keys on PostgreSQL, COLLATE "C"
 * (SQLite's BINARY order is byte order). */
static bool cols_list(Buf *b, const Table *t, int from, int to, const char *prefix, bool collate_c)
{
    bool ok = true;
    for(int i = from; i < to; i++) {
        char c[64];
        col_name(t->cols, i, c);
        ok = ok && buf_fmt(b, "%s%s%s%s", i > from ? ", " : "", prefix, c,
                           collate_c && t->types[i] == 'T' ? " COLLATE \"C\"" : "");
    }
    return ok;
}

static TallyErr pg_run(Ctx *c, const char *what, const char *sql, PGresult **out)
{
    if(out)
        *out = NULL;
    PGresult *r = PQexec(c->pg, sql);
    ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if(s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        TallyErr e = tally_pg_fail(tally_db_pg(c->pg_db), r, what, c->msg);
        PQclear(r);
        return e;
    }
    if(out)
        *out = r;
    else
        PQclear(r);
    return TALLY_OK;
}

static int64_t pg_scalar(PGresult *r)
{
    return PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
}

/* ---- Reading rows from either side as comparable text ------------------------------------------------ */

/* One row, each value as text: T its bytes, I decimal, R "%.17g", B lowercase hex. */
typedef struct {
    int    n;
    Buf    v[24];
    bool   null[24];
} Row;

static void row_free(Row *r)
{
    for(int i = 0; i < 24; i++)
        free(r->v[i].p);
}

static bool put_val(Row *row, int i, char type, const char *text, size_t len, bool is_null)
{
    row->null[i] = is_null;
    row->v[i].len = 0;
    if(is_null)
        return buf_add(&row->v[i], "", 0);
    char tmp[64];
    if(type == 'I') {
        snprintf(tmp, sizeof tmp, "%lld", strtoll(text, NULL, 10));
        return buf_str(&row->v[i], tmp);
    }
    if(type == 'R') {
        snprintf(tmp, sizeof tmp, "%.17g", strtod(text, NULL));
        return buf_str(&row->v[i], tmp);
    }
    return buf_add(&row->v[i], text, len);
}

static bool sq_row(sqlite3_stmt *st, const char *types, Row *row)
{
    row->n = (int)strlen(types);
    for(int i = 0; i < row->n; i++) {
        bool is_null = sqlite3_column_type(st, i) == SQLITE_NULL;
        if(types[i] == 'B' && !is_null) {
            const unsigned char *b = sqlite3_column_blob(st, i);
            int n = sqlite3_column_bytes(st, i);
            row->null[i] = false;
            row->v[i].len = 0;
            for(int k = 0; k < n; k++) {
                char h[3];
                snprintf(h, sizeof h, "%02x", b[k]);
                if(!buf_add(&row->v[i], h, 2))
                    return false;
            }
            if(n == 0 && !buf_add(&row->v[i], "", 0))
                return false;
        } else if(types[i] == 'R' && !is_null) {
            char tmp[64];
            snprintf(tmp, sizeof tmp, "%.17g", sqlite3_column_double(st, i));
            if(!put_val(row, i, 'T', tmp, strlen(tmp), false))
                return false;
        } else {
            const char *t = (const char *)sqlite3_column_text(st, i);
            if(!put_val(row, i, types[i], t ? t : "", (size_t)sqlite3_column_bytes(st, i), is_null))
                return false;
        }
    }
    return true;
}

static bool pg_row(const PGresult *r, const char *types, Row *row)
{
    row->n = (int)strlen(types);
    for(int i = 0; i < row->n; i++) {
        const char *t = PQgetvalue(r, 0, i);
        size_t len = (size_t)PQgetlength(r, 0, i);
        if(types[i] == 'B' && len >= 2 && t[0] == '\\' && t[1] == 'x') {
            t += 2;
            len -= 2;
        }
        if(!put_val(row, i, types[i], t, len, PQgetisnull(r, 0, i)))
            return false;
    }
    return true;
}

/* Order of two rows by their first nkey values (all values when nkey is 0), as both ORDER BYs sort. */
static int row_cmp(const Row *a, const Row *b, const char *types, int nkey)
{
    int n = nkey ? nkey : a->n;
    for(int i = 0; i < n; i++) {
        if(a->null[i] != b->null[i])
            return a->null[i] ? -1 : 1;
        int c;
        if(types[i] == 'I') {
            long long x = strtoll(a->v[i].p, NULL, 10), y = strtoll(b->v[i].p, NULL, 10);
            c = (x > y) - (x < y);
        } else if(types[i] == 'R') {
            double x = strtod(a->v[i].p, NULL), y = strtod(b->v[i].p, NULL);
            c = (x > y) - (x < y);
        } else {
            size_t m = a->v[i].len < b->v[i].len ? a->v[i].len : b->v[i].len;
            c = memcmp(a->v[i].p, b->v[i].p, m);
            if(!c)
                c = (a->v[i].len > b->v[i].len) - (a->v[i].len < b->v[i].len);
        }
        if(c)
            return c;
    }
    return 0;
}

/* The first differing column of two rows with the same key, or -1. */
static int row_diff(const Row *a, const Row *b)
{
    for(int i = 0; i < a->n; i++)
        if(a->null[i] != b->null[i] || a->v[i].len != b->v[i].len || memcmp(a->v[i].p, b->v[i].p, a->v[i].len))
            return i;
    return -1;
}

static void row_key(const Row *r, int nkey, char *out, size_t len)
{
    size_t at = 0;
    out[0] = '\0';
    for(int i = 0; i < (nkey ? nkey : r->n) && at + 1 < len; i++) {
        int n = snprintf(out + at, len - at, "%s%.*s", i ? " " : "", (int)(r->v[i].len > 60 ? 60 : r->v[i].len),
                         r->null[i] ? "NULL" : r->v[i].p);
        if(n < 0)
            break;
        at += (size_t)n;
    }
}

/* ---- Copying ------------------------------------------------------------------------------------------- */

typedef struct {
    int64_t read, inserted, updated, deleted;
} CopyCounts;

/* A value in COPY's text format. */
static bool copy_val(Buf *b, sqlite3_stmt *st, int i, char type)
{
    if(sqlite3_column_type(st, i) == SQLITE_NULL)
        return buf_str(b, "\\N");
    char tmp[64];
    if(type == 'I') {
        snprintf(tmp, sizeof tmp, "%lld", (long long)sqlite3_column_int64(st, i));
        return buf_str(b, tmp);
    }
    if(type == 'R') {
        snprintf(tmp, sizeof tmp, "%.17g", sqlite3_column_double(st, i));
        return buf_str(b, tmp);
    }
    if(type == 'B') {
        const unsigned char *p = sqlite3_column_blob(st, i);
        int n = sqlite3_column_bytes(st, i);
        bool ok = buf_str(b, "\\\\x");
        for(int k = 0; ok && k < n; k++) {
            snprintf(tmp, sizeof tmp, "%02x", p[k]);
            ok = buf_add(b, tmp, 2);
        }
        return ok;
    }
    const unsigned char *s = sqlite3_column_text(st, i);
    int n = sqlite3_column_bytes(st, i);
    bool ok = true;
    for(int k = 0; ok && k < n; k++) {
        const char *esc = s[k] == '\\' ? "\\\\" : s[k] == '\t' ? "\\t" : s[k] == '\n' ? "\\n" : s[k] == '\r' ? "\\r"
                                                                                                         : NULL;
        ok = esc ? buf_str(b, esc) : buf_add(b, (const char *)s + k, 1);
    }
    return ok;
}

/* The statement that moves the temporary table's rows into t, answering (inserted, updated): an upsert that
 * touches only rows that differ, or, for the key-less receipts, as many more copies of each row as the file
 * has beyond what PostgreSQL holds. */
static bool upsert_sql(Buf *b, const Table *t)
{
    int n = n_cols(t);
    bool ok = true;
    if(t->nkey == 0) {
        ok = buf_str(b, "WITH s AS (SELECT m.*, m.mig_k - (SELECT count(*) FROM ") && buf_str(b, t->name) &&
             buf_str(b, " d WHERE ");
        for(int i = 0; ok && i < n; i++) {
            char c[64];
            col_name(t->cols, i, c);
            ok = buf_fmt(b, "%sd.%s = m.%s", i ? " AND " : "", c, c);
        }
        ok = ok && buf_fmt(b, ") AS missing FROM mig_%s m), w AS (INSERT INTO %s(", t->name, t->name) &&
             cols_list(b, t, 0, n, "", false) && buf_str(b, ") SELECT ") && cols_list(b, t, 0, n, "s.", false) &&
             buf_str(b, " FROM s, generate_series(1, s.missing) WHERE s.missing > 0 RETURNING 1)"
                        " SELECT count(*), 0 FROM w");
        return ok;
    }
    ok = buf_fmt(b, "WITH w AS (INSERT INTO %s AS d(", t->name) && cols_list(b, t, 0, n, "", false) &&
         buf_str(b, t->identity ? ") OVERRIDING SYSTEM VALUE SELECT " : ") SELECT ") &&
         cols_list(b, t, 0, n, "", false) && buf_fmt(b, " FROM mig_%s ON CONFLICT (", t->name) &&
         cols_list(b, t, 0, t->nkey, "", false) && buf_str(b, ") DO UPDATE SET ");
    for(int i = t->nkey; ok && i < n; i++) {
        char c[64];
        col_name(t->cols, i, c);
        ok = buf_fmt(b, "%s%s = excluded.%s", i > t->nkey ? ", " : "", c, c);
    }
    ok = ok && buf_str(b, " WHERE ROW(") && cols_list(b, t, t->nkey, n, "d.", false) &&
         buf_str(b, ") IS DISTINCT FROM ROW(") && cols_list(b, t, t->nkey, n, "excluded.", false) &&
         buf_str(b, ") RETURNING (d.xmax = 0) AS ins)"
                    " SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM w");
    return ok;
}

/* Sends one chunk (COPY), moves it into the table and, for a mirrored table, deletes what the file lacks; the
 * caller holds the transaction. */
static TallyErr copy_chunk(Ctx *c, const Table *t, const Buf *data, const char *upsert, CopyCounts *cnt)
{
    Buf sql = {0};
    bool ok = buf_fmt(&sql, "COPY mig_%s(", t->name) && cols_list(&sql, t, 0, n_cols(t), "", false) &&
              buf_str(&sql, t->nkey ? ") FROM STDIN" : ", mig_k) FROM STDIN");
    if(!ok) {
        free(sql.p);
        return tally_set_msg(c->msg, TALLY_E_NOMEM, "out of memory");
    }
    PGresult *r = PQexec(c->pg, sql.p);
    free(sql.p);
    if(!r || PQresultStatus(r) != PGRES_COPY_IN) {
        TallyErr e = tally_pg_fail(tally_db_pg(c->pg_db), r, "copy", c->msg);
        PQclear(r);
        return e;
    }
    PQclear(r);
    if((data->len && PQputCopyData(c->pg, data->p, (int)data->len) != 1) || PQputCopyEnd(c->pg, NULL) != 1)
        return tally_pg_fail(tally_db_pg(c->pg_db), NULL, "copy", c->msg);
    TallyErr e = TALLY_OK;
    while((r = PQgetResult(c->pg))) {
        if(!e && PQresultStatus(r) != PGRES_COMMAND_OK)
            e = tally_pg_fail(tally_db_pg(c->pg_db), r, "copy", c->msg);
        PQclear(r);
    }
    if(e)
        return e;
    if((e = pg_run(c, t->name, upsert, &r)))
        return e;
    cnt->inserted += strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    cnt->updated += strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    PQclear(r);
    if(t->mirror) {
        Buf del = {0};
        ok = buf_fmt(&del, "DELETE FROM %s d WHERE NOT EXISTS (SELECT 1 FROM mig_%s m WHERE ", t->name, t->name);
        for(int i = 0; ok && i < t->nkey; i++) {
            char col[64];
            col_name(t->cols, i, col);
            ok = buf_fmt(&del, "%sm.%s = d.%s", i ? " AND " : "", col, col);
        }
        ok = ok && buf_str(&del, ")");
        if(!ok)
            e = tally_set_msg(c->msg, TALLY_E_NOMEM, "out of memory");
        if(!e && !(e = pg_run(c, t->name, del.p, &r))) {
            cnt->deleted += strtoll(PQcmdTuples(r), NULL, 10);
            PQclear(r);
        }
        free(del.p);
    }
    return e;
}

static TallyErr copy_table(Ctx *c, const Table *t, CopyCounts *cnt)
{
    memset(cnt, 0, sizeof *cnt);
    int n = n_cols(t);
    Buf sql = {0}, sel = {0}, up = {0}, data = {0};
    TallyErr e = TALLY_OK;
    sqlite3_stmt *st = NULL;
    /* A temporary twin of the table, emptied at every commit; for receipts with the number of copies. */
    bool ok = buf_fmt(&sql, "CREATE TEMP TABLE IF NOT EXISTS mig_%s ON COMMIT DELETE ROWS AS SELECT ", t->name) &&
              cols_list(&sql, t, 0, n, "", false) &&
              buf_fmt(&sql, "%s FROM %s WITH NO DATA", t->nkey ? "" : ", 0::bigint AS mig_k", t->name) &&
              buf_str(&sel, "SELECT ") && cols_list(&sel, t, 0, n, "", false) &&
              buf_str(&sel, t->nkey ? "" : ", count(*)") && buf_fmt(&sel, " FROM %s", t->name) &&
              (t->nkey ? true : buf_str(&sel, " GROUP BY ") && cols_list(&sel, t, 0, n, "", false)) &&
              buf_str(&sel, " ORDER BY ") && cols_list(&sel, t, 0, t->nkey ? t->nkey : n, "", false) &&
              upsert_sql(&up, t);
    if(!ok)
        e = tally_set_msg(c->msg, TALLY_E_NOMEM, "out of memory");
    if(!e)
        e = pg_run(c, "temporary table", sql.p, NULL);
    if(!e && sqlite3_prepare_v2(c->sq, sel.p, -1, &st, NULL) != SQLITE_OK)
        e = tally_db_fail(c->sq_db, t->name, c->msg);
    bool more = !e;
    while(more) {
        /* One chunk: read up to chunk_rows rows from the file, then one PostgreSQL transaction. */
        data.len = 0;
        long rows = 0;
        int rc = SQLITE_ROW;
        while((t->whole || rows < c->chunk_rows) && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            for(int i = 0; ok && i < n; i++)
                ok = (i == 0 || buf_str(&data, "\t")) && copy_val(&data, st, i, t->types[i]);
            if(ok && !t->nkey) {
                char k[32];
                snprintf(k, sizeof k, "\t%lld", (long long)sqlite3_column_int64(st, n));
                ok = buf_str(&data, k);
            }
            ok = ok && buf_str(&data, "\n");
            rows++;
        }
        if(!ok) {
            e = tally_set_msg(c->msg, TALLY_E_NOMEM, "out of memory");
            break;
        }
        if(rc != SQLITE_ROW && rc != SQLITE_DONE) {
            e = tally_db_fail(c->sq_db, t->name, c->msg);
            break;
        }
        more = rc == SQLITE_ROW;
        if(rows == 0 && !t->mirror)
            break;
        cnt->read += rows;
        e = pg_run(c, "begin", "BEGIN", NULL);
        if(!e && t->whole && !t->mirror)
            e = pg_run(c, "defer constraints", "SET CONSTRAINTS ALL DEFERRED", NULL);
        if(!e)
            e = copy_chunk(c, t, &data, up.p, cnt);
        if(!e)
            e = pg_run(c, "commit", "COMMIT", NULL);
        if(e) {
            tally_pg_rollback(tally_db_pg(c->pg_db));
            break;
        }
    }
    /* An identity column continues after the highest copied id, so the next audit line gets a fresh one. */
    if(!e && t->identity) {
        char q[512];
        char key[64];
        col_name(t->cols, 0, key);
        snprintf(q, sizeof q, "SELECT setval(pg_get_serial_sequence('%s', '%s'), max(%s)) FROM %s HAVING max(%s) IS "
                              "NOT NULL", t->name, key, key, t->name, key);
        e = pg_run(c, "identity", q, NULL);
    }
    sqlite3_finalize(st);
    free(sql.p);
    free(sel.p);
    free(up.p);
    free(data.p);
    return e;
}

/* ---- Checks before copying ------------------------------------------------------------------------- */

static const Table *find_table(const char *name)
{
    for(int i = 0; i < N_TABLES; i++)
        if(strcmp(TABLES[i].name, name) == 0)
            return &TABLES[i];
    return NULL;
}

static bool known_column(const char *table, const char *col, int *seen)
{
    for(size_t i = 0; i < sizeof NOT_COPIED / sizeof NOT_COPIED[0]; i++)
        if(strcmp(table, NOT_COPIED[i]) == 0)
            return true;
    const Table *t = find_table(table);
    if(!t)
        return false;
    for(int i = 0; i < n_cols(t); i++) {
        char c[64];
        col_name(t->cols, i, c);
        if(strcmp(c, col) == 0) {
            seen[t - TABLES]++;
            return true;
        }
    }
    return false;
}

/* Both schemas hold exactly TABLES' columns (plus the tables not copied): a migration that added a column
 * this file does not know stops the run before anything is written, instead of losing that column. */
static TallyErr check_schemas(Ctx *c)
{
    int seen_sq[N_TABLES] = {0}, seen_pg[N_TABLES] = {0};
    sqlite3_stmt *st;
    if(sqlite3_prepare_v2(c->sq, "SELECT m.name, p.name FROM sqlite_schema m, pragma_table_info(m.name) p"
                                 " WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'", -1, &st, NULL) != SQLITE_OK)
        return tally_db_fail(c->sq_db, "schema", c->msg);
    TallyErr e = TALLY_OK;
    while(!e && sqlite3_step(st) == SQLITE_ROW) {
        const char *tb = (const char *)sqlite3_column_text(st, 0), *col = (const char *)sqlite3_column_text(st, 1);
        if(!known_column(tb, col, seen_sq))
            e = tally_set_msg(c->msg, TALLY_E_INVALID, "%s has %s.%s, which migrate does not copy (tally_migrate.c "
                              "TABLES) / cột chưa được hỗ trợ", c->from, tb, col);
    }
    sqlite3_finalize(st);
    PGresult *r = NULL;
    if(!e)
        e = pg_run(c, "schema", "SELECT table_name, column_name FROM information_schema.columns"
                                " WHERE table_schema = current_schema()", &r);
    for(int i = 0; !e && i < PQntuples(r); i++)
        if(!known_column(PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), seen_pg))
            e = tally_set_msg(c->msg, TALLY_E_INVALID, "PostgreSQL has %s.%s, which migrate does not copy "
                              "(tally_migrate.c TABLES) / cột chưa được hỗ trợ", PQgetvalue(r, i, 0),
                              PQgetvalue(r, i, 1));
    PQclear(r);
    for(int i = 0; !e && i < N_TABLES; i++)
        if(seen_sq[i] != n_cols(&TABLES[i]) || seen_pg[i] != n_cols(&TABLES[i]))
            e = tally_set_msg(c->msg, TALLY_E_INVALID, "table %s: the schemas of %s and PostgreSQL differ from what "
                              "migrate knows / lược đồ không khớp", TABLES[i].name, c->from);
    return e;
}

/* PostgreSQL must not have taken uploads of its own: a batch received there after the file's last one
 * means tally-server already runs on it, and copying the file would overwrite the roll-ups it added. */
static TallyErr check_not_live(Ctx *c)
{
    sqlite3_stmt *st;
    int64_t last_sq = 0;
    if(sqlite3_prepare_v2(c->sq, "SELECT coalesce(max(received_at), 0) FROM receipts", -1, &st, NULL) != SQLITE_OK)
        return tally_db_fail(c->sq_db, "receipts", c->msg);
    if(sqlite3_step(st) == SQLITE_ROW)
        last_sq = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    PGresult *r = NULL;
    TallyErr e = pg_run(c, "receipts", "SELECT coalesce(max(received_at), 0) FROM receipts", &r);
    if(e)
        return e;
    int64_t last_pg = pg_scalar(r);
    PQclear(r);
    if(last_pg > last_sq)
        return tally_set_msg(c->msg, TALLY_E_EXISTS,
                             "PostgreSQL already took batches newer than the file's last: tally-server runs on it, "
                             "copying would overwrite its roll-ups; nothing copied / PostgreSQL đã nhận dữ liệu mới "
                             "hơn tệp, không sao chép");
    return TALLY_OK;
}

/* ---- Verification -------------------------------------------------------------------------------------- */

typedef struct {
    int64_t month, cells, n[2], satisfied[2];
} MonthSum;

typedef struct {
    int64_t   rows[2]; /* [0] SQLite, [1] PostgreSQL */
    int64_t   diffs;
    MonthSum *months; /* the roll-up comparison only */
    size_t    n_months;
} Compare;

static void month_add(Compare *cmp, const Row *r, int side)
{
    int64_t m = strtoll(r->v[1].p, NULL, 10);
    if(!cmp->n_months || cmp->months[cmp->n_months - 1].month != m) {
        size_t i = 0;
        while(i < cmp->n_months && cmp->months[i].month != m)
            i++;
        if(i == cmp->n_months) {
            MonthSum *p = realloc(cmp->months, (cmp->n_months + 1) * sizeof *p);
            if(!p)
                return;
            cmp->months = p;
            cmp->months[cmp->n_months++] = (MonthSum){.month = m};
        }
        if(i != cmp->n_months - 1) { /* keep the last touched at the end: rows come unit by unit */
            MonthSum t = cmp->months[i];
            memmove(cmp->months + i, cmp->months + i + 1, (cmp->n_months - 1 - i) * sizeof t);
            cmp->months[cmp->n_months - 1] = t;
        }
    }
    MonthSum *s = &cmp->months[cmp->n_months - 1];
    if(side == 0)
        s->cells++;
    s->n[side] += strtoll(r->v[3].p, NULL, 10);
    s->satisfied[side] += strtoll(r->v[4].p, NULL, 10);
}

/* Reads sq_sql and pg_sql (same columns, same order) side by side and compares them row by row, printing the
 * first SHOW_DIFFS differences under label. */
static TallyErr compare(Ctx *c, const char *label, const char *sq_sql, const char *pg_sql, const char *types,
                        int nkey, bool months, Compare *cmp)
{
    memset(cmp, 0, sizeof *cmp);
    sqlite3_stmt *st;
    if(sqlite3_prepare_v2(c->sq, sq_sql, -1, &st, NULL) != SQLITE_OK)
        return tally_db_fail(c->sq_db, label, c->msg);
    if(!PQsendQuery(c->pg, pg_sql) || !PQsetSingleRowMode(c->pg)) {
        sqlite3_finalize(st);
        return tally_pg_fail(tally_db_pg(c->pg_db), NULL, label, c->msg);
    }
    Row a = {0}, b = {0};
    bool have_a = false, have_b = false, end_a = false, end_b = false, ok = true;
    TallyErr e = TALLY_OK;
    PGresult *r = NULL;
    for(;;) {
        if(!have_a && !end_a) {
            int rc = sqlite3_step(st);
            if(rc == SQLITE_ROW)
                have_a = ok = sq_row(st, types, &a);
            else if(rc == SQLITE_DONE)
                end_a = true;
            else {
                e = tally_db_fail(c->sq_db, label, c->msg);
                break;
            }
        }
        if(!have_b && !end_b) {
            PQclear(r);
            r = PQgetResult(c->pg);
            ExecStatusType s = r ? PQresultStatus(r) : PGRES_TUPLES_OK;
            if(s == PGRES_SINGLE_TUPLE)
                have_b = ok = ok && pg_row(r, types, &b);
            else if(s == PGRES_TUPLES_OK)
                end_b = true;
            else {
                e = tally_pg_fail(tally_db_pg(c->pg_db), r, label, c->msg);
                break;
            }
        }
        if(!ok) {
            e = tally_set_msg(c->msg, TALLY_E_NOMEM, "out of memory");
            break;
        }
        if(!have_a && !have_b)
            break;
        int o = !have_a ? 1 : !have_b ? -1 : row_cmp(&a, &b, types, nkey);
        char key[200];
        if(o == 0) {
            int d = row_diff(&a, &b);
            if(d >= 0 && cmp->diffs++ < SHOW_DIFFS) {
                row_key(&a, nkey, key, sizeof key);
                fprintf(stderr, "  %s [%s]: column %d differs / khác: SQLite \"%.60s\", PostgreSQL \"%.60s\"\n", label,
                        key, d + 1, a.null[d] ? "NULL" : a.v[d].p, b.null[d] ? "NULL" : b.v[d].p);
            }
        } else if(cmp->diffs++ < SHOW_DIFFS) {
            row_key(o < 0 ? &a : &b, nkey, key, sizeof key);
            fprintf(stderr, "  %s [%s]: %s\n", label, key,
                    o < 0 ? "missing in PostgreSQL / thiếu trong PostgreSQL" : "only in PostgreSQL / chỉ có trong "
                                                                               "PostgreSQL");
        }
        if(o <= 0) {
            cmp->rows[0]++;
            if(months)
                month_add(cmp, &a, 0);
            have_a = false;
        }
        if(o >= 0) {
            cmp->rows[1]++;
            if(months)
                month_add(cmp, &b, 1);
            have_b = false;
        }
    }
    PQclear(r);
    while((r = PQgetResult(c->pg))) /* drain what a failure left */
        PQclear(r);
    sqlite3_finalize(st);
    row_free(&a);
    row_free(&b);
    return e;
}

static int cmp_month(const void *x, const void *y)
{
    const MonthSum *a = x, *b = y;
    return (a->month > b->month) - (a->month < b->month);
}

/* Prints both sides' row counts per table and the roll-ups by month; returns the number of differences. */
static TallyErr verify(Ctx *c, int64_t *diffs)
{
    *diffs = 0;
    printf("\nverify / đối chiếu       SQLite   PostgreSQL\n");
    TallyErr e = TALLY_OK;
    for(int i = 0; !e && i < N_TABLES; i++) {
        const Table *t = &TABLES[i];
        int n = n_cols(t), nk = t->nkey ? t->nkey : n;
        Buf sq = {0}, pg = {0};
        bool ok = buf_str(&sq, "SELECT ") && cols_list(&sq, t, 0, n, "", false) &&
                  buf_fmt(&sq, " FROM %s ORDER BY ", t->name) && cols_list(&sq, t, 0, nk, "", false) &&
                  buf_str(&pg, "SELECT ") && cols_list(&pg, t, 0, n, "", false) &&
                  buf_fmt(&pg, " FROM %s ORDER BY ", t->name) && cols_list(&pg, t, 0, nk, "", true);
        Compare cmp;
        e = ok ? compare(c, t->name, sq.p, pg.p, t->types, t->nkey, false, &cmp)
               : tally_set_msg(c->msg, TALLY_E_NOMEM, "out of memory");
        free(sq.p);
        free(pg.p);
        if(e)
            break;
        printf("%-18s %12lld %12lld   %s\n", t->name, (long long)cmp.rows[0], (long long)cmp.rows[1],
               cmp.diffs ? "DIFFERENT / KHÁC" : "ok / khớp");
        *diffs += cmp.diffs;
    }
    if(e)
        return e;
    Compare cmp;
    e = compare(c, "monthly_sat by unit × month × area",
                "SELECT " ROLLUP_COLS " FROM monthly_sat GROUP BY unit, month, area ORDER BY unit, month, area",
                "SELECT " ROLLUP_COLS " FROM monthly_sat GROUP BY unit, month, area"
                " ORDER BY unit COLLATE \"C\", month, area COLLATE \"C\"",
                ROLLUP_TYPES, 3, true, &cmp);
    if(e) {
        free(cmp.months);
        return e;
    }
    printf("\nroll-ups by unit × month × area / tổng hợp theo đơn vị × tháng × lĩnh vực: %lld cells / ô, %s\n",
           (long long)cmp.rows[0], cmp.diffs ? "DIFFERENT / KHÁC" : "ok / khớp");
    printf("%-8s %8s %12s %12s %16s %16s\n", "month", "cells", "n SQLite", "n PostgreSQL", "satisfied SQLite",
           "satisfied PG");
    qsort(cmp.months, cmp.n_months, sizeof *cmp.months, cmp_month);
    for(size_t i = 0; i < cmp.n_months; i++) {
        const MonthSum *m = &cmp.months[i];
        printf("%04lld-%02lld  %8lld %12lld %12lld %16lld %16lld%s\n", (long long)(m->month / 12),
               (long long)(m->month % 12 + 1), (long long)m->cells, (long long)m->n[0], (long long)m->n[1],
               (long long)m->satisfied[0], (long long)m->satisfied[1],
               m->n[0] != m->n[1] || m->satisfied[0] != m->satisfied[1] ? "   DIFFERENT / KHÁC" : "");
    }
    free(cmp.months);
    *diffs += cmp.diffs;
    return TALLY_OK;
}

/* ---- The command ------------------------------------------------------------------------------------- */

static void migrate_usage(void)
{
    fputs("usage / cách dùng: tally-admin migrate --from FILE.db --to postgresql://… [--chunk-rows N]\n", stderr);
}

int admin_migrate(int argc, char **argv)
{
    Ctx c = {.chunk_rows = CHUNK_ROWS_DEFAULT};
    const char *to = NULL;
    for(int i = 0; i < argc; i++) {
        if(i + 1 < argc && strcmp(argv[i], "--from") == 0)
            c.from = argv[++i];
        else if(i + 1 < argc && strcmp(argv[i], "--to") == 0)
            to = argv[++i];
        else if(i + 1 < argc && strcmp(argv[i], "--chunk-rows") == 0) {
            char *end;
            c.chunk_rows = strtol(argv[++i], &end, 10);
            if(*end || c.chunk_rows < 1 || c.chunk_rows > 1000000)
                return migrate_usage(), 2;
        } else
            return migrate_usage(), 2;
    }
    if(!c.from || !to)
        return migrate_usage(), 2;
    if(tally_pg_is_uri(c.from) || !tally_pg_is_uri(to)) {
        fputs("tally-admin: migrate copies a SQLite file (--from) into PostgreSQL (--to postgresql://…) / chỉ "
              "chuyển từ tệp SQLite sang PostgreSQL\n", stderr);
        return 2;
    }
    if(access(c.from, R_OK) != 0) {
        fprintf(stderr, "tally-admin: %s does not exist or cannot be read / không đọc được tệp\n", c.from);
        return 1;
    }
    /* Opening migrates an older file to the schema this program knows, as tally-server would on start. */
    TallyErr e = tally_db_open(c.from, &c.sq_db, c.msg);
    if(!e && (e = tally_db_open(to, &c.pg_db, c.msg)))
        tally_db_close(c.sq_db);
    if(e) {
        fprintf(stderr, "tally-admin: %s (%s)\n", c.msg, tally_err_name(e));
        return 1;
    }
    c.sq = tally_db_sqlite(c.sq_db);
    c.pg = tally_pg_conn(tally_db_pg(c.pg_db));
    int rc = 1;
    /* One read snapshot of the file for the whole run: a tally-server still writing to it cannot tear the copy
     * (the copy is then of that moment; run again after stopping it to take the rest). */
    if((e = tally_db_read_begin(c.sq_db, c.msg)))
        goto out;
    printf("migrate / chuyển dữ liệu: %s → PostgreSQL\n", c.from);
    if((e = check_schemas(&c)) || (e = check_not_live(&c)))
        goto out_read;
    /* Headers padded by hand: printf counts bytes, and the Vietnamese letters are several. */
    printf("table / bảng         read / đọc  inserted/thêm     updated/sửa     deleted/xoá\n");
    CopyCounts total = {0};
    for(int i = 0; i < N_TABLES; i++) {
        CopyCounts cnt;
        if((e = copy_table(&c, &TABLES[i], &cnt)))
            goto out_read;
        printf("%-18s %12lld %14lld %15lld %15lld\n", TABLES[i].name, (long long)cnt.read, (long long)cnt.inserted,
               (long long)cnt.updated, (long long)cnt.deleted);
        fflush(stdout);
        total.inserted += cnt.inserted;
        total.updated += cnt.updated;
        total.deleted += cnt.deleted;
    }
    if(total.inserted + total.updated + total.deleted == 0)
        printf("nothing changed: PostgreSQL already held this tally / không có gì thay đổi: PostgreSQL đã có đủ "
               "dữ liệu này\n");
    else
        printf("changed / đã thay đổi: %lld inserted / thêm, %lld updated / sửa, %lld deleted / xoá\n",
               (long long)total.inserted, (long long)total.updated, (long long)total.deleted);
    /* PostgreSQL is read in one snapshot too, and the file is still in the snapshot the copy read. */
    int64_t diffs = 0;
    if(!(e = pg_run(&c, "begin read", "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", NULL))) {
        e = verify(&c, &diffs);
        tally_pg_rollback(tally_db_pg(c.pg_db));
    }
    if(!e && diffs) {
        fprintf(stderr, "tally-admin: %lld differences between %s and PostgreSQL (listed above); do not switch "
                        "tally-server to PostgreSQL / %lld chỗ khác nhau, chưa chuyển tally-server sang PostgreSQL\n",
                (long long)diffs, c.from, (long long)diffs);
    } else if(!e) {
        printf("verified: PostgreSQL holds the same tally as %s / đã đối chiếu: PostgreSQL khớp với %s\n", c.from,
               c.from);
        rc = 0;
    }
out_read:
    tally_db_read_end(c.sq_db);
out:
    if(e)
        fprintf(stderr, "tally-admin: %s (%s)\n", c.msg, tally_err_name(e));
    tally_db_close(c.pg_db);
    tally_db_close(c.sq_db);
    return rc;
}
