// The time base QuicCore runs on: microseconds from CLOCK_MONOTONIC (never jumps with the
// wall clock, counts while the process runs).
import Glibc
import QuicCore

public enum MonotonicClock {
    /// Microseconds since an unspecified start (boot on Linux), monotonic.
    @inlinable
    public static func now() -> UInt64 {
        var ts = timespec()
        // clock_gettime(CLOCK_MONOTONIC) cannot fail with a valid pointer and clock id.
        _ = clock_gettime(CLOCK_MONOTONIC, &ts)
        // Bound: tv_sec of CLOCK_MONOTONIC counts since boot (< 2^44 s before the µs product
        // could wrap); tv_nsec < 10^9.
        return UInt64(ts.tv_sec) &* 1_000_000 &+ UInt64(ts.tv_nsec) / 1_000
    }

    /// `now()` as the instant QuicCore's timers run on.
    @inlinable
    public static var instant: QuicInstant { QuicInstant(microseconds: now()) }
}
