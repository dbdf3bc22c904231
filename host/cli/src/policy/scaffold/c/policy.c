/*
 * __NAME__: a Portcullis access-request policy in freestanding C (ABI v1 core module, no
 * libc). Approves a request that carries a `ticket` annotation; leaves any other to a human.
 * Build with ./build.sh, test with `pctl policy test out/__NAME__.wasm --cases policy.test.yaml`.
 * The input is never parsed: the `input_get` host import reads one value by JSON Pointer.
 */

/* ABI §5: needs the `input` capability. */
__attribute__((import_module("portcullis"), import_name("input_get")))
int input_get(const char *path, int path_len, char *out, int out_cap);

/* ABI §2: the metadata custom section (written in assembly: clang turns a C array with a
 * `.custom_section` section attribute into a data segment instead). */
__asm__(".section .custom_section.portcullis.metadata,\"\",@\n"
        ".ascii \"{\\\"abi\\\":1,\\\"name\\\":\\\"__NAME__\\\",\\\"version\\\":\\\"0.1.0\\\",\"\n"
        ".ascii \"\\\"hooks\\\":[\\\"access_request\\\"],\\\"capabilities\\\":[\\\"input\\\"]}\"\n"
        ".text\n");

extern char __heap_base;
static unsigned long top;

/* ABI §1: `len` writable bytes, 0 when out of memory (a bump allocator over the memory after
 * the static data, growing it: every evaluation is a fresh instance, nothing is freed). */
char *portcullis_alloc(int len) {
    if (len < 0) return 0;
    if (top == 0) top = (unsigned long)&__heap_base;
    unsigned long start = (top + 7) & ~7ul;
    unsigned long end = start + (len > 0 ? (unsigned long)len : 1);
    unsigned long have = __builtin_wasm_memory_size(0) * 65536ul;
    if (end > have &&
        __builtin_wasm_memory_grow(0, (end - have + 65535) / 65536) == (unsigned long)-1)
        return 0;
    top = end;
    return (char *)start;
}

/* ABI §1: the version marker, never called. */
void portcullis_abi_v1(void) {}

static long long answer(const char *json, int len) {
    return ((long long)(unsigned long)json << 32) | (unsigned)len;
}

#define ANSWER(text) answer(text, sizeof(text) - 1)

/* ABI §4.3, with `input_mode` copy: the input JSON is at (ptr, len), unused here. */
long long portcullis_access_request(int ptr, int len) {
    (void)ptr;
    (void)len;
    static const char path[] = "/request/annotations/ticket/0";
    char ticket[1];
    int n = input_get(path, sizeof(path) - 1, ticket, sizeof ticket);
    if (n > 0)
        return ANSWER("{\"verdict\":\"approve\",\"reason\":\"the request carries a ticket\"}");
    return ANSWER("{\"verdict\":\"pending\",\"reason\":\"no ticket: a human must review\"}");
}
