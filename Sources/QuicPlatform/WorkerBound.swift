// Worker-bound state, checked in debug builds (the check of swift-nio's NIOLoopBound).
//
// The library confines most mutable state to one worker's thread: a connection and its streams
// to the connection's worker, a binding to its socket's worker, a timer to its worker.
// Application threads reach that state only through `Worker.perform`/`sync`/`runOrQueue`, which
// run the access on the owning worker (posted and waited for), so the objects can be passed
// between threads (`@unchecked Sendable`) without a lock. `assertIsCurrent()` at the entry
// points of such state turns that rule from a comment into a check: a debug build (what
// `swift test` and the sanitizer runs build) traps on an access from any other thread; a
// release build pays nothing.

extension Worker {
    /// Debug builds: traps unless called on this worker's thread.
    @inlinable
    public func assertIsCurrent(file: StaticString = #fileID, line: UInt = #line) {
        assert(isCurrent, "worker-bound state used off its worker (worker \(index))", file: file, line: line)
    }
}
