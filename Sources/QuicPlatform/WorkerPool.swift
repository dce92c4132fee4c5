// A fixed set of workers (one per core by default), MsQuic's execution model: each
// connection lives on one worker; listeners get one SO_REUSEPORT socket per worker.
import Glibc

public final class WorkerPool: Sendable {
    public let workers: [Worker]

    /// Online processors (at least 1).
    public static var defaultWorkerCount: Int {
        max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }

    /// Starts `count` workers. If one cannot start, those already started are stopped.
    public init(workerCount count: Int = WorkerPool.defaultWorkerCount) throws(PlatformError) {
        guard count > 0 else { throw .invalidArgument("worker count must be positive") }
        var started: [Worker] = []
        do throws(PlatformError) {
            for i in 0..<count { started.append(try Worker(index: i)) }
        } catch {
            for w in started { try? w.stop() }
            throw error
        }
        workers = started
    }

    /// A pool made of workers that already exist (the application's execution contexts).
    public init(adopting existing: [Worker]) throws(PlatformError) {
        guard !existing.isEmpty else { throw .invalidArgument("worker count must be positive") }
        workers = existing
    }

    /// True when the pool's workers are app-driven (run by ExecutionPoll).
    public var isAppDriven: Bool { workers.first?.isAppDriven ?? false }

    /// The worker for a key (e.g. a connection's hash), spreading keys evenly.
    public func worker(for key: Int) -> Worker {
        workers[Int(UInt(bitPattern: key) % UInt(workers.count))]
    }

    /// True when the calling thread is one of this pool's workers.
    public var isCallerAWorker: Bool {
        guard let current = Worker.current else { return false }
        return workers.contains { $0 === current }
    }

    /// Binds one SO_REUSEPORT socket per worker on `address` (port 0: one ephemeral port for
    /// all) and registers each with its worker, using `makeHandler(worker, socket)` for its
    /// handler. `makeHandler` runs on the calling thread before that socket is registered, so
    /// the handler can be set up completely (e.g. keep the socket) before the worker can call
    /// it; after registration only the worker may touch the handler's state.
    /// On failure every socket made so far is closed.
    public func bindListener(address: UDPAddress, options: UDPSocketOptions = UDPSocketOptions(),
                             makeHandler: (Worker, UDPSocket) -> any UDPSocketHandler) throws(PlatformError) -> [UDPSocket] {
        let sockets = try UDPSocket.bindReusePortGroup(count: workers.count, address: address, options: options)
        for (i, socket) in sockets.enumerated() {
            do throws(PlatformError) {
                try workers[i].add(socket, handler: makeHandler(workers[i], socket))
            } catch {
                for (j, s) in sockets.enumerated() {
                    if j < i { workers[j].remove(s) } else { s.close() }
                }
                throw error
            }
        }
        return sockets
    }

    /// Stops every worker and joins its thread. Refused with `.wouldDeadlock` from any of the
    /// pool's own workers (a callback cannot wait for its own thread to end).
    public func stop() throws(PlatformError) {
        guard !isCallerAWorker else { throw .wouldDeadlock }
        var firstError: PlatformError?
        for w in workers {
            do throws(PlatformError) { try w.stop() } catch { firstError = firstError ?? error }
        }
        if let firstError { throw firstError }
    }
}
