import Foundation
import Glibc
import XCTest
import QuicCore
@testable import QuicPlatform

/// App-driven workers (MsQuic's ExecutionPoll): no thread, rounds run by the caller.
final class AppDrivenWorkerTests: XCTestCase {
    /// Waits (bounded) until the worker's descriptor is readable, as the application's epoll
    /// would report it.
    private func waitReadable(_ worker: Worker, ms: Int32 = 2000) -> Bool {
        var entry = pollfd(fd: worker.pollDescriptor, events: Int16(POLLIN), revents: 0)
        return Glibc.poll(&entry, 1, ms) == 1
    }

    func testIdlePollAnswersNoTimerAndPostedWorkRunsOnThePollingThread() throws {
        let worker = try Worker(index: 0, appDriven: true)
        defer { try? worker.stop() }
        XCTAssertTrue(worker.isAppDriven)
        XCTAssertEqual(worker.pollAppDriven(), UInt32.max)
        XCTAssertFalse(waitReadable(worker, ms: 0))

        let log = Recorder<String>()
        let poster = Thread { worker.post { log.append("current: \(worker.isCurrent)") } }
        poster.start()
        XCTAssertTrue(waitReadable(worker), "a post wakes the application's queue")
        XCTAssertTrue(log.values.isEmpty, "nothing runs before the application polls")
        _ = worker.pollAppDriven()
        XCTAssertEqual(log.values, ["current: true"])
        XCTAssertFalse(worker.isCurrent, "the worker is current only during the round")
        XCTAssertNil(Worker.current)
    }

    func testPollReportsTheNextTimerAndFiresItWhenDue() throws {
        let worker = try Worker(index: 0, appDriven: true)
        defer { try? worker.stop() }
        let fired = Recorder<Bool>()
        let timer = WorkerTimer { fired.append(true) }
        let armed = UnsafeTransfer(timer)
        try worker.runAndWait { _ = worker.schedule(armed.value, at: MonotonicClock.instant + .milliseconds(60)) }
        let wait = worker.pollAppDriven()
        XCTAssertTrue(wait >= 1 && wait <= 60, "wait \(wait) ms")
        XCTAssertTrue(fired.values.isEmpty)
        usleep(useconds_t(wait) * 1000 + 2000)
        XCTAssertEqual(worker.pollAppDriven(), UInt32.max, "no timer left")
        XCTAssertEqual(fired.values, [true])
    }

    func testRunAndWaitRunsInlineAndNestedPollIsRefused() throws {
        let worker = try Worker(index: 0, appDriven: true)
        let log = Recorder<String>()
        try worker.runAndWait {
            log.append("current: \(worker.isCurrent)")
            log.append("nested poll: \(worker.pollAppDriven())")
            do { try worker.runAndWait { log.append("nested inline") } } catch { log.append("\(error)") }
        }
        XCTAssertEqual(log.values, ["current: true", "nested poll: 0", "nested inline"])
        XCTAssertNil(Worker.current)
        try worker.stop()
        XCTAssertEqual(worker.pollAppDriven(), UInt32.max)
        XCTAssertThrowsError(try worker.runAndWait {}) { XCTAssertEqual($0 as? PlatformError, .stopped) }
    }

    func testEchoThroughAnAppDrivenWorker() throws {
        let worker = try Worker(index: 0, appDriven: true)
        defer { try? worker.stop() }
        let server = try UDPSocket(bindingTo: .loopbackIPv4())
        let echo = EchoHandler()
        try worker.add(server, handler: echo)
        let client = try UDPSocket(bindingTo: .loopbackIPv4())
        XCTAssertTrue(pattern(1, 64).withUnsafeBytes { client.send($0, to: server.localAddress) })
        try flushAll(client)
        XCTAssertTrue(waitReadable(worker), "the datagram wakes the application's queue")
        _ = worker.pollAppDriven()           // receives and echoes (the flush is in the round)
        let got = try receive(client, count: 1, seconds: 2)
        XCTAssertEqual(got.map(\.bytes), [pattern(1, 64)])
        XCTAssertEqual(echo.onWorker.values, [true])
    }

    func testPoolAdoptsAppDrivenWorkers() throws {
        let workers = try (0..<2).map { try Worker(index: $0, appDriven: true) }
        let pool = try WorkerPool(adopting: workers)
        XCTAssertTrue(pool.isAppDriven)
        XCTAssertFalse(pool.isCallerAWorker)
        try pool.stop()
        XCTAssertTrue(workers.allSatisfy { $0.pollAppDriven() == UInt32.max })
        XCTAssertThrowsError(try WorkerPool(adopting: []))
    }
}

/// Hands a worker-bound object to the operation that uses it on the worker.
private struct UnsafeTransfer<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
