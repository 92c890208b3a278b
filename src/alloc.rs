//! The process's allocator. A CGI request is a short-lived process: its
//! first allocations come from a bump arena in `.bss` (`Arena`), then from
//! musl's malloc, which keeps it small; the long-lived modes (poll, serve,
//! FastCGI) switch to mimalloc at start, because musl's malloc measured about
//! half of a poll's CPU time. The binary and the benchmarks install
//! `Switching` as their global allocator.

use libmimalloc_sys as mi;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

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

/// mimalloc's numbers for two options (`mi_option_e` in mimalloc.h, v2),
/// which libmimalloc-sys does not name.
const MI_OPTION_ARENA_EAGER_COMMIT: mi::mi_option_t = 4;
const MI_OPTION_PURGE_DELAY: mi::mi_option_t = 15;

/// For the modes that fetch feeds (poll, import-opml): mimalloc commits its
/// arenas' memory only as it is used and gives back what is freed at once,
/// rather than keeping it for reuse. A poll's big allocations come and go
/// one feed after another (a document's tree, the sanitizer's DOM of an
/// entry); kept, they were most of its peak: 54 MB against 17 MB over
/// one feed of entries dense with tags. Call before [`use_mimalloc`].
pub fn give_back_freed_memory() {
    // SAFETY: setting options before mimalloc starts; it keeps values set
    // this way rather than reading its environment for them.
    unsafe {
        mi::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
        mi::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
    }
}

/// Bytes of the arena. A page answered from the page cache allocates about
/// 40 KB in all; rendering from the database outgrows it and goes on in
/// musl's malloc, so at most this much is never given back.
const ARENA_BYTES: usize = 256 * 1024;

/// Where a CGI process's allocations start. Each musl `malloc` of a page-sized
/// buffer is an `mmap` and a `munmap`, and its small blocks spread over
/// several pages; every page first touched is a page fault, and in a process
/// that lives a millisecond those faults and calls were about a fifth of its
/// CPU time (365 -> 295 us per cached page, measured with the arena).
/// The arena hands out consecutive bytes of one zero-filled `.bss` region
/// (untouched pages cost nothing), takes back only the newest block, and
/// grows the newest block in place, which is what a growing `Vec` asks for.
struct Arena<const N: usize> {
    bytes: UnsafeCell<[u8; N]>,
    /// Offset of the first free byte.
    used: AtomicUsize,
}

// SAFETY: the bytes are only reached through pointers handed out once each,
// and `used` is only changed by compare-and-swap.
unsafe impl<const N: usize> Sync for Arena<N> {}

#[repr(align(4096))]
struct PageAligned(Arena<ARENA_BYTES>);

static ARENA: PageAligned = PageAligned(Arena::new());

impl<const N: usize> Arena<N> {
    const fn new() -> Arena<N> {
        Arena {
            bytes: UnsafeCell::new([0; N]),
            used: AtomicUsize::new(0),
        }
    }

    fn start(&self) -> usize {
        self.bytes.get() as usize
    }

    fn owns(&self, p: *mut u8) -> bool {
        (p as usize).wrapping_sub(self.start()) < N
    }

    /// A block of `layout`, or null when the arena has no room left.
    fn alloc(&self, layout: Layout) -> *mut u8 {
        let mut used = self.used.load(Ordering::Relaxed);
        loop {
            let address = self.start() + used;
            let begin = used + (address.next_multiple_of(layout.align()) - address);
            let Some(end) = begin.checked_add(layout.size()) else {
                return std::ptr::null_mut();
            };
            if end > N {
                return std::ptr::null_mut();
            }
            match self
                .used
                .compare_exchange_weak(used, end, Ordering::Relaxed, Ordering::Relaxed)
            {
                // SAFETY: begin + size is within the arena.
                Ok(_) => return unsafe { self.bytes.get().cast::<u8>().add(begin) },
                Err(now) => used = now,
            }
        }
    }

    /// Takes the block back if it is the newest; otherwise it stays used.
    fn dealloc(&self, p: *mut u8, size: usize) {
        let begin = p as usize - self.start();
        let _ =
            self.used
                .compare_exchange(begin + size, begin, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// Grows or shrinks the newest block where it is; false for any other
    /// block, or when there is no room.
    fn resize_in_place(&self, p: *mut u8, old_size: usize, new_size: usize) -> bool {
        let begin = p as usize - self.start();
        let Some(end) = begin.checked_add(new_size) else {
            return false;
        };
        end <= N
            && self
                .used
                .compare_exchange(begin + old_size, end, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
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
// `#[inline(never)]`: with LTO, the arena's code was otherwise copied into
// every allocating call site (the binary grew by 170 KB, more pages to touch).
unsafe impl GlobalAlloc for Switching {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if MIMALLOC.load(Ordering::Relaxed) {
            return unsafe { mi::mi_malloc_aligned(layout.size(), layout.align()).cast() };
        }
        let p = ARENA.0.alloc(layout);
        if !p.is_null() {
            return p;
        }
        unsafe { System.alloc(layout) }
    }

    #[inline(never)]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if MIMALLOC.load(Ordering::Relaxed) {
            return unsafe { mi::mi_zalloc_aligned(layout.size(), layout.align()).cast() };
        }
        let p = ARENA.0.alloc(layout);
        if !p.is_null() {
            // A block taken back and handed out again holds old bytes.
            unsafe { p.write_bytes(0, layout.size()) };
            return p;
        }
        unsafe { System.alloc_zeroed(layout) }
    }

    #[inline(never)]
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        if ARENA.0.owns(p) {
            ARENA.0.dealloc(p, layout.size());
        } else if Self::owns(p) {
            unsafe { mi::mi_free(p.cast()) }
        } else {
            unsafe { System.dealloc(p, layout) }
        }
    }

    #[inline(never)]
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if ARENA.0.owns(p) {
            if !MIMALLOC.load(Ordering::Relaxed)
                && ARENA.0.resize_in_place(p, layout.size(), new_size)
            {
                return p;
            }
            return unsafe {
                self.move_block(p, layout, new_size, || ARENA.0.dealloc(p, layout.size()))
            };
        }
        if Self::owns(p) {
            return unsafe { mi::mi_realloc_aligned(p.cast(), new_size, layout.align()).cast() };
        }
        if !MIMALLOC.load(Ordering::Relaxed) {
            return unsafe { System.realloc(p, layout, new_size) };
        }
        // Made by musl's malloc before the switch: move it into mimalloc.
        unsafe { self.move_block(p, layout, new_size, || System.dealloc(p, layout)) }
    }
}

impl Switching {
    /// `realloc` by a new block from `alloc`, the bytes copied, and the old
    /// block given back by `free_old` (to the allocator that made it).
    ///
    /// # Safety
    /// As for `GlobalAlloc::realloc`.
    unsafe fn move_block(
        &self,
        p: *mut u8,
        layout: Layout,
        new_size: usize,
        free_old: impl FnOnce(),
    ) -> *mut u8 {
        // SAFETY: the caller guarantees new_size is valid for layout's alignment.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            unsafe { std::ptr::copy_nonoverlapping(p, new, layout.size().min(new_size)) };
            free_old();
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn blocks_are_aligned_consecutive_and_inside() {
        let arena = Arena::<256>::new();
        let a = arena.alloc(layout(3, 1));
        let b = arena.alloc(layout(8, 8));
        assert!(arena.owns(a) && arena.owns(b));
        assert_eq!(b as usize % 8, 0);
        assert!(b as usize >= a as usize + 3 && b as usize - a as usize <= 3 + 7);
        assert!(!arena.owns(std::ptr::dangling_mut::<u8>()));
    }

    #[test]
    fn only_the_newest_block_is_taken_back() {
        let arena = Arena::<256>::new();
        let a = arena.alloc(layout(16, 1));
        let b = arena.alloc(layout(16, 1));
        arena.dealloc(a, 16);
        assert_eq!(
            arena.used.load(Ordering::Relaxed),
            32,
            "an older block stays"
        );
        arena.dealloc(b, 16);
        assert_eq!(arena.used.load(Ordering::Relaxed), 16);
        assert_eq!(
            arena.alloc(layout(16, 1)),
            b,
            "its bytes are handed out again"
        );
    }

    #[test]
    fn the_newest_block_grows_in_place_until_the_arena_is_full() {
        let arena = Arena::<64>::new();
        let a = arena.alloc(layout(8, 1));
        assert!(arena.resize_in_place(a, 8, 40));
        assert!(arena.resize_in_place(a, 40, 64));
        assert!(!arena.resize_in_place(a, 64, 65), "past the end");
        assert!(
            arena.alloc(layout(1, 1)).is_null(),
            "full: the caller goes to malloc"
        );
        assert!(arena.resize_in_place(a, 64, 4), "shrinking frees the tail");
        let b = arena.alloc(layout(8, 1));
        assert!(!b.is_null());
        assert!(!arena.resize_in_place(a, 4, 8), "no longer the newest");
        assert!(arena.alloc(layout(isize::MAX as usize, 1)).is_null());
    }

    #[test]
    fn vectors_and_strings_work_through_the_switching_allocator() {
        // The library's tests run on the system allocator: exercise ours.
        let a = Switching;
        unsafe {
            let l = layout(100, 4);
            let p = a.alloc(l);
            assert!(!p.is_null());
            p.write_bytes(7, 100);
            let p = a.realloc(p, l, 5000);
            assert_eq!(std::slice::from_raw_parts(p, 100), &[7u8; 100][..]);
            let z = a.alloc_zeroed(layout(300, 16));
            assert!(std::slice::from_raw_parts(z, 300).iter().all(|&b| b == 0));
            a.dealloc(z, layout(300, 16));
            let z = a.alloc_zeroed(layout(300, 16));
            assert!(
                std::slice::from_raw_parts(z, 300).iter().all(|&b| b == 0),
                "a block handed out again is zeroed"
            );
            a.dealloc(z, layout(300, 16));
            a.dealloc(p, layout(5000, 4));
            // Bigger than the arena: from malloc.
            let big = layout(ARENA_BYTES + 1, 8);
            let q = a.alloc(big);
            assert!(!q.is_null() && !ARENA.0.owns(q));
            a.dealloc(q, big);
        }
    }
}
