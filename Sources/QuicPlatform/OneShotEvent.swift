// A one-time signal a thread can block on (pthread mutex + condition variable), for API calls
// that must wait until their operation has run on a worker.
import Glibc

/// Sendable (unchecked): `signaled` is read and written only under the pthread mutex, which
/// also orders everything the signaling thread did before `signal()` before the waiter wakes.
public final class OneShotEvent: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var signaled = false

    public init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        // Default attributes cannot fail to initialize on Linux.
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    public func signal() {
        pthread_mutex_lock(mutex)
        signaled = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Blocks until `signal()` (returns at once if it already happened).
    public func wait() {
        pthread_mutex_lock(mutex)
        while !signaled { pthread_cond_wait(condition, mutex) }
        pthread_mutex_unlock(mutex)
    }

    public var isSignaled: Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return signaled
    }
}

extension Worker {
    /// Runs `operation` on this worker and returns when it has run: inline when called on this
    /// worker, else posted and waited for (an app-driven worker, which has no thread to wait
    /// for, runs it inline on the calling thread under its driver lock). Refused with
    /// `.wouldDeadlock` from another worker's thread (two workers waiting on each other would
    /// hang) and with `.stopped` once the worker takes no more operations.
    public func runAndWait(_ operation: @escaping Operation) throws(PlatformError) {
        if isCurrent {
            operation()
            return
        }
        guard Worker.current == nil else { throw .wouldDeadlock }
        if isAppDriven {
            try runInline(operation)
            return
        }
        let done = OneShotEvent()
        guard post({ operation(); done.signal() }) else { throw .stopped }
        done.wait()
    }
}
