// A worker's callback calling a synchronous API on an object of another worker (MsQuic's
// GetParam/SetParam and its other blocking calls wait for the owning worker from any thread
// but that worker itself). The calling worker blocks until the other has run the operation.
// Two workers waiting on each other (directly or around a longer cycle) would hang forever —
// MsQuic does hang there — so a wait that would close a cycle is refused instead.
import Synchronization

extension Worker {
    /// Runs `operation` on this worker for a caller that is itself a worker's thread, and
    /// returns once it has run. Throws `.wouldDeadlock` when this worker already waits,
    /// through a chain of waits, for the caller (or is the caller, or the caller is
    /// app-driven and this worker's driver is busy), `.stopped` once this worker takes no more
    /// operations.
    public func runAndWaitFromWorker(_ operation: @escaping Operation) throws(PlatformError) {
        guard let caller = Worker.current, caller !== self else { throw .wouldDeadlock }
        if isAppDriven {
            // No thread to wait for: run it here under this worker's driver lock, unless a
            // round or another inline run holds it (possibly this very thread, further up).
            try runInlineIfAvailable(operation)
            return
        }
        let me = UInt(bitPattern: Unmanaged.passUnretained(caller).toOpaque())
        let target = UInt(bitPattern: Unmanaged.passUnretained(self).toOpaque())
        // Announce the wait first, then look for a cycle: of two workers starting to wait on
        // each other at once, at least one sees the other's announcement (sequentially
        // consistent), so they never both wait.
        caller.waitingFor.store(target, ordering: .sequentiallyConsistent)
        defer { caller.waitingFor.store(0, ordering: .sequentiallyConsistent) }
        var next = target
        for _ in 0..<64 {
            // Workers live as long as their pool, which outlives every callback.
            let w = Unmanaged<Worker>.fromOpaque(UnsafeRawPointer(bitPattern: next)!).takeUnretainedValue()
            next = w.waitingFor.load(ordering: .sequentiallyConsistent)
            if next == 0 { break }
            if next == me { throw .wouldDeadlock }
        }
        let done = OneShotEvent()
        guard post({ operation(); done.signal() }) else { throw .stopped }
        done.wait()
    }
}
