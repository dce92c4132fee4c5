// A windowed maximum over "time" counted in BBR round trips (MsQuic
// sliding_window_extremum.c, used by bbr.c for the bottleneck bandwidth and the ACK height
// filters with a lifetime of 10 rounds and room for 3 entries).
//
// The entries form a queue whose values decrease from the oldest (the maximum) to the
// newest. A new value first drops the entries that have outlived the window, then every
// newer entry that is not larger than it, and is kept if there is room. Three slots held
// inline: no allocation.

struct WindowedMaxFilter: Sendable, Equatable {
    struct Entry: Sendable, Equatable {
        var value: UInt64
        var time: UInt64
    }

    /// An entry expires once `time` has advanced more than this past it.
    let lifetime: UInt64
    private var e0 = Entry(value: 0, time: 0)
    private var e1 = Entry(value: 0, time: 0)
    private var e2 = Entry(value: 0, time: 0)
    /// Number of entries held (0...3); e0 is the oldest (and largest).
    private(set) var count = 0

    static let capacity = 3

    init(lifetime: UInt64) { self.lifetime = lifetime }

    /// The maximum over the window, nil when empty.
    var best: UInt64? { count > 0 ? e0.value : nil }

    private func entry(_ i: Int) -> Entry {
        switch i {
        case 0: return e0
        case 1: return e1
        default: return e2
        }
    }

    private mutating func set(_ i: Int, _ e: Entry) {
        switch i {
        case 0: e0 = e
        case 1: e1 = e
        default: e2 = e
        }
    }

    private mutating func dropOldest() {
        e0 = e1; e1 = e2
        count -= 1
    }

    /// Drops the entries older than the window as of `time`.
    mutating func expire(at time: UInt64) {
        while count > 0 && time > e0.time && time - e0.time > lifetime { dropOldest() }
    }

    /// Records `value` observed at `time` (time never goes backwards).
    mutating func update(_ value: UInt64, at time: UInt64) {
        expire(at: time)
        while count > 0 && entry(count - 1).value <= value { count -= 1 }
        if count < Self.capacity {
            set(count, Entry(value: value, time: time))
            count += 1
        }
    }

    mutating func reset() { count = 0 }
}
