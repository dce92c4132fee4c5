// Process-wide counters added to from any thread with relaxed atomics (CPlatform shim.c),
// for MsQuic's QUIC_PARAM_GLOBAL_PERF_COUNTERS: cheap enough for the datapath.
import CPlatform

public enum ProcessCounters {
    public static let capacity = 64

    @inline(__always) public static func add(_ index: Int, _ delta: Int64 = 1) {
        cplatform_counter_add(UInt32(truncatingIfNeeded: index), delta)
    }

    public static func value(_ index: Int) -> UInt64 { cplatform_counter_get(UInt32(truncatingIfNeeded: index)) }
}
