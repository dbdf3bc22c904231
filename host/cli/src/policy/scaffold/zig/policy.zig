//! __NAME__: a Portcullis access-request policy in Zig (ABI v1 core module). Approves a
//! request that carries a `ticket` annotation; leaves any other to a human. Build with
//! ./build.sh, test with `pctl policy test out/__NAME__.wasm --cases policy.test.yaml`.
//! The input is never parsed: the `input_get` host import reads one value by JSON Pointer.

/// ABI §5: needs the `input` capability.
extern "portcullis" fn input_get(path: [*]const u8, path_len: i32, out: [*]u8, out_cap: i32) i32;

// ABI §2: the metadata custom section, from module-level assembly.
comptime {
    asm (
        \\.section .custom_section.portcullis.metadata,"",@
        \\.ascii "{\"abi\":1,\"name\":\"__NAME__\",\"version\":\"0.1.0\",\"hooks\":[\"access_request\"],\"capabilities\":[\"input\"]}"
        \\.text
    );
}

var heap: [1 << 20]u8 = undefined;
var used: usize = 0;

/// ABI §1: `len` writable bytes, 0 when out of room (every evaluation is a fresh instance).
export fn portcullis_alloc(len: i32) usize {
    if (len < 0) return 0;
    const n: usize = if (len == 0) 1 else @intCast(len);
    if (n > heap.len - used) return 0;
    const p = @intFromPtr(&heap[used]);
    used += (n + 7) & ~@as(usize, 7);
    return p;
}

/// ABI §1: the version marker, never called.
export fn portcullis_abi_v1() void {}

fn answer(json: []const u8) i64 {
    return (@as(i64, @intCast(@intFromPtr(json.ptr))) << 32) | @as(i64, @intCast(json.len));
}

/// ABI §4.3 (the input copied to `ptr`/`len` is not read: `input_get` is used instead).
export fn portcullis_access_request(ptr: i32, len: i32) i64 {
    _ = ptr;
    _ = len;
    const path = "/request/annotations/ticket/0";
    var ticket: [1]u8 = undefined;
    const n = input_get(path, path.len, &ticket, ticket.len);
    if (n > 0) return answer("{\"verdict\":\"approve\",\"reason\":\"the request carries a ticket\"}");
    return answer("{\"verdict\":\"pending\",\"reason\":\"no ticket: a human must review\"}");
}
