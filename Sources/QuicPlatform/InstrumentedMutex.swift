// ThreadSanitizer builds only (scripts/sanitize.sh thread compiles with -DSWIFTQUIC_TSAN).
//
// Why: `Synchronization.Mutex` on Linux takes its fast path with an atomic compare-exchange
// that is inlined into our (instrumented) code, but when the lock is contended it blocks and is
// handed over in the kernel (`_lockSlow`/`_unlockSlow` in the prebuilt, uninstrumented
// libswiftSynchronization.so, FUTEX_LOCK_PI / FUTEX_UNLOCK_PI). TSan sees no release/acquire
// for such a hand-over, so two critical sections of the same Mutex that met contention are
// reported as a data race on the value it guards (seen on `Worker.inbox` in the first run of
// CTests/api_stress.c, Tests/SANITIZERS.md). That report is a false positive of the runtime,
// not of our code. Rather than suppressing reports on every Mutex-guarded value (which would
// also hide a real race on them), TSan builds swap in this lock, which has the same
// semantics and is built on pthread_mutex, which TSan intercepts, so every critical section
// is checked with correct happens-before edges. Release and debug builds keep
// Synchronization.Mutex.

#if SWIFTQUIC_TSAN
import Glibc

public final class InstrumentedMutex<Value>: @unchecked Sendable {
    // Sendable (unchecked): `value` is only touched between pthread_mutex_lock and _unlock.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    public init(_ initialValue: Value) {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        value = initialValue
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }

    /// `body` under the lock if nobody holds it, else nil (as Synchronization.Mutex's).
    public func withLockIfAvailable<R>(_ body: (inout Value) throws -> R) rethrows -> R? {
        guard pthread_mutex_trylock(mutex) == 0 else { return nil }
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}

/// Shadows `Synchronization.Mutex` inside this module (a module's own declarations win over
/// imported ones).
typealias Mutex<Value> = InstrumentedMutex<Value>
#endif
