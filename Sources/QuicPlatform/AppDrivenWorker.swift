// App-driven workers: MsQuic's application-driven execution (ExecutionCreate / ExecutionPoll,
// preview API). The worker has no thread; the application calls `pollAppDriven()` from its own
// loop, and the worker's epoll descriptor (which covers the worker's sockets and its wake
// eventfd) is watched by the application's event queue, so the application wakes when a
// datagram arrives or another thread posts an operation.
//
// Confinement is kept as for a threaded worker: a round, and anything run inline on the worker,
// holds `driver` and marks the worker current on the running thread (`Worker.current`,
// `isCurrent`), so worker-bound state is used by one thread at a time and the checks that
// decide "inline or posted" keep working. A thread that is already running this worker (a
// callback) runs nested work inline without taking the lock again.
//
// Waiting: a threaded worker's blocking calls post an operation and wait for the worker
// thread. An app-driven worker has nobody to wait for when the application calls from its
// polling thread between polls, so the operation runs inline on the calling thread instead,
// under the driver lock. MsQuic does the same when custom executions are in use (api.c:
// MsQuicConnectionClose runs its blocking close inline whenever MsQuicLib.CustomExecutions is
// set); MsQuic 2.6.0 itself still waits there and hangs (observed), which we do not copy.

import CPlatform
import Glibc

extension Worker {
    /// The descriptor the application's event queue watches (level-triggered EPOLLIN): readable
    /// whenever this worker has something to do.
    public var pollDescriptor: Int32 { epollFD }

    /// One round of an app-driven worker, run on the calling thread without sleeping (MsQuic's
    /// ExecutionPoll). Returns the milliseconds the application may wait before the next
    /// poll, with MsQuic's meanings (platform_worker.c, CxPlatRunExecutionContexts):
    /// 0 when more work is ready now, UInt32.max when no timer is armed, otherwise the time to
    /// the earliest timer (at least 1, at most UInt32.max - 1). Here the value is rounded up,
    /// so the application never wakes before the timer is due.
    ///
    /// A call made while this worker is already running on the calling thread (ExecutionPoll
    /// from one of its own callbacks) does nothing and returns 0; so does a call made from
    /// another worker's callback while a third thread holds this worker. A stopped or threaded
    /// worker returns UInt32.max.
    public func pollAppDriven() -> UInt32 {
        guard isAppDriven, lifecycle.load(ordering: .sequentiallyConsistent) == 0 else { return UInt32.max }
        if isCurrent { return 0 }
        let body = { () -> UInt32 in
            // Stopped while this thread waited for the lock.
            guard self.lifecycle.load(ordering: .sequentiallyConsistent) == 0 else { return UInt32.max }
            return self.asCurrent {
                self.runRound(blocking: false)
                return self.nextPollDelay()
            }
        }
        if Worker.current != nil {
            // Nested in another worker's round: waiting for this worker could close a cycle.
            return driver.withLockIfAvailable { runs in runs &+= 1; return body() } ?? 0
        }
        return driver.withLock { runs in runs &+= 1; return body() }
    }

    /// Milliseconds until the next poll is needed, from the state after a round.
    private func nextPollDelay() -> UInt32 {
        if hasQueuedOperations { return 0 }
        let micros = pollTimeout()
        if micros < 0 { return UInt32.max }
        if micros == 0 { return 0 }
        // pollTimeout caps micros at 60 s, so this fits; at least 1 ms (MsQuic: a timer due
        // in under a millisecond answers 1, not 0).
        let ms = (micros + 999) / 1000
        return UInt32(clamping: max(1, min(ms, Int64(UInt32.max - 1))))
    }

    /// Runs `operation` on this app-driven worker on the calling thread (see the file comment):
    /// earlier posted operations first, then `operation`, then the sends it queued. The
    /// application's loop is woken afterwards, since its wait may now be too long (a timer
    /// armed by the operation). Throws `.stopped` once the worker is stopped.
    func runInline(_ operation: @escaping Operation) throws(PlatformError) {
        let ran = driver.withLock { runs in runHoldingDriver(&runs, operation) }
        guard ran else { throw .stopped }
        wake()
    }

    /// `runInline` for a caller that must not block on the driver lock (another worker's
    /// callback: the holder might be waiting for the caller). Throws `.wouldDeadlock` when a
    /// round or another inline run holds it.
    func runInlineIfAvailable(_ operation: @escaping Operation) throws(PlatformError) {
        guard let ran = driver.withLockIfAvailable({ runs in runHoldingDriver(&runs, operation) }) else {
            throw .wouldDeadlock
        }
        guard ran else { throw .stopped }
        wake()
    }

    /// The inline run itself, with the driver lock held: earlier posted operations, then
    /// `operation`, then its sends. False once the worker is stopped.
    private func runHoldingDriver(_ runs: inout UInt64, _ operation: Operation) -> Bool {
        runs &+= 1
        guard lifecycle.load(ordering: .sequentiallyConsistent) == 0 else { return false }
        asCurrent {
            drainOperations()
            operation()
            flushPending()
            retired.removeAll(keepingCapacity: true)
        }
        return true
    }

    /// Stops an app-driven worker on the calling thread: queued operations run, sockets close,
    /// timers are dropped. Later polls return UInt32.max. Safe to call more than once.
    func stopAppDriven() {
        guard lifecycle.compareExchange(expected: 0, desired: 1, ordering: .sequentiallyConsistent).exchanged else {
            while lifecycle.load(ordering: .sequentiallyConsistent) != 2 { usleep(1000) }
            return
        }
        driver.withLock { runs in
            runs &+= 1
            asCurrent { shutDown() }
        }
        lifecycle.store(2, ordering: .sequentiallyConsistent)
    }

    /// Runs `body` with this worker marked as the calling thread's current worker, restoring the
    /// previous one after (a round nested in another worker's callback).
    private func asCurrent<T>(_ body: () -> T) -> T {
        let previous = cplatform_current_worker()
        cplatform_set_current_worker(Unmanaged.passUnretained(self).toOpaque())
        defer { cplatform_set_current_worker(previous) }
        return body()
    }
}
