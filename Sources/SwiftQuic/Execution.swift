// Application-driven execution (MsQuic preview API): ExecutionCreate / ExecutionDelete /
// ExecutionPoll. MsQuic documents these pages only as "TODO" (docs/api/ExecutionCreate.md,
// ExecutionDelete.md, ExecutionPoll.md); the rules below come from its source (src/core/
// library.c, src/platform/platform_worker.c, src/tools/execution/) and from MsQuic 2.6.0
// observed on Linux.
//
// What the application does (MsQuic's execution sample): it makes an epoll descriptor, hands
// it in QUIC_EXECUTION_CONFIG.EventQ, and loops: ExecutionPoll, epoll_wait for the time it
// returned, and for each event it calls ((QUIC_SQE*)event.data.ptr)->Completion(&event).
//
// What we put in the application's epoll: one entry per execution, the execution's worker's
// own epoll descriptor (level-triggered EPOLLIN; Linux nests epoll descriptors), which covers
// the worker's sockets and its wake eventfd. Its data.ptr is a QUIC_SQE whose Completion does
// nothing: the work happens in the next ExecutionPoll, which runs one worker round on the
// calling thread (see QuicPlatform/AppDrivenWorker.swift). MsQuic instead adds each of its
// eventfds and sockets and does the receive inside Completion; an application that follows
// the loop above cannot tell the difference.
//
// Rules (library.c, MsQuicExecutionCreate/Delete/Poll):
// - ExecutionCreate is refused with INVALID_STATE once the library is initialised, i.e. after
//   the first RegistrationOpen (MsQuicLib.LazyInitComplete); a second ExecutionCreate before
//   that replaces the first set (the earlier handles become invalid).
// - The executions then replace the worker threads: connections and listeners run on them,
//   one partition per execution (ConnectionOpenInPartition accepts 0..<Count).
// - ExecutionDelete deletes the whole set whatever Count and the array say (MsQuic ignores
//   both); MsQuicClose works after it.
// - ExecutionPoll returns 0 (work ready now), UINT32_MAX (no timer) or the milliseconds to the
//   next timer.
// - An EventQ that is not an epoll descriptor: MsQuic fails to add its entries and answers
//   QUIC_STATUS_OUT_OF_MEMORY (observed); so do we.
// Where MsQuic does not check (it asserts in debug builds and crashes or misbehaves in
// release), we answer INVALID_PARAMETER: Count 0 or above UINT16_MAX, NULL Configs or
// Executions, a NULL EventQ (MsQuic then makes a private queue nobody waits on, so no datagram
// is ever received). Flags, PollingIdleTimeoutUs and IdealProcessor are accepted and unused,
// as in MsQuic.
//
// Waiting calls (ConnectionClose, StreamClose, ListenerStop, GetParam, ...) made outside a poll
// run inline on the calling thread (MsQuic with custom executions does this for its blocking
// close); RegistrationClose, which waits until the application has closed the registration's
// connections, runs the executions' rounds itself while it waits (those connections' last
// callbacks, where applications close them, need a poll).

import CMsQuic
import Glibc
import QuicPlatform
import Synchronization

/// One execution context: an app-driven worker and the application's epoll descriptor it is
/// registered with.
///
/// Sendable (unchecked): `let`s only; the worker is itself Sendable.
final class Execution: @unchecked Sendable {
    let worker: Worker
    /// The application's epoll descriptor (QUIC_EXECUTION_CONFIG.EventQ, read at creation).
    let eventQueue: Int32

    init(worker: Worker, eventQueue: Int32) {
        self.worker = worker
        self.eventQueue = eventQueue
    }

    /// The QUIC_EXECUTION* handed to the application.
    var handle: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }

    /// Adds the worker's descriptor to the application's epoll. False when the kernel refuses
    /// (not an epoll descriptor, closed, ...).
    func attach() -> Bool {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.ptr = UnsafeMutableRawPointer(ExecutionSubmission.shared)
        return epoll_ctl(eventQueue, EPOLL_CTL_ADD, worker.pollDescriptor, &event) == 0
    }

    /// Takes the worker's descriptor out of the application's epoll (an application that
    /// already closed its descriptor makes this fail harmlessly).
    func detach() {
        _ = epoll_ctl(eventQueue, EPOLL_CTL_DEL, worker.pollDescriptor, nil)
    }
}

/// The QUIC_SQE behind every entry we add to an application's epoll. One for the whole process,
/// never freed: an application may still hold an event naming it after ExecutionDelete (an
/// earlier event of the same epoll_wait batch deleted the execution) and call its Completion.
enum ExecutionSubmission {
    /// nonisolated(unsafe): written once by the lazy initialiser (thread-safe in Swift), never
    /// written again; the kernel and the application only read it.
    nonisolated(unsafe) static let shared: UnsafeMutablePointer<QUIC_SQE> = {
        let sqe = UnsafeMutablePointer<QUIC_SQE>.allocate(capacity: 1)
        sqe.initialize(to: QUIC_SQE())
        sqe.pointee.fd = -1
        sqe.pointee.Completion = { _ in
            // Nothing to do here: the application calls ExecutionPoll next, and that round
            // reads the sockets and the wake eventfd.
        }
        return sqe
    }()
}

/// The executions of the open library.
enum Executions {
    private static let current = Mutex<[Execution]>([])

    /// The app-driven workers, in execution order; nil when no execution exists.
    static var workers: [Worker]? {
        current.withLock { list in list.isEmpty ? nil : list.map(\.worker) }
    }

    /// The execution an application handle names, if it is one of ours. Never reads through a
    /// pointer that is not in the list.
    static func lookup(_ handle: OpaquePointer?) -> Execution? {
        guard let handle else { return nil }
        let key = UnsafeMutableRawPointer(handle)
        return current.withLock { list in
            list.first { Unmanaged.passUnretained($0).toOpaque() == key }
        }
    }

    /// Installs `executions` in place of the current set, returning the set replaced.
    static func replace(with executions: [Execution]) -> [Execution] {
        current.withLock { list in
            let old = list
            list = executions
            return old
        }
    }

    /// Forgets every execution: each leaves the application's epoll, and its worker stops
    /// unless the runtime's pool still runs objects on it (that pool stops at MsQuicClose).
    static func deleteAll() {
        retire(replace(with: []))
    }

    static func retire(_ executions: [Execution]) {
        for execution in executions {
            execution.detach()
            if !Runtime.uses(execution.worker) { try? execution.worker.stop() }
        }
    }
}

extension Api {
    /// QUIC_EXECUTION_CREATE_FN.
    static func executionCreate(_ flags: UInt32, _ pollingIdleTimeoutUs: UInt32, _ count: UInt32,
                                _ configs: UnsafeRawPointer?, _ executions: UnsafeMutableRawPointer?) -> QuicStatus {
        _ = (flags, pollingIdleTimeoutUs)           // unused, as in MsQuic
        // Application-driven execution must be chosen before the library starts running. MsQuic
        // checks this first (and nothing else), so it answers whatever the arguments are.
        if Library.state.withLock({ $0.lazyInitComplete }) { return Status.invalidState }
        guard count > 0, count <= UInt32(UInt16.max), let configs, let executions else {
            return Status.invalidParameter
        }

        let stride = MemoryLayout<QUIC_EXECUTION_CONFIG>.stride
        guard let eventQOffset = MemoryLayout<QUIC_EXECUTION_CONFIG>.offset(of: \.EventQ) else {
            return Status.internalError
        }
        var queues: [Int32] = []
        for i in 0..<Int(count) {
            guard let eventQ = configs.load(fromByteOffset: i * stride + eventQOffset,
                                            as: UnsafePointer<QUIC_EVENTQ>?.self) else {
                return Status.invalidParameter
            }
            queues.append(eventQ.pointee)
        }

        var made: [Execution] = []
        for (i, queue) in queues.enumerated() {
            let worker: Worker
            do { worker = try Worker(index: i, appDriven: true) } catch {
                Executions.retire(made)
                return Status.outOfMemory
            }
            let execution = Execution(worker: worker, eventQueue: queue)
            made.append(execution)
            guard execution.attach() else {
                Executions.retire(made)
                return Status.outOfMemory
            }
        }
        // Checked again under the lock RegistrationOpen takes: a registration opened since the
        // first check wins.
        let replaced = Library.state.withLock { s -> [Execution]? in
            s.lazyInitComplete ? nil : Executions.replace(with: made)
        }
        guard let replaced else {
            Executions.retire(made)
            return Status.invalidState
        }
        Executions.retire(replaced)
        let out = executions.assumingMemoryBound(to: OpaquePointer?.self)
        for (i, execution) in made.enumerated() { out[i] = execution.handle }
        return Status.success
    }

    /// QUIC_EXECUTION_DELETE_FN: deletes every execution (MsQuic ignores both arguments).
    static func executionDelete(_ count: UInt32, _ executions: UnsafeMutableRawPointer?) {
        _ = (count, executions)
        Executions.deleteAll()
    }

    /// QUIC_EXECUTION_POLL_FN. A pointer that is not a live execution answers UINT32_MAX
    /// (nothing to do) rather than being read.
    static func executionPoll(_ execution: OpaquePointer?) -> UInt32 {
        guard let execution = Executions.lookup(execution) else { return UInt32.max }
        return execution.worker.pollAppDriven()
    }
}
