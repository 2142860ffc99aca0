//! The library's unit tests count the heap allocations each thread makes
//! ([`densa_alloc`], per thread, so concurrently running tests do not
//! pollute a count): a test can hold a code path to an allocation budget,
//! such as the media step in steady state. Only the test build installs
//! it; the daemon keeps the system allocator untouched.

#[global_allocator]
static ALLOCATOR: densa_alloc::CountingAllocator = densa_alloc::CountingAllocator::system();

/// Run `f` on this thread and return its result with the number of heap
/// allocations and reallocations it made.
pub fn count<T>(f: impl FnOnce() -> T) -> (T, u64) {
    assert!(
        densa_alloc::is_active(),
        "the counting allocator is not installed"
    );
    let (out, stats) = densa_alloc::measure(f);
    (out, stats.allocs + stats.reallocs)
}

#[cfg(test)]
mod tests {
    #[test]
    fn allocations_are_counted() {
        let (v, n) = super::count(|| vec![1u8; 100]);
        assert_eq!(n, 1);
        let (_, n) = super::count(|| v.len());
        assert_eq!(n, 0);
    }
}
