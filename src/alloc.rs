//! The process's allocator. A CGI request is a short-lived process, and
//! musl's malloc keeps it small; the long-lived modes (poll, serve, FastCGI)
//! switch to mimalloc at start, because musl's malloc measured about half of
//! a poll's CPU time. The binary and the benchmarks install `Switching` as
//! their global allocator.

use libmimalloc_sys as mi;
use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};

static MIMALLOC: AtomicBool = AtomicBool::new(false);

unsafe extern "C" {
    /// mimalloc's process set-up, which it would otherwise run as an ELF
    /// constructor in every process. `.cargo/config.toml` builds it with
    /// `MI_PRIM_HAS_PROCESS_ATTACH`, which leaves the call to us, so that a
    /// CGI request (musl's malloc only) does not pay for it: some ten system
    /// calls and twenty page faults per request.
    fn _mi_auto_process_init();
}

/// From now on, allocate with mimalloc. Memory allocated before is still
/// freed by the allocator it came from. Call once, before starting threads.
pub fn use_mimalloc() {
    static INIT: std::sync::Once = std::sync::Once::new();
    // SAFETY: mimalloc's own initialiser, run once, before any mimalloc call.
    INIT.call_once(|| unsafe { _mi_auto_process_init() });
    MIMALLOC.store(true, Ordering::Relaxed);
}

pub struct Switching;

impl Switching {
    /// Whether `p` came from mimalloc. Before the switch nothing did, so the
    /// CGI path never asks mimalloc anything.
    fn owns(p: *mut u8) -> bool {
        // SAFETY: mi_is_in_heap_region only compares the address with
        // mimalloc's own segment map.
        MIMALLOC.load(Ordering::Relaxed) && unsafe { mi::mi_is_in_heap_region(p as *const c_void) }
    }
}

// SAFETY: every pointer is freed or resized by the allocator that made it
// (`owns`), and both allocators honour size and alignment.
unsafe impl GlobalAlloc for Switching {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if MIMALLOC.load(Ordering::Relaxed) {
            unsafe { mi::mi_malloc_aligned(layout.size(), layout.align()).cast() }
        } else {
            unsafe { System.alloc(layout) }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if MIMALLOC.load(Ordering::Relaxed) {
            unsafe { mi::mi_zalloc_aligned(layout.size(), layout.align()).cast() }
        } else {
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        if Self::owns(p) {
            unsafe { mi::mi_free(p.cast()) }
        } else {
            unsafe { System.dealloc(p, layout) }
        }
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if Self::owns(p) {
            return unsafe { mi::mi_realloc_aligned(p.cast(), new_size, layout.align()).cast() };
        }
        if !MIMALLOC.load(Ordering::Relaxed) {
            return unsafe { System.realloc(p, layout, new_size) };
        }
        // Made before the switch: move it into mimalloc.
        // SAFETY: the caller guarantees new_size is valid for layout's alignment.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            unsafe {
                std::ptr::copy_nonoverlapping(p, new, layout.size().min(new_size));
                System.dealloc(p, layout);
            }
        }
        new
    }
}
