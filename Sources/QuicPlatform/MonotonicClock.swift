// The time base QuicCore runs on: microseconds from CLOCK_MONOTONIC (never jumps with the
// wall clock, counts while the process runs).
import Glibc

public enum MonotonicClock {
    /// Microseconds since an unspecified start (boot on Linux), monotonic.
    @inlinable
    public static func now() -> UInt64 {
        var ts = timespec()
        // clock_gettime(CLOCK_MONOTONIC) cannot fail with a valid pointer and clock id.
        _ = clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000 &+ UInt64(ts.tv_nsec) / 1_000
    }
}
