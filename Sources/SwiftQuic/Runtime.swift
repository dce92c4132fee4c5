// The worker pool the MsQuic objects run on (DESIGN.md "Execution model"): started with the
// first connection or listener, stopped by the last MsQuicClose. Each connection is bound
// to one worker for its life; listeners get one SO_REUSEPORT socket per worker.

import Glibc
import QuicCore
import QuicPlatform
import Synchronization

enum Runtime {
    private static let pool = Mutex<WorkerPool?>(nil)
    private static let nextWorker = Atomic<Int>(0)

    /// The pool, started on first use. nil only when no worker thread can be created. When the
    /// application created executions (ExecutionCreate) before, the pool is made of them: one
    /// app-driven worker per execution, no threads (Execution.swift).
    static func workers() -> WorkerPool? {
        pool.withLock { p -> WorkerPool? in
            if let p { return p }
            if let appDriven = Executions.workers {
                p = try? WorkerPool(adopting: appDriven)
                return p
            }
            let count = min(WorkerPool.defaultWorkerCount, 8)
            p = try? WorkerPool(workerCount: count)
            return p
        }
    }

    /// A worker for a new client connection (round robin).
    static func nextClientWorker() -> Worker? {
        guard let pool = workers() else { return nil }
        let n = nextWorker.wrappingAdd(1, ordering: .relaxed).oldValue
        return pool.workers[n % pool.workers.count]
    }

    /// The worker of `partition` (ConnectionOpenInPartition).
    static func worker(partition: Int) -> Worker? {
        guard let pool = workers() else { return nil }
        return pool.workers[partition % pool.workers.count]
    }

    /// MsQuic's partition count: one per execution when the application drives the library,
    /// else one per processor (ConnectionOpenInPartition's bound).
    static var partitionCount: Int {
        if let n = pool.withLock({ p -> Int? in p?.isAppDriven == true ? p?.workers.count : nil }) { return n }
        if let n = Executions.workers?.count { return n }
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// True when the running pool includes `worker`.
    static func uses(_ worker: Worker) -> Bool {
        pool.withLock { p in p?.workers.contains { $0 === worker } ?? false }
    }

    /// Runs one round of each app-driven worker on the calling thread, for a call that waits
    /// for something only a poll can bring (RegistrationClose waiting for the application to
    /// close connections in their SHUTDOWN_COMPLETE callbacks). Nothing for threaded workers.
    static func driveAppDrivenWorkers() {
        guard let p = pool.withLock({ $0 }), p.isAppDriven else { return }
        for worker in p.workers { _ = worker.pollAppDriven() }
    }

    /// Stops the pool (last MsQuicClose). Refused on a worker thread, where joining would
    /// wait for the caller itself; the pool then stays up. Returns true when no worker runs
    /// any more (joined now, or never started).
    @discardableResult
    static func stop() -> Bool {
        let (p, refused) = pool.withLock { p -> (WorkerPool?, Bool) in
            guard let current = p else { return (nil, false) }
            guard !current.isCallerAWorker else { return (nil, true) }
            p = nil
            return (current, false)
        }
        guard let p else { return !refused }
        do { try p.stop() } catch { return false }
        return true
    }

    static var now: QuicInstant { MonotonicClock.instant }
}

extension Worker {
    /// Runs `body` on this worker: inline on it, posted and waited for from an application
    /// thread. From another worker's callback it cannot wait (two workers waiting on each
    /// other would hang): the operation is posted and the call returns false.
    @discardableResult
    func perform(_ body: @escaping @Sendable () -> Void) -> Bool {
        if isCurrent { body(); return true }
        if Worker.current != nil { post(body); return false }
        do { try runAndWait(body) } catch { return false }
        return true
    }

    /// Runs `body` on this worker and returns its result. From another worker's callback it
    /// waits too, as MsQuic's blocking calls do, unless that worker waits (through a chain)
    /// for this one: nil then (a wait that could never end), and nil once the worker stopped.
    func sync<T>(_ body: @escaping () -> T) -> T? {
        if isCurrent { return body() }
        let box = ResultBox<T>()
        let op = UnsafeSendable { box.value = body() }
        if Worker.current != nil {
            do { try runAndWaitFromWorker { op.value() } } catch { return nil }
            return box.value
        }
        do { try runAndWait { op.value() } } catch { return nil }
        return box.value
    }
}

extension Worker {
    /// MsQuic's queued calls (StreamStart, StreamSend, StreamShutdown, DatagramSend, ...): run
    /// on this worker and waited for when possible; called from a callback on another worker
    /// (which must not wait), posted instead, answering `queued`. `body` runs on this worker
    /// either way; `failedLater` gets a failure `body` returns after the call has returned.
    func runOrQueue(queued: QuicStatus, _ body: @escaping () -> QuicStatus,
                    failedLater: @escaping (QuicStatus) -> Void = { _ in }) -> QuicStatus {
        if isCurrent || Worker.current == nil { return sync(body) ?? Status.invalidState }
        let op = UnsafeSendable((body, failedLater))
        let posted = post {
            let status = op.value.0()
            if Status.isFailure(status) { op.value.1(status) }
        }
        return posted ? queued : Status.invalidState
    }
}

/// Sendable (unchecked): written by the operation on the worker, read by the waiting thread only
/// after `runAndWait` returned (its OneShotEvent mutex orders the write before the read).
final class ResultBox<T>: @unchecked Sendable { var value: T? }

/// Carries a non-Sendable closure to the worker that runs it (the caller waits, or the
/// objects it touches are only used on that worker).
///
/// Sendable (unchecked): the caller guarantees what `value` touches is either waited for (the
/// caller blocks until the worker ran it) or worker-bound to the worker that runs it.
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
