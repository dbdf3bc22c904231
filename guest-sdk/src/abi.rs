//! The raw ABI (ABI.md §3, §5): the only module of this crate with `unsafe` code.
//!
//! Everything here is small and safe to call; each `unsafe` block carries a `// SAFETY:`
//! comment. The rest of the SDK builds on these functions:
//!
//! - [`alloc_input`] backs the `portcullis_alloc` export;
//! - [`input_bytes`] turns the `(ptr, len)` a hook receives into a slice;
//! - [`leak_output`] hands an output buffer to the host as the packed `i64`;
//! - `host_*` call the host imports (on targets other than wasm32 they are stubs that behave
//!   as if the host had nothing to offer, so that modules compile and unit-test natively);
//! - with the `runtime` feature on wasm32: the global [`BumpAllocator`] and the panic
//!   handler.

use alloc::vec::Vec;

/// Packs an output buffer as the hook result of §3: `(ptr << 32) | len`.
pub fn pack(ptr: usize, len: usize) -> i64 {
    (((ptr as u64) << 32) | (len as u64 & 0xffff_ffff)) as i64
}

/// Implements `portcullis_alloc(len)`: `len` writable bytes (at least one), or 0 when `len`
/// is negative or memory is exhausted. The buffer is never freed: the instance is discarded
/// after the call.
pub fn alloc_input(len: i32) -> i32 {
    let Ok(len) = usize::try_from(len) else {
        return 0;
    };
    let mut buffer: Vec<u8> = Vec::new();
    if buffer.try_reserve_exact(len.max(1)).is_err() {
        return 0;
    }
    let ptr = buffer.as_mut_ptr();
    core::mem::forget(buffer);
    // Pointers are 32-bit offsets on wasm32; on other targets the value is meaningless.
    ptr as usize as i32
}

/// The `len` bytes at `ptr` that the host wrote before calling a hook (§3 step 2).
///
/// Returns an empty slice for a null pointer or a non-positive length, and always on
/// targets other than wasm32 (where no host calls hooks).
pub fn input_bytes(ptr: i32, len: i32) -> &'static [u8] {
    let (Ok(ptr), Ok(len)) = (usize::try_from(ptr), usize::try_from(len)) else {
        return &[];
    };
    if ptr == 0 || len == 0 {
        return &[];
    }
    read_memory(ptr, len)
}

#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
fn read_memory(ptr: usize, len: usize) -> &'static [u8] {
    // SAFETY: hooks are only called by the host, which per ABI §3 passes the pointer
    // `portcullis_alloc(len)` returned (a leaked allocation of at least `len` bytes that
    // nothing else references or frees) after writing `len` initialized bytes to it. The
    // buffer lives as long as the instance, hence `'static`.
    unsafe { core::slice::from_raw_parts(ptr as *const u8, len) }
}

#[cfg(not(target_arch = "wasm32"))]
fn read_memory(_ptr: usize, _len: usize) -> &'static [u8] {
    &[]
}

/// Leaks `output` and returns it packed for the host (§3 step 4).
pub fn leak_output(output: Vec<u8>) -> i64 {
    let output: &'static mut [u8] = output.leak();
    pack(output.as_ptr() as usize, output.len())
}

#[cfg(target_arch = "wasm32")]
mod imports {
    #[link(wasm_import_module = "portcullis")]
    extern "C" {
        pub fn log(level: i32, ptr: *const u8, len: usize);
        pub fn now_ms() -> i64;
        pub fn input_get(
            path_ptr: *const u8,
            path_len: usize,
            out_ptr: *mut u8,
            out_cap: usize,
        ) -> i32;
        pub fn input_get_json(
            path_ptr: *const u8,
            path_len: usize,
            out_ptr: *mut u8,
            out_cap: usize,
        ) -> i32;
        pub fn lookup(
            kind_ptr: *const u8,
            kind_len: usize,
            name_ptr: *const u8,
            name_len: usize,
            out_ptr: *mut u8,
            out_cap: usize,
        ) -> i32;
        pub fn call(
            name_ptr: *const u8,
            name_len: usize,
            args_ptr: *const u8,
            args_len: usize,
            out_ptr: *mut u8,
            out_cap: usize,
        ) -> i32;
    }
}

/// The `log` import: writes `message` at `level` (0–3) to the server log.
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
pub fn host_log(level: i32, message: &[u8]) {
    // SAFETY: the host reads `message.len()` bytes at `message.as_ptr()`, a live slice.
    unsafe { imports::log(level, message.as_ptr(), message.len()) }
}

/// The `now_ms` import: milliseconds since the Unix epoch.
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
pub fn host_now_ms() -> i64 {
    // SAFETY: no arguments, no memory access.
    unsafe { imports::now_ms() }
}

/// The `input_get` import: writes at most `out.len()` bytes and returns the full length, or
/// `-1` when there is no value at `path`.
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
pub fn host_input_get(path: &[u8], out: &mut [u8]) -> i32 {
    // SAFETY: the host reads the live slice `path` and writes at most `out.len()` bytes into
    // the live, exclusively borrowed slice `out`.
    unsafe { imports::input_get(path.as_ptr(), path.len(), out.as_mut_ptr(), out.len()) }
}

/// The `input_get_json` import: as [`host_input_get`], but strings come back as JSON too.
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
pub fn host_input_get_json(path: &[u8], out: &mut [u8]) -> i32 {
    // SAFETY: as for `host_input_get`: one live input slice, one exclusive output slice.
    unsafe { imports::input_get_json(path.as_ptr(), path.len(), out.as_mut_ptr(), out.len()) }
}

/// The `lookup` import: same length protocol as [`host_input_get`].
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
pub fn host_lookup(kind: &[u8], name: &[u8], out: &mut [u8]) -> i32 {
    // SAFETY: as for `host_input_get`: two live input slices, one exclusive output slice.
    unsafe {
        imports::lookup(
            kind.as_ptr(),
            kind.len(),
            name.as_ptr(),
            name.len(),
            out.as_mut_ptr(),
            out.len(),
        )
    }
}

/// The `call` import: same length protocol as [`host_input_get`].
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
pub fn host_call(name: &[u8], args: &[u8], out: &mut [u8]) -> i32 {
    // SAFETY: as for `host_input_get`: two live input slices, one exclusive output slice.
    unsafe {
        imports::call(
            name.as_ptr(),
            name.len(),
            args.as_ptr(),
            args.len(),
            out.as_mut_ptr(),
            out.len(),
        )
    }
}

/// Native stub of the `log` import: does nothing.
#[cfg(not(target_arch = "wasm32"))]
pub fn host_log(_level: i32, _message: &[u8]) {}

/// Native stub of the `now_ms` import: always 0 (the epoch).
#[cfg(not(target_arch = "wasm32"))]
pub fn host_now_ms() -> i64 {
    0
}

/// Native stub of the `input_get` import: never a value.
#[cfg(not(target_arch = "wasm32"))]
pub fn host_input_get(_path: &[u8], _out: &mut [u8]) -> i32 {
    -1
}

/// Native stub of the `input_get_json` import: never a value.
#[cfg(not(target_arch = "wasm32"))]
pub fn host_input_get_json(_path: &[u8], _out: &mut [u8]) -> i32 {
    -1
}

/// Native stub of the `lookup` import: never a resource.
#[cfg(not(target_arch = "wasm32"))]
pub fn host_lookup(_kind: &[u8], _name: &[u8], _out: &mut [u8]) -> i32 {
    -1
}

/// Native stub of the `call` import: no module exports any function.
#[cfg(not(target_arch = "wasm32"))]
pub fn host_call(_name: &[u8], _args: &[u8], _out: &mut [u8]) -> i32 {
    -1
}

#[cfg(all(feature = "runtime", target_arch = "wasm32"))]
pub use runtime::BumpAllocator;

/// The module runtime: global allocator and panic handler (feature `runtime`, wasm32 only).
#[cfg(all(feature = "runtime", target_arch = "wasm32"))]
mod runtime {
    use core::alloc::{GlobalAlloc, Layout};
    use core::arch::wasm32;
    use core::ptr::null_mut;
    use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

    const PAGE: usize = 65536;

    extern "C" {
        /// Defined by the linker (wasm-ld): the first address after the stack and the
        /// static data.
        static __heap_base: u8;
    }

    /// Where the heap may start.
    fn heap_base() -> usize {
        // Only the address of the linker symbol is taken; it is never read.
        core::ptr::addr_of!(__heap_base) as usize
    }

    /// A bump allocator over `memory.grow`, made for one instance per evaluation.
    ///
    /// The heap starts at the linker's `__heap_base` (just after the stack and the static
    /// data), so it first uses the free end of the memory the module was instantiated with,
    /// and grows memory page by page only beyond it: a short call that fits never grows
    /// memory, which spares the host the page-protection changes a grow costs. `dealloc` only gives back the most recent allocation and
    /// `realloc` grows the most recent allocation in place (the common case of a `Vec` or a
    /// `String` being built), so a hook's memory use is roughly its peak live data plus
    /// garbage — fine for a short call whose instance is then discarded, and about 300
    /// bytes of code.
    pub struct BumpAllocator {
        next: AtomicUsize,
        end: AtomicUsize,
    }

    impl BumpAllocator {
        /// An allocator whose heap is set up on first use.
        pub const fn new() -> Self {
            BumpAllocator {
                next: AtomicUsize::new(0),
                end: AtomicUsize::new(0),
            }
        }

        /// Grows memory so that the heap ends at or after `needed_end`; false if it cannot,
        /// or if someone else grew memory since (the heap must stay contiguous).
        fn grow_to(&self, end: usize, needed_end: usize) -> bool {
            let pages = (needed_end - end).div_ceil(PAGE);
            let old_pages = wasm32::memory_grow(0, pages);
            if old_pages == usize::MAX || old_pages.checked_mul(PAGE) != Some(end) {
                return false;
            }
            self.end.store(end + pages * PAGE, Relaxed);
            true
        }

        fn bump(&self, layout: Layout) -> *mut u8 {
            let mut end = self.end.load(Relaxed);
            let mut next = self.next.load(Relaxed);
            if end == 0 {
                end = wasm32::memory_size(0) * PAGE;
                next = heap_base().min(end);
                self.end.store(end, Relaxed);
            }
            // Two rounds: if someone else grew memory, restart the heap at its new end.
            for _ in 0..2 {
                let Some(start) = next.checked_add(layout.align() - 1) else {
                    return null_mut();
                };
                let start = start & !(layout.align() - 1);
                let Some(new_next) = start.checked_add(layout.size()) else {
                    return null_mut();
                };
                if new_next <= end || self.grow_to(end, new_next) {
                    self.next.store(new_next, Relaxed);
                    return start as *mut u8;
                }
                end = wasm32::memory_size(0) * PAGE;
                next = end;
                self.end.store(end, Relaxed);
            }
            null_mut()
        }
    }

    impl Default for BumpAllocator {
        fn default() -> Self {
            Self::new()
        }
    }

    // SAFETY: `bump` returns blocks aligned to `layout.align()`, of `layout.size()` bytes,
    // inside memory (grown as needed), never handed out twice: `next` only moves back in
    // `dealloc`/`realloc` over the block being freed or resized, which is the last one.
    // Wasm32 without threads is single-threaded, so the relaxed atomics are plain cells.
    #[allow(unsafe_code)]
    unsafe impl GlobalAlloc for BumpAllocator {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            self.bump(layout)
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            let addr = ptr as usize;
            if addr + layout.size() == self.next.load(Relaxed) {
                self.next.store(addr, Relaxed);
            }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let addr = ptr as usize;
            if addr + layout.size() == self.next.load(Relaxed) {
                // The last block: resize in place when memory allows.
                let Some(new_next) = addr.checked_add(new_size) else {
                    return null_mut();
                };
                let end = self.end.load(Relaxed);
                if new_next <= end || self.grow_to(end, new_next) {
                    self.next.store(new_next, Relaxed);
                    return ptr;
                }
            }
            let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
                return null_mut();
            };
            let new_ptr = self.bump(new_layout);
            if !new_ptr.is_null() {
                // SAFETY: both blocks are live, at least `min(old, new)` bytes long, and
                // distinct (the new one was bumped past the end of every live block).
                unsafe {
                    core::ptr::copy_nonoverlapping(ptr, new_ptr, layout.size().min(new_size))
                };
            }
            new_ptr
        }
    }

    #[global_allocator]
    static ALLOCATOR: BumpAllocator = BumpAllocator::new();

    /// A panic traps (`unreachable`); the host treats the trap as a failed evaluation.
    #[panic_handler]
    fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
        wasm32::unreachable()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_puts_the_pointer_high_and_the_length_low() {
        assert_eq!(pack(0x1234, 0x56), 0x0000_1234_0000_0056);
        assert_eq!(pack(0xffff_fff0, 0xffff_ffff) as u64, 0xffff_fff0_ffff_ffff);
    }

    #[test]
    fn alloc_input_refuses_negative_lengths() {
        assert_eq!(alloc_input(-1), 0);
        assert_eq!(input_bytes(0, 10), &[] as &[u8]);
        assert_eq!(input_bytes(16, -1), &[] as &[u8]);
    }
}
