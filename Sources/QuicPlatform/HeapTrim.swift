import CPlatform

/// The process heap (glibc's allocator).
public enum Heap {
    /// Gives free heap pages back to the kernel (malloc_trim(0)). The allocator keeps freed
    /// memory for reuse, so after a burst of short-lived allocations (a flood of handshakes)
    /// the resident size stays at its peak until this is called. Costs a walk over the heap:
    /// for rare moments, such as the end of a flood.
    public static func trim() {
        _ = cplatform_malloc_trim()
    }
}
