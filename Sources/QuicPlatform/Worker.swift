// One worker: an epoll loop over its sockets, an eventfd to wake it, an MPSC queue of
// operations posted by other threads, and a timer heap. Each round:
// poll sockets -> deliver received batches -> run due timers -> drain operations -> flush sends.
// A worker either has its own thread, or is app-driven (MsQuic's ExecutionCreate): no thread,
// its rounds are run by the application's ExecutionPoll (see AppDrivenWorker.swift).
import CPlatform
import Glibc
import QuicCore
import Synchronization

/// A socket registered with a worker, and its handler. Created on the adding thread, then
/// used only on the worker (the epoll entry and the registry carry it across).
///
/// Sendable (unchecked): complete before it is published (registry insert under its mutex, then
/// epoll_ctl, which orders it before the worker's epoll_wait sees it); `active` is written
/// and read only on the worker.
final class SocketRegistration: @unchecked Sendable {
    let socket: UDPSocket
    let handler: any UDPSocketHandler
    var active = true

    init(socket: UDPSocket, handler: any UDPSocketHandler) {
        self.socket = socket
        self.handler = handler
    }
}

/// Sendable (unchecked): what other threads touch is a `let`, a `Mutex` (inbox, registry) or an
/// `Atomic` (stop flag, lifecycle); `thread` is written once in `init` before the worker is
/// published; the timer heap, the running list, the flush list and `retired` belong to the
/// worker's own thread (`threadMain` and what it calls). For an app-driven worker "the worker's
/// thread" is whichever thread holds `driver` and has made the worker current (one at a time).
public final class Worker: @unchecked Sendable {
    public typealias Operation = @Sendable () -> Void

    private struct Inbox {
        var operations: [Operation] = []
        var accepting = true
    }

    public let index: Int
    /// True for a worker without a thread of its own, whose rounds the application runs
    /// (ExecutionPoll); false for a worker with its own thread.
    public let isAppDriven: Bool
    let epollFD: Int32
    private let eventFD: Int32
    private let inbox = Mutex(Inbox())
    /// App-driven workers only: held by the thread that runs a round or an inline operation, so
    /// that the worker-confined state is used by one thread at a time. The value counts the
    /// rounds and inline runs (not zero-sized: ThreadSanitizer misreads accesses to a
    /// zero-sized value guarded by the instrumented lock as races).
    let driver = Mutex<UInt64>(0)
    /// Registered sockets, by identity. Written under the lock from any thread on add, read on
    /// the worker; the epoll entry points at the registration without a lookup.
    private let registry = Mutex<[ObjectIdentifier: SocketRegistration]>([:])
    private let stopRequested = Atomic<Bool>(false)
    /// The worker this worker's thread waits for (`runAndWaitFromWorker`), as an unretained
    /// pointer (0: none). Read by other workers to refuse a wait that would close a cycle.
    let waitingFor = Atomic<UInt>(0)
    /// 0 running, 1 stopping, 2 joined.
    let lifecycle = Atomic<Int>(0)
    private var thread = pthread_t()

    // Worker-thread state.
    private var timers = TimerHeap()
    private var running: [Operation] = []
    private var flushList: [UDPSocket] = []
    var retired: [SocketRegistration] = []
    private let maxEvents = 64
    private let events: UnsafeMutablePointer<epoll_event>
    /// recvmmsg batches read from one socket per wakeup before the others get a turn.
    public let receiveBudget = 8

    /// Starts the worker thread; with `appDriven`, no thread is started and the application
    /// runs the worker's rounds (`pollAppDriven`).
    public init(index: Int = 0, appDriven: Bool = false) throws(PlatformError) {
        self.index = index
        self.isAppDriven = appDriven
        let ep = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard ep >= 0 else { throw .lastError(.epollCreate) }
        let ev = eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC))
        guard ev >= 0 else {
            let e = PlatformError.lastError(.eventfd)
            Glibc.close(ep)
            throw e
        }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = 0
        guard epoll_ctl(ep, EPOLL_CTL_ADD, ev, &event) == 0 else {
            let e = PlatformError.lastError(.epollCtl)
            Glibc.close(ep); Glibc.close(ev)
            throw e
        }
        epollFD = ep
        eventFD = ev
        events = .allocate(capacity: maxEvents)
        events.initialize(repeating: epoll_event(), count: maxEvents)
        running.reserveCapacity(64)
        flushList.reserveCapacity(16)
        if appDriven { return }

        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }
            let worker = Unmanaged<Worker>.fromOpaque(raw).takeRetainedValue()
            worker.threadMain()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<Worker>.fromOpaque(context).release()
            lifecycle.store(2, ordering: .sequentiallyConsistent)
            throw .system(.pthreadCreate, errno: rc)
        }
    }

    deinit {
        events.deinitialize(count: maxEvents)
        events.deallocate()
        Glibc.close(epollFD)
        Glibc.close(eventFD)
    }

    /// The worker whose thread is calling, or nil off the workers.
    public static var current: Worker? {
        guard let raw = cplatform_current_worker() else { return nil }
        return Unmanaged<Worker>.fromOpaque(raw).takeUnretainedValue()
    }

    /// True when called on this worker's thread.
    public var isCurrent: Bool {
        cplatform_current_worker() == Unmanaged.passUnretained(self).toOpaque()
    }

    // MARK: operations (any thread)

    /// Queues `operation` to run on the worker thread. Operations posted from one thread run in
    /// the order posted. Returns false once the worker is stopping (the operation is dropped).
    @discardableResult
    public func post(_ operation: @escaping Operation) -> Bool {
        let (accepted, wasEmpty) = inbox.withLock { box -> (Bool, Bool) in
            guard box.accepting else { return (false, false) }
            let empty = box.operations.isEmpty
            box.operations.append(operation)
            return (true, empty)
        }
        // Only the first operation of a batch needs to wake the worker; it drains them all.
        if accepted && wasEmpty { wake() }
        return accepted
    }

    func wake() {
        var one: UInt64 = 1
        while true {
            let n = Glibc.write(eventFD, &one, 8)
            // EAGAIN: the counter is saturated, so the worker is awake anyway.
            if n >= 0 || errno != EINTR { return }
        }
    }

    // MARK: sockets

    /// Registers `socket` with this worker: received batches go to `handler` on the worker
    /// thread, and sends queued on the socket are flushed after every round. From then on use
    /// the socket only on this worker. Callable from any thread.
    public func add(_ socket: UDPSocket, handler: any UDPSocketHandler) throws(PlatformError) {
        guard lifecycle.load(ordering: .sequentiallyConsistent) == 0 else { throw .stopped }
        guard !socket.isClosed else { throw .invalidArgument("socket is closed") }
        let registration = SocketRegistration(socket: socket, handler: handler)
        let key = ObjectIdentifier(socket)
        let fresh = registry.withLock { map -> Bool in
            guard map[key] == nil else { return false }
            map[key] = registration
            return true
        }
        guard fresh else { throw .invalidArgument("socket already registered") }
        socket.worker = self
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = UInt64(UInt(bitPattern: Unmanaged.passUnretained(registration).toOpaque()))
        guard epoll_ctl(epollFD, EPOLL_CTL_ADD, socket.fileDescriptor, &event) == 0 else {
            let e = PlatformError.lastError(.epollCtl)
            _ = registry.withLock { $0.removeValue(forKey: key) }
            socket.worker = nil
            throw e
        }
        // Sends queued before registration go out on the first round.
        if socket.pendingSendCount > 0 {
            post { [self] in self.scheduleFlush(socket) }
        }
    }

    /// Takes `socket` off the worker and closes it. On the worker it happens at once; from
    /// another thread it is queued (and done by the time `completion` runs on the worker).
    public func remove(_ socket: UDPSocket, completion: Operation? = nil) {
        if isCurrent {
            removeNow(socket)
            completion?()
        } else {
            let queued = post { [self] in
                self.removeNow(socket)
                completion?()
            }
            // A stopping worker closes every socket itself.
            if !queued { completion?() }
        }
    }

    private func removeNow(_ socket: UDPSocket) {
        guard let registration = registry.withLock({ $0.removeValue(forKey: ObjectIdentifier(socket)) }) else { return }
        registration.active = false
        if socket.fileDescriptor >= 0 {
            _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, socket.fileDescriptor, nil)
        }
        socket.discardQueuedSends()
        socket.close()
        socket.worker = nil
        // Events already fetched in this round may still name it: free it after the round.
        retired.append(registration)
    }

    func scheduleFlush(_ socket: UDPSocket) {
        socket.flushScheduled = true
        flushList.append(socket)
    }

    private func setWritableInterest(_ registration: SocketRegistration, _ on: Bool) {
        let socket = registration.socket
        guard socket.waitingForWritable != on, socket.fileDescriptor >= 0 else { return }
        var event = epoll_event()
        event.events = on ? (EPOLLIN.rawValue | EPOLLOUT.rawValue) : EPOLLIN.rawValue
        event.data.u64 = UInt64(UInt(bitPattern: Unmanaged.passUnretained(registration).toOpaque()))
        if epoll_ctl(epollFD, EPOLL_CTL_MOD, socket.fileDescriptor, &event) == 0 {
            socket.waitingForWritable = on
        } else {
            fail(registration, .lastError(.epollCtl))
        }
    }

    private func fail(_ registration: SocketRegistration, _ error: PlatformError) {
        guard registration.active else { return }
        removeNow(registration.socket)
        registration.handler.failed(registration.socket, error: error)
    }

    // MARK: timers (worker thread only)

    /// Arms (or moves) `timer` to fire at `deadline` (on `MonotonicClock.instant`'s clock;
    /// `.never` parks it at the end of the heap). Only on this worker's thread; returns false
    /// (and does nothing) elsewhere.
    @discardableResult
    public func schedule(_ timer: WorkerTimer, at deadline: QuicInstant) -> Bool {
        guard isCurrent else { return false }
        timers.schedule(timer, at: deadline.microseconds)
        return true
    }

    /// Disarms `timer` if it is scheduled. Only on this worker's thread.
    @discardableResult
    public func cancel(_ timer: WorkerTimer) -> Bool {
        guard isCurrent else { return false }
        timers.cancel(timer)
        return true
    }

    // MARK: stopping

    /// Stops the worker: it runs the operations already queued, closes its sockets, drops its
    /// timers, and its thread is joined before this returns. Refused with `.wouldDeadlock` on the
    /// worker's own thread. Calling it again (or concurrently) waits for the same stop.
    public func stop() throws(PlatformError) {
        guard !isCurrent else { throw .wouldDeadlock }
        if isAppDriven { stopAppDriven(); return }
        if lifecycle.compareExchange(expected: 0, desired: 1, ordering: .sequentiallyConsistent).exchanged {
            stopRequested.store(true, ordering: .sequentiallyConsistent)
            wake()
            let rc = pthread_join(thread, nil)
            lifecycle.store(2, ordering: .sequentiallyConsistent)
            if rc != 0 { throw .system(.pthreadJoin, errno: rc) }
        } else {
            while lifecycle.load(ordering: .sequentiallyConsistent) != 2 { usleep(1000) }
        }
    }

    public var isStopped: Bool { lifecycle.load(ordering: .sequentiallyConsistent) == 2 }

    // MARK: the loop

    private func threadMain() {
        cplatform_set_current_worker(Unmanaged.passUnretained(self).toOpaque())
        _ = cplatform_set_thread_name("quic-worker-\(index)")
        while !stopRequested.load(ordering: .sequentiallyConsistent) {
            runRound(blocking: true)
        }
        shutDown()
        cplatform_set_current_worker(nil)
    }

    /// Microseconds to wait in epoll (-1: no deadline).
    func pollTimeout() -> Int64 {
        if !flushList.isEmpty { return 0 }
        guard let deadline = timers.earliest else { return -1 }
        let now = MonotonicClock.now()
        guard deadline > now else { return 0 }
        // Far deadlines are capped; the loop simply waits again.
        return Int64(min(deadline - now, 60_000_000))
    }

    /// epoll_pwait2 (Linux 5.11) takes a timespec, so timers wake the worker to the
    /// microsecond; older kernels get epoll_wait with the timeout rounded up to milliseconds.
    private var hasEpollPwait2 = true

    private func waitForEvents(blocking: Bool) -> Int32 {
        // An app-driven round never sleeps: the application waits in its own event queue.
        guard blocking else { return epoll_wait(epollFD, events, Int32(maxEvents), 0) }
        let micros = pollTimeout()
        if hasEpollPwait2 {
            var n: Int32
            if micros < 0 {
                n = epoll_pwait2(epollFD, events, Int32(maxEvents), nil, nil)
            } else {
                // Bound: pollTimeout() caps micros at 60 s, and (micros % 10^6) × 1000 < 10^9 ns.
                var ts = timespec(tv_sec: Int(micros / 1_000_000), tv_nsec: Int(micros % 1_000_000) * 1000)
                n = epoll_pwait2(epollFD, events, Int32(maxEvents), &ts, nil)
            }
            if n >= 0 || errno != ENOSYS { return n }
            hasEpollPwait2 = false
        }
        // Round up so a timer never fires early.
        let ms: Int32 = micros < 0 ? -1 : Int32(clamping: (micros + 999) / 1000)
        return epoll_wait(epollFD, events, Int32(maxEvents), ms)
    }

    func runRound(blocking: Bool) {
        let n = waitForEvents(blocking: blocking)
        if n > 0 {
            for i in 0..<Int(n) {
                let event = events[i]
                let token = event.data.u64
                if token == 0 {
                    var value: UInt64 = 0
                    _ = Glibc.read(eventFD, &value, 8)
                    continue
                }
                guard let raw = UnsafeMutableRawPointer(bitPattern: UInt(token)) else { continue }
                let registration = Unmanaged<SocketRegistration>.fromOpaque(raw).takeUnretainedValue()
                handle(event.events, for: registration)
            }
        } else if n < 0 && errno != EINTR && blocking {
            // epoll_wait fails only on a broken descriptor; avoid spinning while stop comes.
            usleep(1000)
        }
        runDueTimers()
        drainOperations()
        flushPending()
        retired.removeAll(keepingCapacity: true)
    }

    private func handle(_ mask: UInt32, for registration: SocketRegistration) {
        guard registration.active else { return }
        let socket = registration.socket
        if mask & (EPOLLIN.rawValue | EPOLLERR.rawValue) != 0 {
            for _ in 0..<receiveBudget {
                guard registration.active else { return }
                let batch: ReceivedDatagrams
                do {
                    batch = try socket.receive()
                } catch {
                    fail(registration, error)
                    return
                }
                if let code = socket.takeUnreachableError() {
                    registration.handler.unreachable(socket, errno: code)
                    guard registration.active else { return }
                }
                if batch.isEmpty { break }
                registration.handler.receive(batch, on: socket)
                if batch.messageCount < socket.options.receiveBatchSize { break }
            }
        }
        if mask & EPOLLOUT.rawValue != 0 && registration.active && socket.waitingForWritable {
            do {
                let drained = try socket.flush()
                reportUnreachable(registration)
                if drained && registration.active {
                    setWritableInterest(registration, false)
                    if registration.active { registration.handler.writable(socket) }
                }
            } catch {
                fail(registration, error)
            }
        }
    }

    private func reportUnreachable(_ registration: SocketRegistration) {
        guard registration.active, let code = registration.socket.takeUnreachableError() else { return }
        registration.handler.unreachable(registration.socket, errno: code)
    }

    private func runDueTimers() {
        guard !timers.items.isEmpty else { return }
        let now = MonotonicClock.now()
        let limit = timers.currentSequence
        while let timer = timers.popDue(now: now, sequenceLimit: limit) {
            timer.handler()
        }
    }

    /// True when operations wait in the inbox (posted since the last drain).
    var hasQueuedOperations: Bool { inbox.withLock { !$0.operations.isEmpty } }

    func drainOperations() {
        inbox.withLock { box in swap(&box.operations, &running) }
        for op in running { op() }
        running.removeAll(keepingCapacity: true)
    }

    func flushPending() {
        var i = 0
        while i < flushList.count {
            let socket = flushList[i]
            i += 1
            socket.flushScheduled = false
            guard !socket.waitingForWritable, !socket.isClosed,
                  let registration = registry.withLock({ $0[ObjectIdentifier(socket)] }) else { continue }
            do {
                let drained = try socket.flush()
                reportUnreachable(registration)
                if !drained && registration.active { setWritableInterest(registration, true) }
            } catch {
                fail(registration, error)
            }
        }
        flushList.removeAll(keepingCapacity: true)
    }

    func shutDown() {
        // No new operations; run what was posted before the stop so no caller waits forever.
        inbox.withLock { $0.accepting = false }
        drainOperations()
        let all = registry.withLock { map -> [SocketRegistration] in
            let values = Array(map.values)
            map.removeAll()
            return values
        }
        for registration in all {
            registration.active = false
            let socket = registration.socket
            if socket.fileDescriptor >= 0 { _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, socket.fileDescriptor, nil) }
            socket.discardQueuedSends()
            socket.close()
            socket.worker = nil
        }
        timers.removeAll()
        flushList.removeAll()
        retired.removeAll()
    }
}
