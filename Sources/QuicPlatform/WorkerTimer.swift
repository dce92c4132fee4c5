// Timers for one worker: a binary min-heap keyed by (deadline, scheduling order), with each
// timer knowing its heap slot so cancel and reschedule are O(log n) and allocation-free.

/// A timer owned by one worker. Create it once (e.g. per connection) with its handler, then
/// schedule / reschedule / cancel it as often as needed, on that worker's thread only.
///
/// Sendable (unchecked): created on any thread, then worker-bound: `Worker.schedule`/`cancel`
/// refuse to touch it (or the heap) off their thread, and only that worker runs the handler.
public final class WorkerTimer: @unchecked Sendable {
    let handler: () -> Void
    /// Deadline in microseconds of `MonotonicClock.now()`; meaningful while scheduled.
    public internal(set) var deadline: UInt64 = 0
    var sequence: UInt64 = 0
    var heapIndex = -1

    public init(_ handler: @escaping () -> Void) {
        self.handler = handler
    }

    public var isScheduled: Bool { heapIndex >= 0 }
}

struct TimerHeap {
    private(set) var items: [WorkerTimer] = []
    private var nextSequence: UInt64 = 0

    init() { items.reserveCapacity(64) }

    var count: Int { items.count }
    var earliest: UInt64? { items.first?.deadline }

    /// Schedules or moves `timer` to `deadline`. Timers with equal deadlines fire in the order
    /// they were (re)scheduled.
    mutating func schedule(_ timer: WorkerTimer, at deadline: UInt64) {
        timer.deadline = deadline
        timer.sequence = nextSequence
        nextSequence &+= 1
        if timer.heapIndex >= 0 {
            let i = timer.heapIndex
            siftUp(i)
            siftDown(timer.heapIndex)
        } else {
            timer.heapIndex = items.count
            items.append(timer)
            siftUp(items.count - 1)
        }
    }

    mutating func cancel(_ timer: WorkerTimer) {
        let i = timer.heapIndex
        guard i >= 0, i < items.count, items[i] === timer else { return }
        let last = items.count - 1
        if i != last {
            items.swapAt(i, last)
            items[i].heapIndex = i
        }
        items.removeLast()
        timer.heapIndex = -1
        if i < items.count {
            let moved = items[i]
            siftUp(i)
            siftDown(moved.heapIndex)
        }
    }

    /// Removes and returns the earliest timer if it is due at `now` and was scheduled before
    /// `sequenceLimit` (so a handler that re-arms its timer for "now" waits for the next round).
    mutating func popDue(now: UInt64, sequenceLimit: UInt64) -> WorkerTimer? {
        guard let first = items.first, first.deadline <= now, first.sequence < sequenceLimit else { return nil }
        cancel(first)
        return first
    }

    var currentSequence: UInt64 { nextSequence }

    mutating func removeAll() {
        for t in items { t.heapIndex = -1 }
        items.removeAll()
    }

    private func less(_ a: WorkerTimer, _ b: WorkerTimer) -> Bool {
        a.deadline != b.deadline ? a.deadline < b.deadline : a.sequence < b.sequence
    }

    private mutating func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            guard less(items[i], items[parent]) else { break }
            items.swapAt(i, parent)
            items[i].heapIndex = i
            items[parent].heapIndex = parent
            i = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var i = start
        let n = items.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var smallest = i
            if l < n && less(items[l], items[smallest]) { smallest = l }
            if r < n && less(items[r], items[smallest]) { smallest = r }
            guard smallest != i else { break }
            items.swapAt(i, smallest)
            items[i].heapIndex = i
            items[smallest].heapIndex = smallest
            i = smallest
        }
    }
}
