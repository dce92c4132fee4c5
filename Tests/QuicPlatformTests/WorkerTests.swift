import Foundation
import Glibc
import Synchronization
import XCTest
import QuicCore
@testable import QuicPlatform

/// Collects values from worker callbacks; read by the test thread.
final class Recorder<T: Sendable>: @unchecked Sendable {
    private let items = Mutex<[T]>([])
    func append(_ value: T) { items.withLock { $0.append(value) } }
    var values: [T] { items.withLock { $0 } }
    /// Waits (bounded) until at least `count` values are recorded.
    func wait(for count: Int, seconds: Double = 5) -> [T] {
        let deadline = MonotonicClock.now() + UInt64(seconds * 1_000_000)
        while values.count < count && MonotonicClock.now() < deadline { usleep(1000) }
        return values
    }
}

/// Echoes every datagram back to its sender from the address it arrived on.
final class EchoHandler: UDPSocketHandler, @unchecked Sendable {
    let seen = Recorder<Int>()
    let onWorker = Recorder<Bool>()
    func receive(_ datagrams: ReceivedDatagrams, on socket: UDPSocket) {
        onWorker.append(socket.worker?.isCurrent == true)
        for d in datagrams {
            seen.append(d.payload.count)
            socket.send(d.payload, to: d.remote, from: d.local)
        }
    }
}

final class CountingHandler: UDPSocketHandler, @unchecked Sendable {
    let payloads = Recorder<[UInt8]>()
    let failures = Recorder<PlatformError>()
    func receive(_ datagrams: ReceivedDatagrams, on socket: UDPSocket) {
        for d in datagrams { payloads.append(Array(d.payload)) }
    }
    func failed(_ socket: UDPSocket, error: PlatformError) { failures.append(error) }
}

final class WorkerTests: XCTestCase {
    func testTimerHeapOrderAndCancel() {
        var heap = TimerHeap()
        let fired = Recorder<Int>()
        let timers = (0..<200).map { i in WorkerTimer { fired.append(i) } }
        // Deadlines in a scrambled order; equal deadlines keep scheduling order.
        for (i, t) in timers.enumerated() { heap.schedule(t, at: UInt64((i * 37) % 50)) }
        for i in stride(from: 0, to: 200, by: 3) { heap.cancel(timers[i]) }
        heap.schedule(timers[1], at: 1000)  // reschedule to the end
        XCTAssertFalse(timers[0].isScheduled)
        XCTAssertTrue(timers[1].isScheduled)
        var order: [Int] = []
        while let t = heap.popDue(now: .max, sequenceLimit: .max) {
            t.handler()
            order.append(timers.firstIndex { $0 === t }!)
        }
        let expected = (0..<200).filter { $0 % 3 != 0 && $0 != 1 }
            .sorted { a, b in
                let da = (a * 37) % 50, db = (b * 37) % 50
                return da != db ? da < db : a < b
            } + [1]
        XCTAssertEqual(order, expected)
        XCTAssertEqual(fired.values, expected)
        XCTAssertEqual(heap.count, 0)
        XCTAssertNil(heap.popDue(now: .max, sequenceLimit: .max))
    }

    func testTimersFireInOrderAndCancelWorks() throws {
        let worker = try Worker()
        defer { try? worker.stop() }
        let fired = Recorder<String>()
        let holder = Recorder<WorkerTimer>()
        worker.post {
            let now = MonotonicClock.instant
            let a = WorkerTimer { fired.append("a") }
            let b = WorkerTimer { fired.append("b") }
            let c = WorkerTimer { fired.append("c") }
            let cancelled = WorkerTimer { fired.append("cancelled") }
            let moved = WorkerTimer { fired.append("moved") }
            worker.schedule(c, at: now + .milliseconds(30))
            worker.schedule(a, at: now + .milliseconds(10))
            worker.schedule(b, at: now + .milliseconds(20))
            worker.schedule(cancelled, at: now + .milliseconds(15))
            worker.schedule(moved, at: now + .milliseconds(5))
            worker.cancel(cancelled)
            worker.schedule(moved, at: now + .milliseconds(40))  // reschedule later
            for t in [a, b, c, cancelled, moved] { holder.append(t) }
        }
        let order = fired.wait(for: 4)
        usleep(20_000)
        XCTAssertEqual(fired.values, ["a", "b", "c", "moved"])
        XCTAssertEqual(order.prefix(4), ["a", "b", "c", "moved"])
        // Off the worker, timer calls are refused.
        XCTAssertFalse(worker.schedule(WorkerTimer {}, at: 0))
        XCTAssertFalse(worker.cancel(holder.values[0]))
    }

    func testTimerDoesNotFireEarly() throws {
        let worker = try Worker()
        defer { try? worker.stop() }
        let lateness = Recorder<Int64>()
        worker.post {
            let deadline = MonotonicClock.instant + .milliseconds(25)
            let t = WorkerTimer { lateness.append(Int64(MonotonicClock.now()) - Int64(deadline.microseconds)) }
            worker.schedule(t, at: deadline)
        }
        let got = lateness.wait(for: 1)
        XCTAssertEqual(got.count, 1)
        XCTAssertGreaterThanOrEqual(got.first ?? -1, 0)
    }

    func testOperationsFromManyThreadsRunOnWorkerInOrder() throws {
        let worker = try Worker()
        let log = Recorder<(thread: Int, seq: Int, onWorker: Bool)>()
        let threads = 8, perThread = 2000
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for s in 0..<perThread {
                XCTAssertTrue(worker.post { log.append((t, s, worker.isCurrent && Worker.current === worker)) })
            }
        }
        let all = log.wait(for: threads * perThread)
        try worker.stop()
        XCTAssertEqual(all.count, threads * perThread)
        XCTAssertTrue(all.allSatisfy(\.onWorker))
        for t in 0..<threads {
            XCTAssertEqual(all.filter { $0.thread == t }.map(\.seq), Array(0..<perThread), "thread \(t)")
        }
        XCTAssertNil(Worker.current)
    }

    func testStopFromWorkerIsRefusedAndStopJoins() throws {
        let pool = try WorkerPool(workerCount: 2)
        XCTAssertEqual(pool.workers.count, 2)
        let results = Recorder<String>()
        pool.workers[0].post {
            do { try pool.stop(); results.append("stopped?!") } catch { results.append("pool: \(error)") }
            do { try pool.workers[0].stop(); results.append("stopped?!") } catch { results.append("worker: \(error)") }
            XCTAssertTrue(pool.isCallerAWorker)
        }
        let got = results.wait(for: 2)
        XCTAssertEqual(got, ["pool: \(PlatformError.wouldDeadlock)", "worker: \(PlatformError.wouldDeadlock)"])
        XCTAssertFalse(pool.isCallerAWorker)

        // Queued operations still run before the stop completes; later posts are refused.
        let ran = Recorder<Int>()
        for i in 0..<100 { pool.workers[1].post { usleep(100); ran.append(i) } }
        try pool.stop()
        XCTAssertEqual(ran.values, Array(0..<100))
        XCTAssertTrue(pool.workers.allSatisfy(\.isStopped))
        XCTAssertFalse(pool.workers[0].post {})
        try pool.stop()  // again: fine
    }

    func testStopClosesRegisteredSocketsAndReleasesWorker() throws {
        weak var weakWorker: Worker?
        weak var weakHandler: CountingHandler?
        let socket = try UDPSocket(bindingTo: .loopbackIPv4())
        do {
            let worker = try Worker()
            let handler = CountingHandler()
            weakWorker = worker
            weakHandler = handler
            try worker.add(socket, handler: handler)
            XCTAssertThrowsError(try worker.add(socket, handler: handler))
            try worker.stop()
            XCTAssertThrowsError(try worker.add(try UDPSocket(bindingTo: .loopbackIPv4()), handler: handler)) {
                XCTAssertEqual($0 as? PlatformError, .stopped)
            }
        }
        XCTAssertTrue(socket.isClosed)
        XCTAssertNil(weakWorker, "worker leaked after stop")
        XCTAssertNil(weakHandler, "handler leaked after stop")
    }

    func testEchoThroughWorker() throws {
        let worker = try Worker()
        defer { try? worker.stop() }
        let server = try UDPSocket(bindingTo: .loopbackIPv4())
        let echo = EchoHandler()
        try worker.add(server, handler: echo)
        let client = try UDPSocket(bindingTo: .loopbackIPv4())
        let count = 200
        var sent = 0
        var got: [Copied] = []
        let deadline = MonotonicClock.now() + 5_000_000
        while got.count < count && MonotonicClock.now() < deadline {
            while sent < count, client.pendingSendCount < 16 {
                XCTAssertTrue(pattern(sent, 100 + sent).withUnsafeBytes { client.send($0, to: server.localAddress) })
                sent += 1
            }
            try flushAll(client)
            got += try receive(client, count: 1, seconds: 0.05)
        }
        XCTAssertEqual(Set(got.map(\.bytes)), Set((0..<count).map { pattern($0, 100 + $0) }))
        XCTAssertTrue(got.allSatisfy { $0.remote == server.localAddress })
        XCTAssertTrue(echo.onWorker.values.allSatisfy { $0 })
        // Removal from another thread is queued to the worker.
        let removed = Recorder<Bool>()
        worker.remove(server) { removed.append(true) }
        XCTAssertEqual(removed.wait(for: 1), [true])
        XCTAssertTrue(server.isClosed)
    }

    func testListenerGroupAcrossWorkers() throws {
        let pool = try WorkerPool(workerCount: 2)
        defer { try? pool.stop() }
        var handlers: [CountingHandler] = []
        let sockets = try pool.bindListener(address: .loopbackIPv4()) { _, _ in
            let h = CountingHandler()
            handlers.append(h)
            return h
        }
        XCTAssertEqual(sockets.count, 2)
        let port = sockets[0].localAddress.port
        // Many client ports so SO_REUSEPORT's flow hash has something to spread.
        let clients = try (0..<16).map { _ in try UDPSocket(bindingTo: .loopbackIPv4()) }
        for (i, c) in clients.enumerated() {
            for j in 0..<4 { XCTAssertTrue(pattern(i * 4 + j, 50).withUnsafeBytes { c.send($0, to: .loopbackIPv4(port: port)) }) }
            try flushAll(c)
        }
        let deadline = MonotonicClock.now() + 5_000_000
        while handlers.map(\.payloads.values.count).reduce(0, +) < 64 && MonotonicClock.now() < deadline { usleep(1000) }
        let all = handlers.flatMap(\.payloads.values)
        XCTAssertEqual(Set(all), Set((0..<64).map { pattern($0, 50) }))
        XCTAssertEqual(all.count, 64)
        print("listener datagrams per worker: \(handlers.map(\.payloads.values.count))")
    }

    func testSendsQueuedOnWorkerAreFlushedInOrder() throws {
        // 200 datagrams queued by one operation (more than one sendmmsg batch, through a small
        // kernel send buffer) all leave in order after the round. (EAGAIN and the EPOLLOUT path
        // are covered in FaultInjectionTests: loopback UDP hardly ever blocks.)
        let worker = try Worker()
        defer { try? worker.stop() }
        var options = UDPSocketOptions()
        options.kernelSendBufferSize = 4096
        options.sendBufferCount = 256
        let sender = try UDPSocket(bindingTo: .loopbackIPv4(), options: options)
        final class Writable: UDPSocketHandler, @unchecked Sendable {
            let events = Recorder<Int>()
            func receive(_ datagrams: ReceivedDatagrams, on socket: UDPSocket) {}
            func writable(_ socket: UDPSocket) { events.append(socket.pendingSendCount) }
        }
        let handler = Writable()
        try worker.add(sender, handler: handler)
        var rcv = UDPSocketOptions()
        rcv.kernelReceiveBufferSize = 1 << 20
        let receiver = try UDPSocket(bindingTo: .loopbackIPv4(), options: rcv)
        let total = 200
        worker.post {
            for i in 0..<total {
                _ = pattern(i, 1200).withUnsafeBytes { sender.send($0, to: receiver.localAddress) }
            }
        }
        let got = try receive(receiver, count: total, seconds: 5)
        XCTAssertEqual(got.map(\.bytes), (0..<total).map { pattern($0, 1200) })
        // The socket belongs to the worker: read its counters there.
        let stats = Recorder<UDPSocketStatistics>()
        try worker.runAndWait { stats.append(sender.statistics) }
        XCTAssertEqual(stats.values.first?.sentDatagrams, total)
    }
}

final class RunAndWaitTests: XCTestCase {
    func testRunAndWait() throws {
        let pool = try WorkerPool(workerCount: 2)
        let log = Recorder<String>()
        try pool.workers[0].runAndWait { log.append("ran on worker: \(pool.workers[0].isCurrent)") }
        XCTAssertEqual(log.values, ["ran on worker: true"])  // already done when it returns
        pool.workers[0].post {
            // Inline on its own worker; refused towards another worker.
            do { try pool.workers[0].runAndWait { log.append("inline") } } catch { log.append("\(error)") }
            do { try pool.workers[1].runAndWait { log.append("never") } } catch { log.append("\(error)") }
        }
        try pool.workers[0].runAndWait {}
        XCTAssertEqual(log.values, ["ran on worker: true", "inline", "\(PlatformError.wouldDeadlock)"])
        try pool.stop()
        XCTAssertThrowsError(try pool.workers[0].runAndWait {}) { XCTAssertEqual($0 as? PlatformError, .stopped) }
    }
}

final class WorkerStressTests: XCTestCase {
    /// Stopping a pool while clients keep sending to its listener and app threads keep posting:
    /// no crash, the stop returns, every socket ends closed.
    func testStopUnderTraffic() throws {
        let pool = try WorkerPool(workerCount: 2)
        var handlers: [EchoHandler] = []
        let sockets = try pool.bindListener(address: .loopbackIPv4()) { _, _ in
            let h = EchoHandler()
            handlers.append(h)
            return h
        }
        let port = sockets[0].localAddress.port
        let running = Atomic<Bool>(true)
        let posted = Atomic<Int>(0)
        let group = DispatchGroup()
        for t in 0..<3 {
            DispatchQueue.global().async(group: group) {
                let client = try? UDPSocket(bindingTo: .loopbackIPv4())
                var i = 0
                while running.load(ordering: .relaxed) {
                    if let client {
                        _ = pattern(i, 200).withUnsafeBytes { client.send($0, to: .loopbackIPv4(port: port)) }
                        _ = try? client.flush()
                        _ = try? client.receive()
                    }
                    if pool.workers[(t + i) % 2].post({ _ = posted.wrappingAdd(1, ordering: .relaxed) }) == false { break }
                    i += 1
                }
            }
        }
        usleep(200_000)
        try pool.stop()
        running.store(false, ordering: .relaxed)
        XCTAssertEqual(group.wait(timeout: .now() + 5), .success)
        XCTAssertTrue(sockets.allSatisfy(\.isClosed))
        XCTAssertGreaterThan(posted.load(ordering: .relaxed), 0)
        XCTAssertGreaterThan(handlers.map(\.seen.values.count).reduce(0, +), 0)
    }
}
