//! `memcpy` for the static musl build. musl's copies every block with
//! `rep movsq`, whose start-up cost is paid on each of the many small copies
//! the HTML tree builder and serializer make: a third of the time a poll
//! spends sanitizing (BENCHMARKS.md, "Issue 17"). Blocks up to 32 bytes are
//! copied here with two overlapping unaligned moves of the right width;
//! longer ones with `rep movsb`, which CPUs with ERMS run at full speed.
//!
//! Straight-line code only: a copy loop written in Rust could be turned back
//! into a call to `memcpy` by the optimizer, that is, into this function.

#[cfg(all(target_env = "musl", target_arch = "x86_64"))]
#[unsafe(no_mangle)]
/// # Safety
/// As C's `memcpy`: `dest` and `src` valid for `n` bytes, not overlapping.
pub unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: every access is within the first `n` bytes of `src` and `dest`,
    // which the caller guarantees are valid and disjoint.
    unsafe {
        if n <= 16 {
            if n >= 8 {
                let a = src.cast::<u64>().read_unaligned();
                let b = src.add(n - 8).cast::<u64>().read_unaligned();
                dest.cast::<u64>().write_unaligned(a);
                dest.add(n - 8).cast::<u64>().write_unaligned(b);
            } else if n >= 4 {
                let a = src.cast::<u32>().read_unaligned();
                let b = src.add(n - 4).cast::<u32>().read_unaligned();
                dest.cast::<u32>().write_unaligned(a);
                dest.add(n - 4).cast::<u32>().write_unaligned(b);
            } else if n > 0 {
                let first = *src;
                let middle = *src.add(n / 2);
                let last = *src.add(n - 1);
                *dest = first;
                *dest.add(n / 2) = middle;
                *dest.add(n - 1) = last;
            }
        } else if n <= 32 {
            let a = src.cast::<u128>().read_unaligned();
            let b = src.add(n - 16).cast::<u128>().read_unaligned();
            dest.cast::<u128>().write_unaligned(a);
            dest.add(n - 16).cast::<u128>().write_unaligned(b);
        } else {
            core::arch::asm!(
                "rep movsb",
                inout("rcx") n => _,
                inout("rdi") dest => _,
                inout("rsi") src => _,
                options(nostack, preserves_flags)
            );
        }
    }
    dest
}

/// musl's `memmove` jumps here for a copy that may go front to back; musl's
/// `memcpy` object defines both, so both are defined here or neither is.
/// Correct for that overlap too: up to 32 bytes everything is read before
/// anything is written, and `rep movsb` copies front to back.
#[cfg(all(target_env = "musl", target_arch = "x86_64"))]
#[unsafe(no_mangle)]
/// # Safety
/// As `memcpy`, except that `dest` may overlap the end of `src` when it is below it.
pub unsafe extern "C" fn __memcpy_fwd(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: as the caller's.
    unsafe { memcpy(dest, src, n) }
}

#[cfg(test)]
mod tests {
    /// Every length and misalignment up to 200 bytes copies exactly, and
    /// touches nothing around the block (through `memcpy` itself on musl,
    /// through the platform's elsewhere).
    #[test]
    fn copies_every_length_and_alignment_exactly() {
        let source: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for n in 0..200 {
            for offset in 0..8 {
                let mut target = vec![0xAAu8; 300];
                // SAFETY: both ranges are within their buffers and disjoint.
                unsafe {
                    copy(
                        target.as_mut_ptr().add(offset),
                        source.as_ptr().add(offset),
                        n,
                    );
                }
                assert_eq!(
                    &target[offset..offset + n],
                    &source[offset..offset + n],
                    "{n}/{offset}"
                );
                assert!(
                    target[..offset].iter().all(|&b| b == 0xAA),
                    "{n}/{offset}: before"
                );
                assert!(
                    target[offset + n..].iter().all(|&b| b == 0xAA),
                    "{n}/{offset}: after"
                );
            }
        }
    }

    /// musl's `memmove` copies front to back through `__memcpy_fwd` when the
    /// target starts below the source: every length and overlap up to 200.
    #[test]
    fn memmove_front_to_back_through_overlap_is_exact() {
        for n in 0..200 {
            for shift in 1..40 {
                let original: Vec<u8> = (0..300u32).map(|i| (i * 13 + 1) as u8).collect();
                let mut buffer = original.clone();
                // SAFETY: both ranges are within the buffer; `copy` allows overlap.
                unsafe { std::ptr::copy(buffer.as_ptr().add(shift), buffer.as_mut_ptr(), n) };
                assert_eq!(&buffer[..n], &original[shift..shift + n], "{n}/{shift}");
                assert_eq!(&buffer[n..], &original[n..], "{n}/{shift}: after");
            }
        }
    }

    unsafe fn copy(dest: *mut u8, src: *const u8, n: usize) {
        #[cfg(all(target_env = "musl", target_arch = "x86_64"))]
        // SAFETY: as the caller's.
        unsafe {
            super::memcpy(dest, src, n);
        }
        #[cfg(not(all(target_env = "musl", target_arch = "x86_64")))]
        // SAFETY: as the caller's.
        unsafe {
            std::ptr::copy_nonoverlapping(src, dest, n);
        }
    }
}
