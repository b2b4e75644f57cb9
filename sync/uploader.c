/* uploader.c — the upload engine (see uploader.h for the rule it keeps). Start reading at uploader_run():
 * take the oldest pending ratings, post them as one batch, check the reply against what was sent
 * (check_reply), and only then mark them in the store (apply_reply). */
#include "sync/uploader.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sync/protocol.h"
#include "sync/ptime.h"
#include "sync/uuid.h"

struct Uploader {
    CURL *curl;
    struct curl_slist *headers;
    char url[1100];
    char device_id[PROTO_ID_MAX + 1];
    size_t batch_size;
    int tz_offset_min;
    UploaderItem *buf;        /* batch_size ratings as the queue handed them out */
    UploaderItem *acks;       /* the accepted and duplicate ones of a batch, for the queue */
    ProtoRating *sent;        /* the ratings of buf, as encoded */
    bool *is_rejected;        /* batch_size flags */
    /* the reply of the request in flight */
    char *body;
    size_t body_len, body_cap;
    bool body_overflow;
    int64_t date;             /* Date header, unix; 0 = none */
    char retry_after[64];     /* Retry-After header as sent; "" = none */
    int64_t restore_epoch, restore_since; /* PROTO_RESTORE_HEADER; epoch 0 = none or unreadable */
    char errbuf[CURL_ERROR_SIZE];
};

static void setmsg(char *msg, size_t len, const char *fmt, ...)
{
    if(!msg || !len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, len, fmt, ap);
    va_end(ap);
}

const char *uploader_err_name(UploaderErr e)
{
    switch(e) {
    case UPLOADER_OK: return "ok";
    case UPLOADER_E_ARG: return "bad_argument";
    case UPLOADER_E_TOKEN: return "token";
    case UPLOADER_E_STORE: return "store";
    case UPLOADER_E_NETWORK: return "network";
    case UPLOADER_E_HTTP: return "http_status";
    case UPLOADER_E_REPLY: return "bad_reply";
    case UPLOADER_E_NOMEM: return "out_of_memory";
    case UPLOADER_E_RETRY_AFTER: return "server_busy";
    }
    return "unknown";
}

/* ---- Token ------------------------------------------------------------------------------------------ */

UploaderErr uploader_read_token(const char *path, char *out, size_t out_len, char *msg, size_t msg_len)
{
    if(out_len)
        out[0] = '\0';
    if(!path || !*path) {
        setmsg(msg, msg_len, "no token_file in [sync] / chưa khai báo token_file trong [sync]");
        return UPLOADER_E_TOKEN;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if(fd < 0) {
        setmsg(msg, msg_len, "cannot open token file %s: %s / không mở được tệp token", path, strerror(errno));
        return UPLOADER_E_TOKEN;
    }
    struct stat st;
    if(fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        setmsg(msg, msg_len, "token file %s is not a regular file / tệp token không hợp lệ", path);
        return UPLOADER_E_TOKEN;
    }
    if(st.st_mode & (S_IRWXG | S_IRWXO)) {
        close(fd);
        setmsg(msg, msg_len,
               "token file %s is accessible by group/others (mode %03o); fix it with: chmod 600 %s"
               " / tệp token để người khác đọc được, hãy chạy: chmod 600 %s",
               path, (unsigned)(st.st_mode & 0777), path, path);
        return UPLOADER_E_TOKEN;
    }
    char buf[UPLOADER_TOKEN_MAX + 2];
    size_t n = 0;
    for(;;) {
        ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
        if(r < 0 && errno == EINTR)
            continue;
        if(r < 0) {
            close(fd);
            setmsg(msg, msg_len, "cannot read token file %s: %s", path, strerror(errno));
            return UPLOADER_E_TOKEN;
        }
        if(r == 0)
            break;
        n += (size_t)r;
        if(n == sizeof buf - 1)
            break;
    }
    close(fd);
    buf[n] = '\0';
    if(n > UPLOADER_TOKEN_MAX) {
        setmsg(msg, msg_len, "token file %s is longer than %d bytes", path, UPLOADER_TOKEN_MAX);
        return UPLOADER_E_TOKEN;
    }
    char *b = buf, *e = buf + n;
    while(b < e && isspace((unsigned char)*b))
        b++;
    while(e > b && isspace((unsigned char)e[-1]))
        e--;
    if(b == e) {
        setmsg(msg, msg_len, "token file %s is empty / tệp token rỗng", path);
        return UPLOADER_E_TOKEN;
    }
    for(char *p = b; p < e; p++) {
        if((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e) {
            setmsg(msg, msg_len, "token file %s holds more than one printable token", path);
            return UPLOADER_E_TOKEN;
        }
    }
    if((size_t)(e - b) + 1 > out_len) {
        setmsg(msg, msg_len, "token too long");
        return UPLOADER_E_TOKEN;
    }
    memcpy(out, b, (size_t)(e - b));
    out[e - b] = '\0';
    return UPLOADER_OK;
}

/* ---- libcurl callbacks ------------------------------------------------------------------------------ */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    Uploader *u = ctx;
    size_t n = size * nmemb;
    if(u->body_len + n > UPLOADER_MAX_REPLY) {
        u->body_overflow = true;
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    if(u->body_len + n + 1 > u->body_cap) {
        size_t cap = u->body_cap ? u->body_cap : 4096;
        while(cap < u->body_len + n + 1)
            cap *= 2;
        char *nb = realloc(u->body, cap);
        if(!nb)
            return 0;
        u->body = nb;
        u->body_cap = cap;
    }
    memcpy(u->body + u->body_len, data, n);
    u->body_len += n;
    u->body[u->body_len] = '\0';
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ctx)
{
    Uploader *u = ctx;
    size_t n = size * nmemb;
    if(n > 5 && strncasecmp(data, "date:", 5) == 0 && n < 200) {
        char v[200];
        memcpy(v, data + 5, n - 5);
        v[n - 5] = '\0';
        time_t t = curl_getdate(v, NULL);
        if(t > 0)
            u->date = (int64_t)t;
    } else if(n > sizeof PROTO_RESTORE_HEADER && n < 120 &&
              strncasecmp(data, PROTO_RESTORE_HEADER ":", sizeof PROTO_RESTORE_HEADER) == 0) {
        char v[120], *end;
        memcpy(v, data + sizeof PROTO_RESTORE_HEADER, n - sizeof PROTO_RESTORE_HEADER);
        v[n - sizeof PROTO_RESTORE_HEADER] = '\0';
        long long epoch = strtoll(v, &end, 10), since = 0;
        char *end2 = end;
        if(end != v && (*end == ' ' || *end == '\t'))
            since = strtoll(end, &end2, 10);
        while(*end2 == ' ' || *end2 == '\t' || *end2 == '\r' || *end2 == '\n')
            end2++;
        if(end2 != end && !*end2 && epoch > 0 && since >= 0) { /* anything else is ignored, never half-read */
            u->restore_epoch = epoch;
            u->restore_since = since;
        }
    } else if(n > 12 && strncasecmp(data, "retry-after:", 12) == 0) {
        size_t k = n - 12 < sizeof u->retry_after ? n - 12 : sizeof u->retry_after - 1;
        memcpy(u->retry_after, data + 12, k);
        u->retry_after[k] = '\0';
    }
    return n;
}

/* Retry-After (RFC 9110): delay-seconds, or an HTTP-date measured against the reply's Date (else our clock).
 * 0 when absent or unreadable; clamped to 1..UPLOADER_RETRY_AFTER_MAX_S. */
static int64_t retry_after_s(const Uploader *u, int64_t now)
{
    const char *v = u->retry_after;
    while(*v == ' ' || *v == '\t')
        v++;
    int64_t s = 0;
    if(*v >= '0' && *v <= '9') {
        char *end;
        long long x = strtoll(v, &end, 10);
        while(*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
            end++;
        if(*end)
            return 0;
        s = x > UPLOADER_RETRY_AFTER_MAX_S ? UPLOADER_RETRY_AFTER_MAX_S : x;
    } else if(*v) {
        time_t t = curl_getdate(v, NULL);
        if(t <= 0)
            return 0;
        s = (int64_t)t - (u->date ? u->date : now);
    } else {
        return 0;
    }
    return s < 1 ? 1 : s > UPLOADER_RETRY_AFTER_MAX_S ? UPLOADER_RETRY_AFTER_MAX_S : s;
}

/* ---- Life cycle ------------------------------------------------------------------------------------- */

UploaderErr uploader_new(const UploaderOptions *opt, Uploader **out, char *msg, size_t msg_len)
{
    *out = NULL;
    if(!opt->url || !*opt->url) {
        setmsg(msg, msg_len, "no url in [sync] / chưa khai báo url trong [sync]");
        return UPLOADER_E_ARG;
    }
    if(strncmp(opt->url, "https://", 8) != 0 && strncmp(opt->url, "http://", 7) != 0) {
        setmsg(msg, msg_len, "url must start with https:// (or http:// for a test server): %s", opt->url);
        return UPLOADER_E_ARG;
    }
    if(!opt->token || !*opt->token) {
        setmsg(msg, msg_len, "no device token");
        return UPLOADER_E_TOKEN;
    }
    if(!opt->device_id || !proto_code_valid(opt->device_id)) {
        setmsg(msg, msg_len, "device_id is not a valid code");
        return UPLOADER_E_ARG;
    }
    size_t bs = opt->batch_size ? opt->batch_size : UPLOADER_MAX_BATCH;
    if(bs > UPLOADER_MAX_BATCH) {
        setmsg(msg, msg_len, "batch size %zu is over the limit of %d", bs, UPLOADER_MAX_BATCH);
        return UPLOADER_E_ARG;
    }
    Uploader *u = calloc(1, sizeof *u);
    if(!u) {
        setmsg(msg, msg_len, "out of memory");
        return UPLOADER_E_NOMEM;
    }
    size_t ul = strlen(opt->url);
    while(ul > 0 && opt->url[ul - 1] == '/')
        ul--;
    if(ul + sizeof "/batches" > sizeof u->url) {
        free(u);
        setmsg(msg, msg_len, "url is too long");
        return UPLOADER_E_ARG;
    }
    memcpy(u->url, opt->url, ul);
    memcpy(u->url + ul, "/batches", sizeof "/batches");
    snprintf(u->device_id, sizeof u->device_id, "%s", opt->device_id);
    u->batch_size = bs;
    u->tz_offset_min = opt->tz_offset_min;
    u->buf = calloc(bs, sizeof *u->buf);
    u->acks = calloc(bs, sizeof *u->acks);
    u->sent = calloc(bs, sizeof *u->sent);
    u->is_rejected = calloc(bs, sizeof *u->is_rejected);
    u->curl = curl_easy_init();
    char auth[UPLOADER_TOKEN_MAX + 32];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", opt->token);
    struct curl_slist *h = NULL, *t;
    const char *hs[] = {"Content-Type: application/json", "Accept: application/json", "Expect:", auth};
    for(size_t i = 0; i < sizeof hs / sizeof *hs; i++) {
        t = curl_slist_append(h, hs[i]);
        if(!t) {
            curl_slist_free_all(h);
            h = NULL;
            break;
        }
        h = t;
    }
    u->headers = h;
    if(!u->buf || !u->acks || !u->sent || !u->is_rejected || !u->curl || !u->headers) {
        uploader_free(u);
        setmsg(msg, msg_len, "out of memory");
        return UPLOADER_E_NOMEM;
    }
    long cto = opt->connect_timeout_ms > 0 ? opt->connect_timeout_ms : UPLOADER_CONNECT_TIMEOUT_MS;
    long tto = opt->total_timeout_ms > 0 ? opt->total_timeout_ms : UPLOADER_TOTAL_TIMEOUT_MS;
    CURL *c = u->curl;
    CURLcode rc = CURLE_OK;
    /* The options that matter for safety: verification on, no redirects (a captive portal's 302 must not
     * be followed), only http(s), short connect timeout, a total timeout per request. */
#define SET(opt_, val_) do { if(rc == CURLE_OK) rc = curl_easy_setopt(c, opt_, val_); } while(0)
    SET(CURLOPT_URL, u->url);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_HTTPHEADER, u->headers);
    SET(CURLOPT_POST, 1L);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, cto);
    SET(CURLOPT_TIMEOUT_MS, tto);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_USERAGENT, "kiosk-sync/" "0.1");
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, u);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, u);
    SET(CURLOPT_ERRORBUFFER, u->errbuf);
    if(opt->ca_file && *opt->ca_file)
        SET(CURLOPT_CAINFO, opt->ca_file);
#undef SET
    if(rc != CURLE_OK) {
        setmsg(msg, msg_len, "libcurl refused an option: %s", curl_easy_strerror(rc));
        uploader_free(u);
        return UPLOADER_E_ARG;
    }
    *out = u;
    return UPLOADER_OK;
}

void uploader_free(Uploader *u)
{
    if(!u)
        return;
    if(u->curl)
        curl_easy_cleanup(u->curl);
    curl_slist_free_all(u->headers);
    free(u->buf);
    free(u->acks);
    free(u->sent);
    free(u->is_rejected);
    free(u->body);
    free(u);
}

/* ---- One batch -------------------------------------------------------------------------------------- */

static int64_t default_clock(void *ctx)
{
    (void)ctx;
    return (int64_t)time(NULL);
}

static bool looks_like_html(const char *b, size_t n)
{
    while(n && isspace((unsigned char)*b)) {
        b++;
        n--;
    }
    return n && *b == '<';
}

/* A short excerpt of a reply body for messages: control characters blanked, UTF-8 kept whole. */
static void excerpt(const char *b, size_t n, char *out, size_t out_len)
{
    size_t j = 0, max = out_len - 1 < 160 ? out_len - 1 : 160;
    for(size_t i = 0; i < n && j < max; i++)
        out[j++] = ((unsigned char)b[i] < 0x20 || b[i] == 0x7f) ? ' ' : b[i];
    if(j == max && n > max) { /* cut: drop the last character, which may be incomplete */
        while(j > 0 && ((unsigned char)out[j - 1] & 0xc0) == 0x80)
            j--;
        if(j > 0 && (unsigned char)out[j - 1] >= 0xc0)
            j--;
    }
    out[j] = '\0';
}

/* POSTs body; on success *status is the HTTP status and u->body the reply. */
static UploaderErr post(Uploader *u, const char *body, size_t len, long *status, char *msg, size_t msg_len)
{
    u->body_len = 0;
    u->body_overflow = false;
    u->date = 0;
    u->retry_after[0] = '\0';
    u->restore_epoch = u->restore_since = 0;
    u->errbuf[0] = '\0';
    if(u->body)
        u->body[0] = '\0';
    *status = 0;
    CURLcode rc = curl_easy_setopt(u->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    if(rc == CURLE_OK)
        rc = curl_easy_setopt(u->curl, CURLOPT_POSTFIELDS, body);
    if(rc == CURLE_OK)
        rc = curl_easy_perform(u->curl);
    if(rc != CURLE_OK) {
        if(u->body_overflow) {
            setmsg(msg, msg_len, "reply larger than %u bytes; not a batch reply", UPLOADER_MAX_REPLY);
            return UPLOADER_E_REPLY;
        }
        setmsg(msg, msg_len, "network: %s%s%s", curl_easy_strerror(rc), u->errbuf[0] ? ": " : "", u->errbuf);
        return UPLOADER_E_NETWORK;
    }
    curl_easy_getinfo(u->curl, CURLINFO_RESPONSE_CODE, status);
    return UPLOADER_OK;
}

/* Checks a reply against the batch sent: same batch_id, counts that add up, rejected ids all ours and each
 * once. Fills u->is_rejected. Nothing is written. */
static UploaderErr check_reply(Uploader *u, const char *batch_id, size_t n, const ProtoReply *rep, char *msg,
                               size_t msg_len)
{
    if(strcmp(rep->batch_id, batch_id) != 0) {
        setmsg(msg, msg_len, "reply is for batch %s, not %s; ignored", rep->batch_id, batch_id);
        return UPLOADER_E_REPLY;
    }
    if(rep->accepted < 0 || rep->duplicate < 0 ||
       (uint64_t)rep->accepted + (uint64_t)rep->duplicate + rep->n_rejected != n) {
        setmsg(msg, msg_len, "reply counts %lld accepted + %lld duplicate + %zu rejected do not add up to %zu sent",
               (long long)rep->accepted, (long long)rep->duplicate, rep->n_rejected, n);
        return UPLOADER_E_REPLY;
    }
    memset(u->is_rejected, 0, n * sizeof *u->is_rejected);
    for(size_t k = 0; k < rep->n_rejected; k++) {
        size_t i = 0;
        while(i < n && strcmp(u->buf[i].rating.id, rep->rejected[k].id) != 0)
            i++;
        if(i == n || u->is_rejected[i]) {
            setmsg(msg, msg_len, "reply rejects id '%s', which is not in this batch (or is listed twice)",
                   rep->rejected[k].id);
            return UPLOADER_E_REPLY;
        }
        u->is_rejected[i] = true;
    }
    return UPLOADER_OK;
}

/* Gives the queue the verdicts of a checked reply, each for the version that was sent. On a queue failure
 * some marks may be done and the rest still queued; a resend of those is harmless (the server answers
 * duplicate). *changed gets how many had changed meanwhile and stay queued. */
static UploaderErr apply_reply(Uploader *u, const UploaderQueue *q, size_t n, const ProtoReply *rep, int64_t now,
                               int64_t *changed, char *msg, size_t msg_len)
{
    size_t k = 0, moved = 0;
    for(size_t i = 0; i < n; i++)
        if(!u->is_rejected[i])
            u->acks[k++] = u->buf[i];
    char why[256] = "";
    if(k && !q->acked(q->ctx, u->acks, k, now, &moved, why, sizeof why)) {
        setmsg(msg, msg_len, "store: cannot mark %zu ratings uploaded: %s", k, why);
        return UPLOADER_E_STORE;
    }
    *changed = (int64_t)moved;
    for(size_t i = 0; i < n; i++) {
        if(!u->is_rejected[i])
            continue;
        const char *reason = "";
        for(size_t j = 0; j < rep->n_rejected; j++)
            if(strcmp(rep->rejected[j].id, u->buf[i].rating.id) == 0)
                reason = rep->rejected[j].error;
        bool ch = false;
        if(!q->rejected(q->ctx, &u->buf[i], reason, now, &ch, why, sizeof why)) {
            setmsg(msg, msg_len, "store: cannot mark rating %s rejected: %s", u->buf[i].rating.id, why);
            return UPLOADER_E_STORE;
        }
        *changed += ch;
    }
    return UPLOADER_OK;
}

static UploaderErr send_batch(Uploader *u, const UploaderQueue *q, size_t n, int64_t now, UploaderClock clock,
                              void *cctx, UploaderResult *res, char *msg, size_t msg_len)
{
    char batch_id[UUID_TEXT_LEN], sent_at[PTIME_TEXT_MAX];
    if(!uuid_v7_new(batch_id)) {
        setmsg(msg, msg_len, "no randomness for a batch id");
        return UPLOADER_E_NOMEM;
    }
    ptime_format(now, u->tz_offset_min, sent_at);
    for(size_t i = 0; i < n; i++)
        u->sent[i] = u->buf[i].rating;
    char *body = proto_batch_dump(batch_id, u->device_id, sent_at, u->sent, n);
    if(!body) {
        setmsg(msg, msg_len, "out of memory encoding a batch");
        return UPLOADER_E_NOMEM;
    }
    long status;
    UploaderErr e = post(u, body, strlen(body), &status, msg, msg_len);
    free(body);
    res->http_status = status;
    if(u->date) {
        res->server_date = u->date;
        res->server_date_local = clock(cctx);
    }
    if(e)
        return e;
    char ex[192];
    excerpt(u->body ? u->body : "", u->body_len, ex, sizeof ex);
    int64_t ra = (status == 503 || status == 429) ? retry_after_s(u, now) : 0;
    if(ra > 0) {
        res->retry_after_s = ra;
        setmsg(msg, msg_len, "server busy (HTTP %ld), asked to retry in %lld s / máy chủ bận, hẹn thử lại sau %lld giây",
               status, (long long)ra, (long long)ra);
        return UPLOADER_E_RETRY_AFTER;
    }
    if(status != 200) {
        const char *hint = status == 401 ? " (device token not accepted / token không hợp lệ)"
                         : status == 403 ? " (device revoked or device_id does not match the token)"
                         : "";
        setmsg(msg, msg_len, "server answered HTTP %ld%s: %s", status, hint, ex);
        return UPLOADER_E_HTTP;
    }
    if(looks_like_html(u->body ? u->body : "", u->body_len)) {
        setmsg(msg, msg_len, "got an HTML page instead of a batch reply (captive portal or proxy login?)");
        return UPLOADER_E_REPLY;
    }
    ProtoReply rep;
    ProtoError perr;
    if(proto_reply_parse(u->body ? u->body : "", u->body_len, &rep, &perr) != PROTO_OK) {
        setmsg(msg, msg_len, "malformed batch reply (%s %s: %s): %s", proto_err_code(perr.code), perr.field,
               perr.msg, ex);
        proto_reply_free(&rep);
        return UPLOADER_E_REPLY;
    }
    int64_t changed = 0;
    e = check_reply(u, batch_id, n, &rep, msg, msg_len);
    if(!e)
        e = apply_reply(u, q, n, &rep, clock(cctx), &changed, msg, msg_len);
    if(!e && u->restore_epoch && q->restored) {
        char why[256] = "";
        int64_t again = 0;
        if(!q->restored(q->ctx, u->restore_epoch, u->restore_since, &again, why, sizeof why)) {
            setmsg(msg, msg_len, "store: cannot queue again what the restored server lacks: %s", why);
            e = UPLOADER_E_STORE;
        }
        res->resent_after_restore += again;
    }
    if(!e) {
        res->changed += changed;
        res->batches_ok++;
        res->sent += (int64_t)n;
        res->accepted += rep.accepted;
        res->duplicate += rep.duplicate;
        res->rejected += (int64_t)rep.n_rejected;
    }
    proto_reply_free(&rep);
    return e;
}

UploaderErr uploader_run(Uploader *u, const UploaderQueue *q, UploaderClock clock, void *clock_ctx,
                         UploaderResult *res, char *msg, size_t msg_len)
{
    UploaderResult local;
    if(!res)
        res = &local;
    memset(res, 0, sizeof *res);
    if(msg && msg_len)
        msg[0] = '\0';
    if(!clock)
        clock = default_clock;
    char why[256] = "";
    UploaderErr e = UPLOADER_OK;
    for(;;) {
        size_t n = 0;
        int64_t now = clock(clock_ctx);
        if(!q->next(q->ctx, now, u->buf, u->batch_size, &n, why, sizeof why)) {
            setmsg(msg, msg_len, "store: cannot read pending ratings: %s", why);
            return UPLOADER_E_STORE;
        }
        if(n == 0)
            break;
        int64_t changed_before = res->changed;
        if((e = send_batch(u, q, n, now, clock, clock_ctx, res, msg, msg_len))) {
            res->batches_failed = 1;
            break;
        }
        /* A batch that only changed under our feet made no progress: those go in the next run, so a rating
         * changing again and again cannot keep one run going. */
        if(res->changed - changed_before == (int64_t)n)
            break;
    }
    if(q->held && !q->held(q->ctx, clock(clock_ctx), &res->held, why, sizeof why))
        res->held = 0;
    return e;
}
