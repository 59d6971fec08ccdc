//! How the process hands memory back to the system: big transient buffers are mapped on
//! their own and returned when freed (glibc; elsewhere this does nothing).

/// glibc serves a block of 128 KB or more with its own mapping, returned to the system
/// when freed, but raises that threshold each time such a block is freed: later big
/// buffers (a download's, a thumbnail's) then come from the heap's arenas and stay in
/// the process's memory after use. A fixed threshold keeps them returnable. It sits just
/// above the 256 KB upload buffers, which are pooled and reused and would only churn
/// mappings below it. Measured (BENCHMARKS.md), downloading 40 full-size photos peaked
/// at 121.6 MB with the moving threshold, 51.5 MB at 128 KB (uploads then ran at 0.54
/// and 0.80 of the bare loop), 58.3 MB at 320 KB, 61.2 MB at 512 KB.
///
/// Call it first thing in `main`, before any other thread exists.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn return_big_buffers_at_once() {
    // SAFETY: mallopt only changes allocator settings, and no other thread runs yet.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 320 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn return_big_buffers_at_once() {}
