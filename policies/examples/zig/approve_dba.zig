//! approve-dba: the example access-request policy of Portcullis (ABI v1), in Zig.
//!
//! Freestanding wasm32, no std allocator, no WASI. The decision is specified in
//! policies/conformance/README.md and checked by policies/conformance/run.mjs:
//! a non-`dba` role or no role denies; no non-empty `ticket` annotation, or a time outside
//! Mon-Fri 08:00-18:00 UTC, leaves the request pending; otherwise it is approved.
//! The input is never parsed here: every value is read with the `input_get` host import.

// ---- host imports (ABI §5); the metadata asks for capabilities `time` and `input` ----

extern "portcullis" fn now_ms() i64;
extern "portcullis" fn input_get(path_ptr: [*]const u8, path_len: i32, out_ptr: [*]u8, out_cap: i32) i32;

// ---- bump allocator: the heap starts after the module's initial memory and grows with it ----

const page = 65536;
var heap_top: usize = 0;

fn bump(len: usize) ?[*]u8 {
    if (heap_top == 0) heap_top = @wasmMemorySize(0) * page;
    const start = (heap_top + 7) & ~@as(usize, 7);
    if (len > 0x7fff_ffff - start) return null;
    const end = start + len;
    const have = @wasmMemorySize(0) * page;
    if (end > have) {
        const pages = (end - have + page - 1) / page;
        if (@wasmMemoryGrow(0, pages) < 0) return null;
    }
    heap_top = end;
    return @ptrFromInt(start);
}

/// ABI §1: a pointer to `len` writable bytes, or 0 when out of memory.
export fn portcullis_alloc(len: i32) ?[*]u8 {
    if (len < 0) return null;
    return bump(if (len == 0) 1 else @intCast(len));
}

/// ABI §1: the version marker; never called.
export fn portcullis_abi_v1() void {}

// ---- input ----

/// The value at JSON Pointer `path` (strings unquoted), or null when absent. Running out of
/// memory is an error, never mistaken for an absent value.
fn input(path: []const u8) error{OutOfMemory}!?[]const u8 {
    var cap: usize = 64;
    var buf = bump(cap) orelse return error.OutOfMemory;
    var n = input_get(path.ptr, @intCast(path.len), buf, @intCast(cap));
    if (n < 0) return null;
    if (@as(usize, @intCast(n)) > cap) {
        cap = @intCast(n);
        buf = bump(cap) orelse return error.OutOfMemory;
        n = input_get(path.ptr, @intCast(path.len), buf, @intCast(cap));
        if (n < 0) return null;
    }
    return buf[0..@intCast(n)];
}

fn eql(a: []const u8, b: []const u8) bool {
    if (a.len != b.len) return false;
    for (a, b) |x, y| if (x != y) return false;
    return true;
}

// ---- output ----

fn pack(ptr: [*]const u8, len: usize) i64 {
    const p: u64 = @intFromPtr(ptr);
    return @bitCast((p << 32) | @as(u64, len));
}

fn answer(comptime json: []const u8) i64 {
    return pack(json.ptr, json.len);
}

const Out = struct {
    buf: [*]u8,
    len: usize = 0,

    fn put(self: *Out, s: []const u8) void {
        for (s) |c| {
            self.buf[self.len] = c;
            self.len += 1;
        }
    }

    /// Appends `s` as the inside of a JSON string: escapes `"`, `\` and control characters.
    fn putEscaped(self: *Out, s: []const u8) void {
        const hex = "0123456789abcdef";
        for (s) |c| switch (c) {
            '"' => self.put("\\\""),
            '\\' => self.put("\\\\"),
            '\n' => self.put("\\n"),
            '\r' => self.put("\\r"),
            '\t' => self.put("\\t"),
            0...0x08, 0x0b, 0x0c, 0x0e...0x1f, 0x7f => self.put(&[_]u8{ '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] }),
            else => self.put(&[_]u8{c}),
        };
    }
};

fn workingHours(ms: i64) bool {
    const days = @divTrunc(ms, 86_400_000);
    const weekday = @rem(days + 4, 7); // 0 = Sunday
    const hour = @rem(@divTrunc(ms, 3_600_000), 24);
    return weekday >= 1 and weekday <= 5 and hour >= 8 and hour < 18;
}

/// ABI §4.3: decides an access request. The input bytes are not needed: every value is read
/// with `input_get`.
export fn portcullis_access_request(ptr: i32, len: i32) i64 {
    _ = ptr;
    _ = len;
    return decide() catch answer(oom);
}

/// Fail closed: an error is never taken as an answer (ABI §3).
const oom = "{\"error\":\"out of memory\"}";

fn decide() error{OutOfMemory}!i64 {
    var path_buf: [32]u8 = undefined;
    const prefix = "/request/roles/";
    @memcpy(path_buf[0..prefix.len], prefix);
    var roles: u32 = 0;
    while (true) : (roles += 1) {
        // Decimal index after the prefix.
        var digits: [10]u8 = undefined;
        var n: usize = 0;
        var v = roles;
        while (true) {
            digits[n] = @intCast('0' + v % 10);
            n += 1;
            v /= 10;
            if (v == 0) break;
        }
        for (0..n) |i| path_buf[prefix.len + i] = digits[n - 1 - i];
        const role = try input(path_buf[0 .. prefix.len + n]) orelse break;
        if (!eql(role, "dba"))
            return answer("{\"verdict\":\"deny\",\"reason\":\"only dba may be requested under this policy\"}");
    }
    if (roles == 0) return answer("{\"verdict\":\"deny\",\"reason\":\"no roles requested\"}");

    const ticket = try input("/request/annotations/ticket/0") orelse "";
    if (ticket.len == 0)
        return answer("{\"verdict\":\"pending\",\"reason\":\"no ticket annotation: a human must review\"}");

    if (!workingHours(now_ms()))
        return answer("{\"verdict\":\"pending\",\"reason\":\"outside working hours: a human must review\"}");

    const head = "{\"verdict\":\"approve\",\"reason\":\"ticket ";
    const tail = " during working hours\",\"annotations\":{\"approved-by\":[\"approve-dba\"]}}";
    // Worst case: every ticket byte becomes a 6-byte \u00XX escape.
    const buf = bump(head.len + tail.len + 6 * ticket.len) orelse return error.OutOfMemory;
    var out = Out{ .buf = buf };
    out.put(head);
    out.putEscaped(ticket);
    out.put(tail);
    return pack(out.buf, out.len);
}

// ---- metadata custom section (ABI §2) ----
// `linksection(".custom_section.X")` on a Zig constant becomes an ordinary data segment (and an
// export), not a custom section; module-level assembly that opens a `.custom_section.X`
// section does become the custom section `X` (and survives -fstrip). The payload is exactly
// the JSON bytes.
comptime {
    asm (
        \\.section .custom_section.portcullis.metadata,"",@
        \\.ascii "{\"abi\":1,\"name\":\"approve-dba\",\"version\":\"1.0.0\","
        \\.ascii "\"hooks\":[\"access_request\"],\"functions\":[],"
        \\.ascii "\"capabilities\":[\"time\",\"input\"]}"
        \\.text
    );
}
