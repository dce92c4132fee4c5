// ExecutionCreate / ExecutionDelete / ExecutionPoll under misuse and races: polls racing a
// delete, ExecutionCreate racing RegistrationOpen, MsQuicClose without ExecutionDelete. None
// may crash or hang; the end states are MsQuic's (CTests/execution.c drives real traffic).

import CMsQuic
import Foundation
import Glibc
import XCTest

final class ExecutionTests: XCTestCase {
    /// Entries in an epoll descriptor ("tfd:" lines of /proc/self/fdinfo).
    private func entries(_ epoll: Int32) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/fdinfo/\(epoll)", encoding: .utf8) else { return -1 }
        return text.split(separator: "\n").filter { $0.hasPrefix("tfd:") }.count
    }

    private func create(_ quic: Quic, _ epoll: UnsafeMutablePointer<Int32>, count: Int) -> (UInt32, [OpaquePointer?]) {
        var configs = (0..<count).map { QUIC_EXECUTION_CONFIG(IdealProcessor: UInt32($0), EventQ: epoll) }
        var handles = [OpaquePointer?](repeating: nil, count: count)
        let status = quic.api.ExecutionCreate!(QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE, 0, UInt32(count), &configs, &handles)
        return (status, handles)
    }

    func testPollsRacingDeleteAndRecreate() {
        let quic = Quic()
        defer { quic.close() }
        let epoll = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        defer { close(epoll.pointee); epoll.deallocate() }
        epoll.pointee = epoll_create1(Int32(EPOLL_CLOEXEC))
        let (status, first) = create(quic, epoll, count: 2)
        XCTAssertEqual(status, S.success)
        XCTAssertEqual(entries(epoll.pointee), 2)

        let tableAddress = UInt(bitPattern: quic.table)
        let stop = ManagedAtomicFlag()
        let handles = first.map { UInt(bitPattern: $0) }
        var threads: [Thread] = []
        let finished = (0..<4).map { _ in ManagedAtomicFlag() }
        for i in 0..<4 {
            let done = finished[i]
            let t = Thread {
                defer { done.set() }
                let table = UnsafePointer<QUIC_API_TABLE>(bitPattern: tableAddress)!
                while !stop.isSet {
                    let wait = table.pointee.ExecutionPoll!(OpaquePointer(bitPattern: handles[i % 2]))
                    precondition(wait == 0 || wait == UInt32.max || wait < 120_000)
                }
            }
            threads.append(t)
            t.start()
        }
        usleep(50_000)
        quic.api.ExecutionDelete!(2, nil)                   // MsQuic ignores the arguments
        XCTAssertEqual(entries(epoll.pointee), 0)
        let (again, second) = create(quic, epoll, count: 1)
        XCTAssertEqual(again, S.success)
        XCTAssertEqual(entries(epoll.pointee), 1)
        usleep(50_000)
        stop.set()
        // Joined through the flags' lock (a happens-before ThreadSanitizer sees).
        for flag in finished { while !flag.isSet { usleep(1000) } }
        _ = threads
        // The deleted handles are no executions any more.
        XCTAssertEqual(quic.api.ExecutionPoll!(first[0]), UInt32.max)
        XCTAssertEqual(quic.api.ExecutionPoll!(second[0]), UInt32.max)     // idle
        quic.api.ExecutionDelete!(0, nil)
        XCTAssertEqual(entries(epoll.pointee), 0)
    }

    func testCreateRacingRegistrationOpen() {
        for _ in 0..<20 {
            let quic = Quic()
            let epoll = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
            epoll.pointee = epoll_create1(Int32(EPOLL_CLOEXEC))
            let tableAddress = UInt(bitPattern: quic.table)
            let registration = UnsafeMutablePointer<HQUIC?>.allocate(capacity: 1)
            registration.initialize(to: nil)
            let registrationAddress = UInt(bitPattern: registration)
            let opened = ManagedAtomicFlag()
            let opener = Thread {
                defer { opened.set() }
                let table = UnsafePointer<QUIC_API_TABLE>(bitPattern: tableAddress)!
                _ = table.pointee.RegistrationOpen!(nil, UnsafeMutablePointer<HQUIC?>(bitPattern: registrationAddress))
            }
            opener.start()
            let (status, _) = create(quic, epoll, count: 2)
            while !opened.isSet { usleep(100) }
            XCTAssertTrue(status == S.success || status == S.invalidState, "status \(status)")
            XCTAssertEqual(entries(epoll.pointee), status == S.success ? 2 : 0)
            // With executions the partitions are the executions.
            var connection: HQUIC?
            let handler: QUIC_CONNECTION_CALLBACK_HANDLER = { _, _, _ in 0 }
            let partition: UInt16 = status == S.success ? 1 : 0
            XCTAssertEqual(quic.api.ConnectionOpenInPartition!(registration.pointee, partition, handler, nil, &connection),
                           S.success)
            if status == S.success {
                XCTAssertEqual(quic.api.ConnectionOpenInPartition!(registration.pointee, 2, handler, nil, &connection),
                               S.invalidParameter)
            }
            quic.api.ConnectionClose!(connection)
            quic.api.RegistrationClose!(registration.pointee)
            quic.close()                                      // without ExecutionDelete
            XCTAssertEqual(entries(epoll.pointee), 0)
            close(epoll.pointee)
            epoll.deallocate()
            registration.deallocate()
        }
    }
}

/// A flag one thread sets and others read.
final class ManagedAtomicFlag: @unchecked Sendable {
    private var value = false
    private let lock = NSLock()
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
}
