/*
 * approve-dba: the example access-request policy of Portcullis (ABI v1), in freestanding C.
 *
 * Built with clang for wasm32 without any libc (see build.sh). The decision is specified in
 * policies/conformance/README.md and checked by policies/conformance/run.mjs:
 *
 *   - any requested role other than `dba`     -> deny
 *   - no roles at all                         -> deny
 *   - no non-empty `ticket` annotation        -> pending (a human reviews)
 *   - outside Mon-Fri 08:00-18:00 UTC         -> pending (a human reviews)
 *   - otherwise                               -> approve, annotated `approved-by: approve-dba`
 *
 * The input is never parsed here: every value is read with the `input_get` host import.
 */

typedef unsigned char u8;
typedef unsigned int u32;
typedef int i32;
typedef long long i64;
typedef unsigned long long u64;
typedef unsigned long usize;

/* ---- host imports (ABI §5); the metadata asks for capabilities `time` and `input` ---- */

__attribute__((import_module("portcullis"), import_name("now_ms")))
i64 host_now_ms(void);

__attribute__((import_module("portcullis"), import_name("input_get")))
i32 host_input_get(const u8 *path, i32 path_len, u8 *out, i32 out_cap);

/* ---- metadata custom section (ABI §2) ----
 * clang 14 turns `__attribute__((section(".custom_section.X")))` on a C array into an ordinary
 * data segment, not a custom section; a `.custom_section.X` section written in assembly does
 * become the custom section `X` (and survives `--strip-all`). The payload is exactly these
 * bytes (no NUL). */
__asm__(
    ".section .custom_section.portcullis.metadata,\"\",@\n"
    ".ascii \"{\\\"abi\\\":1,\\\"name\\\":\\\"approve-dba\\\",\\\"version\\\":\\\"1.0.0\\\",\"\n"
    ".ascii \"\\\"hooks\\\":[\\\"access_request\\\"],\\\"functions\\\":[],\"\n"
    ".ascii \"\\\"capabilities\\\":[\\\"time\\\",\\\"input\\\"]}\"\n"
    ".text\n");

/* ---- bump allocator over the linear memory after the linker's heap base ---- */

extern u8 __heap_base;
static usize heap_top;

#define PAGE 65536u

static u8 *bump(usize len) {
    if (heap_top == 0) heap_top = (usize)&__heap_base;
    usize start = (heap_top + 7u) & ~(usize)7u;
    if (len > 0x7fffffffu - start) return 0;
    usize end = start + len;
    usize have = __builtin_wasm_memory_size(0) * PAGE;
    if (end > have) {
        usize pages = (end - have + PAGE - 1) / PAGE;
        if (__builtin_wasm_memory_grow(0, pages) == (usize)-1) return 0;
    }
    heap_top = end;
    return (u8 *)start;
}

/* Export `portcullis_alloc` (ABI §1). Zero-length requests still get a valid, non-zero pointer. */
u8 *portcullis_alloc(i32 len) {
    if (len < 0) return 0;
    return bump(len == 0 ? 1 : (usize)len);
}

/* Export `portcullis_abi_v1`: the version marker, never called. */
void portcullis_abi_v1(void) {}

/* ---- small helpers (no libc) ---- */

typedef struct {
    u8 *ptr;
    i32 len; /* -1: absent, -2: out of memory */
} str;

static usize c_len(const char *s) {
    usize n = 0;
    while (s[n]) n++;
    return n;
}

static void copy(u8 *dst, const u8 *src, usize n) {
    for (usize i = 0; i < n; i++) dst[i] = src[i];
}

/* Reads the value at JSON Pointer `path` through `input_get`, growing the buffer if needed.
 * Running out of memory is reported (len -2), never mistaken for an absent value. */
static str input(const char *path) {
    i32 plen = (i32)c_len(path);
    i32 cap = 64;
    u8 *buf = bump((usize)cap);
    str r = {buf, -2};
    if (!buf) return r;
    i32 n = host_input_get((const u8 *)path, plen, buf, cap);
    if (n > cap) {
        buf = bump((usize)n);
        if (!buf) return r;
        n = host_input_get((const u8 *)path, plen, buf, n);
    }
    r.ptr = buf;
    r.len = n < 0 ? -1 : n;
    return r;
}

static int eq(str s, const char *lit) {
    usize n = c_len(lit);
    if (s.len < 0 || (usize)s.len != n) return 0;
    for (usize i = 0; i < n; i++)
        if (s.ptr[i] != (u8)lit[i]) return 0;
    return 1;
}

/* Writes the decimal form of `v` (v >= 0) at `p`; returns the number of bytes. */
static usize put_uint(u8 *p, u32 v) {
    u8 tmp[10];
    usize n = 0;
    do {
        tmp[n++] = (u8)('0' + v % 10);
        v /= 10;
    } while (v);
    for (usize i = 0; i < n; i++) p[i] = tmp[n - 1 - i];
    return n;
}

/* ---- output ---- */

typedef struct {
    u8 *ptr;
    usize len;
} out_buf;

static out_buf out;

static void emit(const char *s) {
    usize n = c_len(s);
    copy(out.ptr + out.len, (const u8 *)s, n);
    out.len += n;
}

/* Appends `s` as the inside of a JSON string: escapes `"`, `\` and control characters. */
static void emit_escaped(str s) {
    static const char hex[] = "0123456789abcdef";
    for (i32 i = 0; i < s.len; i++) {
        u8 c = s.ptr[i];
        u8 *p = out.ptr + out.len;
        if (c == '"' || c == '\\') {
            p[0] = '\\';
            p[1] = c;
            out.len += 2;
        } else if (c == '\n') {
            emit("\\n");
        } else if (c == '\r') {
            emit("\\r");
        } else if (c == '\t') {
            emit("\\t");
        } else if (c < 0x20 || c == 0x7f) {
            p[0] = '\\';
            p[1] = 'u';
            p[2] = '0';
            p[3] = '0';
            p[4] = (u8)hex[c >> 4];
            p[5] = (u8)hex[c & 15];
            out.len += 6;
        } else {
            p[0] = c;
            out.len += 1;
        }
    }
}

static i64 packed(void) {
    return (i64)(((u64)(u32)(usize)out.ptr << 32) | (u64)(u32)out.len);
}

/* A constant answer: the bytes are in the data segment already. */
static i64 answer(const char *json) {
    out.ptr = (u8 *)json;
    out.len = c_len(json);
    return packed();
}

/* Fail closed: an error is never taken as an answer (ABI §3). */
static const char OOM[] = "{\"error\":\"out of memory\"}";

static int working_hours(i64 ms) {
    i64 days = ms / 86400000;
    i64 weekday = (days + 4) % 7; /* 0 = Sunday */
    i64 hour = (ms / 3600000) % 24;
    return weekday >= 1 && weekday <= 5 && hour >= 8 && hour < 18;
}

/* Export `portcullis_access_request` (ABI §4.3). The input bytes are not needed: every value
 * is read with `input_get`. */
i64 portcullis_access_request(i32 ptr, i32 len) {
    (void)ptr;
    (void)len;

    char path[32] = "/request/roles/";
    usize base = c_len(path);
    u32 roles = 0;
    for (;; roles++) {
        usize n = put_uint((u8 *)path + base, roles);
        path[base + n] = 0;
        str role = input(path);
        if (role.len == -2) return answer(OOM);
        if (role.len < 0) break;
        if (!eq(role, "dba"))
            return answer("{\"verdict\":\"deny\",\"reason\":\"only dba may be requested under this policy\"}");
    }
    if (roles == 0) return answer("{\"verdict\":\"deny\",\"reason\":\"no roles requested\"}");

    str ticket = input("/request/annotations/ticket/0");
    if (ticket.len == -2) return answer(OOM);
    if (ticket.len <= 0)
        return answer("{\"verdict\":\"pending\",\"reason\":\"no ticket annotation: a human must review\"}");

    if (!working_hours(host_now_ms()))
        return answer("{\"verdict\":\"pending\",\"reason\":\"outside working hours: a human must review\"}");

    static const char head[] = "{\"verdict\":\"approve\",\"reason\":\"ticket ";
    static const char tail[] =
        " during working hours\",\"annotations\":{\"approved-by\":[\"approve-dba\"]}}";
    /* Worst case: every ticket byte becomes a 6-byte \u00XX escape. */
    out.ptr = bump(sizeof head + sizeof tail + 6 * (usize)ticket.len);
    if (!out.ptr) return answer(OOM);
    out.len = 0;
    emit(head);
    emit_escaped(ticket);
    emit(tail);
    return packed();
}
