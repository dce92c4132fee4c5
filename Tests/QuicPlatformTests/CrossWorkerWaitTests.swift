import Glibc
import Synchronization
import XCTest
@testable import QuicPlatform

/// A worker's callback waiting for another worker (MsQuic's blocking calls from any thread
/// but the owner): it waits and gets its result; two workers waiting on each other at the
/// same moment do not hang — at least one is refused with `.wouldDeadlock`.
final class CrossWorkerWaitTests: XCTestCase {
    func testWaitsForAnotherWorker() throws {
        let a = try Worker(index: 0), b = try Worker(index: 1)
        defer { try? a.stop(); try? b.stop() }
        let result = Recorder<String>()
        _ = a.post {
            let ranOn = Mutex<Bool>(false)
            do {
                try b.runAndWaitFromWorker { ranOn.withLock { $0 = b.isCurrent } }
                result.append(ranOn.withLock { $0 } ? "ran on b" : "ran elsewhere")
            } catch {
                result.append("refused: \(error)")
            }
        }
        XCTAssertEqual(result.wait(for: 1), ["ran on b"])
    }

    func testMutualWaitIsRefusedNotHung() throws {
        let a = try Worker(index: 0), b = try Worker(index: 1)
        defer { try? a.stop(); try? b.stop() }
        for _ in 0..<200 {
            let outcomes = Recorder<Bool>()       // true: waited and ran; false: refused
            let ready = Atomic<Int>(0)
            func attempt(from me: Worker, on other: Worker) {
                _ = me.post {
                    // Both callbacks start waiting at about the same moment.
                    ready.add(1, ordering: .sequentiallyConsistent)
                    while ready.load(ordering: .sequentiallyConsistent) < 2 {}
                    do {
                        try other.runAndWaitFromWorker { usleep(200) }
                        outcomes.append(true)
                    } catch {
                        outcomes.append(false)
                    }
                }
            }
            attempt(from: a, on: b)
            attempt(from: b, on: a)
            let got = outcomes.wait(for: 2, seconds: 10)
            XCTAssertEqual(got.count, 2, "both calls returned (no deadlock)")
            if got.count < 2 { return }
        }
    }

    func testRefusedOnTheSameWorkerAndOffWorkers() throws {
        let a = try Worker(index: 0)
        defer { try? a.stop() }
        XCTAssertThrowsError(try a.runAndWaitFromWorker {}, "not called from a worker")
        let result = Recorder<Bool>()
        _ = a.post {
            do { try a.runAndWaitFromWorker {}; result.append(true) } catch { result.append(false) }
        }
        XCTAssertEqual(result.wait(for: 1), [false], "a worker never waits for itself")
    }
}
