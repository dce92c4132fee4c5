// What strangers can make a listener hold (HandshakeBudget.swift, Binding.swift): junk
// Initials keep nothing; incomplete ClientHellos are bounded per source address and expire;
// above the RetryMemoryLimit share new clients get a stateless Retry before any
// NEW_CONNECTION, and an honest client still connects through it; Stateless Resets are
// rate-limited. Raw datagrams go from
// sockets of this process to the listener on 127.0.0.1 only.

import CMsQuic
import Foundation
import Glibc
import QuicCore
import QuicTLS
import QuicWire
@testable import SwiftQuic
import XCTest

nonisolated(unsafe) private var admissionAPI: QUIC_API_TABLE!
nonisolated(unsafe) private var admissionServerConfiguration: HQUIC?

final class AdmissionTests: XCTestCase {
    var quic: Quic!
    var registration: HQUIC!
    var server: Recorder!

    override func setUp() {
        quic = Quic()
        admissionAPI = quic.api
        registration = quic.registration("admission")
        server = Recorder()
    }

    override func tearDown() {
        quic.api.RegistrationClose!(registration)
        quic.close()
        quic = nil
    }

    // MARK: Helpers

    private func serverConfiguration() throws -> HQUIC {
        var settings = QUIC_SETTINGS()
        settings.IsSet.IdleTimeoutMs = 1
        settings.IdleTimeoutMs = 5000
        let (status, config) = quic.openConfiguration(registration, alpns: ["adm"], settings: &settings)
        XCTAssertEqual(status, S.success)
        let cert = try Certs.path("server.crt"), key = try Certs.path("server.key")
        let loaded = cert.withCString { c in key.withCString { k -> UInt32 in
            var files = QUIC_CERTIFICATE_FILE(PrivateKeyFile: k, CertificateFile: c)
            return withUnsafeMutablePointer(to: &files) { f in
                var cred = QUIC_CREDENTIAL_CONFIG()
                cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE
                cred.CertificateFile = f
                return quic.api.ConfigurationLoadCredential!(config, &cred)
            }
        } }
        XCTAssertEqual(loaded, S.success)
        return config!
    }

    private func startListener() throws -> (HQUIC, UInt16) {
        admissionServerConfiguration = try serverConfiguration()
        var listener: HQUIC?
        XCTAssertEqual(quic.api.ListenerOpen!(registration, admissionListenerCallback, server.pointer, &listener), S.success)
        var address = QUIC_ADDR()
        address.Ipv4.sin_family = sa_family_t(AF_INET)
        address.Ipv4.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let status = withBuffers([[UInt8]("adm".utf8)]) { quic.api.ListenerStart!(listener, $0.baseAddress, 1, &address) }
        XCTAssertEqual(status, S.success)
        let (got, local) = quic.get(listener, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, as: QUIC_ADDR.self)
        XCTAssertEqual(got, S.success)
        return (listener!, UInt16(bigEndian: local?.Ipv4.sin_port ?? 0))
    }

    /// The listener's sockets (one per worker), found through the live bindings.
    private func bindings(port: UInt16) -> [Binding] {
        Binding.live.withLock { Array($0.values) }.filter { $0.listeningPort != nil && $0.localAddress?.port == port }
    }

    private func partialCount(port: UInt16) -> Int {
        bindings(port: port).reduce(0) { n, b in n + (b.worker.sync { b.partialPendingCount } ?? 0) }
    }

    /// A UDP socket on 127.0.0.`host` with an ephemeral port.
    private func udpSocket(host: UInt8 = 1) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = (UInt32(0x7f00_0000) | UInt32(host)).bigEndian
        _ = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var timeout = timeval(tv_sec: 0, tv_usec: 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    private func send(_ fd: Int32, _ bytes: [UInt8], port: UInt16) {
        var to = sockaddr_in()
        to.sin_family = sa_family_t(AF_INET)
        to.sin_port = port.bigEndian
        to.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        _ = bytes.withUnsafeBytes { b in withUnsafePointer(to: &to) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            sendto(fd, b.baseAddress, b.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } }
    }

    /// Datagrams waiting on `fd` (first bytes of each).
    private func drain(_ fd: Int32) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return out }
            out.append(Array(buffer[0..<n]))
        }
    }

    /// The first datagram of a fresh QuicCore client (a new random DCID each time). With
    /// `bulky`, the ClientHello offers so many ALPNs that it spans two datagrams: the first
    /// alone is an incomplete, decryptable first flight.
    private func clientInitial(bulky: Bool) throws -> [UInt8] {
        var alpns: [[UInt8]] = [[UInt8]("adm".utf8)]
        if bulky { for i in 0..<60 { alpns.append([UInt8]("padding-protocol-\(i)-xxxxxxxxxxxx".utf8)) } }
        var tls = TLSConfiguration(role: .client, alpnProtocols: alpns, serverName: "localhost")
        tls.skipCertificateValidation = true
        let c = try Connection(client: ConnectionConfiguration(tls: tls),
                               remote: SocketAddress(ipv4: 127, 0, 0, 1, port: 1), now: Runtime.now)
        let (_, datagram) = try XCTUnwrap(c.pollTransmit(now: Runtime.now))
        XCTAssertGreaterThanOrEqual(datagram.count, 1200)
        return datagram
    }

    // MARK: Tests

    func testJunkAndIncompleteFirstFlightsStayBoundedAndExpire() throws {
        let (listener, port) = try startListener()
        let usedBefore = HandshakeBudget.used.load(ordering: .relaxed)
        // 4,000 junk Initials (1200 bytes, random DCIDs, payload that does not decrypt) from
        // 40 ports: nothing is kept and nothing is answered.
        let junkSockets = (0..<40).map { _ in udpSocket() }
        let noise = (0..<2400).map { _ in UInt8.random(in: 0...255) }
        for i in 0..<4000 {
            let start = Int.random(in: 0..<1200)
            var junk = Array(noise[start..<(start + 1200)])
            junk.replaceSubrange(6...13, with: (0..<8).map { _ in UInt8.random(in: 0...255) })
            junk[0] = 0xc3
            junk.replaceSubrange(1...5, with: [0, 0, 0, 1, 8])       // v1, DCID length 8
            junk[14] = 8                                             // SCID length 8
            junk[23] = 0                                             // no token
            junk.replaceSubrange(24...25, with: [0x44, 0x96])       // length 1174: the rest
            send(junkSockets[i % junkSockets.count], junk, port: port)
            if i % 500 == 499 { usleep(5000) }
        }
        // Incomplete ClientHellos (decryptable, the rest never sent) from 200 ports of
        // 127.0.0.1 and 30 ports each of 127.0.0.2..6: 16 per source address are kept, over
        // all of the listener's sockets (the kernel spreads the ports over them).
        // (Made first, then sent 1 ms apart: within their 3 s lifetime, and slowly enough
        // that the socket's receive buffer does not overflow.)
        let one = (0..<200).map { _ in udpSocket() }
        var others: [Int32] = []
        for host in UInt8(2)...6 { for _ in 0..<30 { others.append(udpSocket(host: host)) } }
        let flights = try (one + others).map { _ in try clientInitial(bulky: true) }
        for (fd, flight) in zip(one + others, flights) {
            send(fd, flight, port: port)
            usleep(1000)
        }
        // Wait until the listener has taken what it will (the bound, or what the kernel let
        // through if it dropped some), well within the 3 s lifetime, then a little longer
        // for anything beyond the bound to show.
        var settled = -1, stableSince = Date()
        let readDeadline = Date().addingTimeInterval(2)
        while Date() < readDeadline {
            let n = partialCount(port: port)
            if n != settled { settled = n; stableSince = Date() }
            if n >= 16 * 6 || Date().timeIntervalSince(stableSince) > 0.5 { break }
            usleep(20_000)
        }
        usleep(200_000)
        settled = partialCount(port: port)
        XCTAssertLessThanOrEqual(settled, 16 * 6, "at most 16 for each of the 6 addresses")
        XCTAssertEqual(Binding.largestPartialPerAddress, 16, "127.0.0.1 sent 200: held at 16")
        XCTAssertEqual(server.events.filter { $0 == "NEW_CONNECTION" }.count, 0)
        XCTAssertGreaterThan(HandshakeBudget.used.load(ordering: .relaxed), usedBefore)
        for fd in junkSockets { XCTAssertTrue(drain(fd).isEmpty, "junk gets no answer") }
        // They expire (3 s after they came) through the worker's timer, with no more traffic.
        let deadline = Date().addingTimeInterval(15)
        while partialCount(port: port) > 0 && Date() < deadline { usleep(100_000) }
        XCTAssertEqual(partialCount(port: port), 0)
        XCTAssertEqual(HandshakeBudget.used.load(ordering: .relaxed), usedBefore, "the budget got its bytes back")
        for fd in junkSockets + one + others { close(fd) }
        quic.api.ListenerClose!(listener)
        quic.api.ConfigurationClose!(admissionServerConfiguration)
    }

    func testStatelessResetsToOneSourceAreRateLimited() throws {
        // RFC 9000 §10.3.3: 1,000 short-header datagrams for unknown connections from one
        // address and port get at most one Stateless Reset per 100 ms (MsQuic answered 1 of
        // 1,000; unlimited, we answered 393). The bound is counted from the time the sending
        // actually took, so a slow machine only loosens it.
        let (listener, port) = try startListener()
        let fd = udpSocket()
        let start = Date()
        for _ in 0..<1000 {
            var trigger = (0..<60).map { _ in UInt8.random(in: 0...255) }
            trigger[0] = 0x40 | (trigger[0] & 0x3f)          // short header, fixed bit
            send(fd, trigger, port: port)
        }
        let elapsed = Date().timeIntervalSince(start)
        usleep(300_000)
        let resets = drain(fd).filter { $0.count >= 21 && $0[0] & 0xc0 == 0x40 }.count
        let allowed = 1 + Int(((elapsed + 0.3) / 0.1).rounded(.up))
        XCTAssertGreaterThanOrEqual(resets, 1, "the first one is answered")
        XCTAssertLessThanOrEqual(resets, allowed, "one per 100 ms at most (sent in \(elapsed) s)")
        XCTAssertLessThan(resets, 100)
        close(fd)
        quic.api.ListenerClose!(listener)
        quic.api.ConfigurationClose!(admissionServerConfiguration)
    }

    func testOverTheRetryMemoryLimitNewClientsGetRetryAndStillConnect() throws {
        // RetryMemoryLimit 1/65535 of memory: a few handshaking connections reach it.
        XCTAssertEqual(quic.set(nil, QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT, UInt16(1)), S.success)
        defer { _ = quic.set(nil, QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT, UInt16(65)) }
        let (listener, port) = try startListener()
        // QUIC_LISTENER_EVENT_DOS_MODE_CHANGED when the Retry mode starts and ends.
        XCTAssertEqual(quic.set(listener, QUIC_PARAM_DOS_MODE_EVENTS, UInt8(1)), S.success)
        let (got, enabled) = quic.get(listener, QUIC_PARAM_DOS_MODE_EVENTS, as: UInt8.self)
        XCTAssertEqual(got, S.success)
        XCTAssertEqual(enabled, 1)
        XCTAssertFalse(server.events.contains("DOS_MODE_ON"), "not in Retry mode yet")
        let limit = HandshakeBudget.limit.load(ordering: .relaxed)
        let fit = limit / HandshakeBudget.connectionCost + 1
        // Clients that send a whole ClientHello and never answer: each becomes a handshaking
        // connection until the limit is reached; after that each gets a Retry instead.
        let silent = (0..<(fit + 10)).map { _ in udpSocket() }
        let retriesBefore = Binding.retriesSent.load(ordering: .relaxed)
        for fd in silent {
            send(fd, try clientInitial(bulky: false), port: port)
            usleep(20_000)
        }
        var answers: [[[UInt8]]] = []
        for _ in 0..<50 {
            usleep(20_000)
            if server.events.filter({ $0 == "NEW_CONNECTION" }).count >= fit { break }
        }
        usleep(200_000)
        for fd in silent { answers.append(drain(fd)) }
        let accepted = server.events.filter { $0 == "NEW_CONNECTION" }.count
        XCTAssertTrue(HandshakeBudget.retryMode)
        XCTAssertTrue(server.wait(for: "DOS_MODE_ON"))
        XCTAssertEqual(server.events.filter { $0 == "DOS_MODE_ON" }.count, 1)
        XCTAssertLessThanOrEqual(accepted, fit, "no NEW_CONNECTION above the limit")
        XCTAssertGreaterThanOrEqual(accepted, 1)
        // Those turned away got a Retry (long header, type 3) and nothing else.
        let retried = answers.filter { a in a.count == 1 && a[0][0] & 0xf0 == 0xf0 }.count
        XCTAssertEqual(retried, silent.count - accepted)
        XCTAssertEqual(Binding.retriesSent.load(ordering: .relaxed) - retriesBefore, UInt64(retried))

        // An honest client: Retry, then the handshake, one NEW_CONNECTION.
        var settings = QUIC_SETTINGS()
        settings.IsSet.IdleTimeoutMs = 1
        settings.IdleTimeoutMs = 5000
        let (status, clientConfig) = quic.openConfiguration(registration, alpns: ["adm"], settings: &settings)
        XCTAssertEqual(status, S.success)
        var cred = QUIC_CREDENTIAL_CONFIG()
        cred.Type = QUIC_CREDENTIAL_TYPE_NONE
        cred.Flags = QUIC_CREDENTIAL_FLAGS(QUIC_CREDENTIAL_FLAG_CLIENT.rawValue | QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION.rawValue)
        XCTAssertEqual(quic.api.ConfigurationLoadCredential!(clientConfig, &cred), S.success)
        let client = Recorder()
        var connection: HQUIC?
        XCTAssertEqual(quic.api.ConnectionOpen!(registration, admissionClientCallback, client.pointer, &connection), S.success)
        XCTAssertEqual(quic.api.ConnectionStart!(connection, clientConfig, QUIC_ADDRESS_FAMILY(QUIC_ADDRESS_FAMILY_INET),
                                                 "127.0.0.1", port), S.success)
        XCTAssertTrue(client.wait(for: "CONNECTED"))
        XCTAssertEqual(server.events.filter { $0 == "NEW_CONNECTION" }.count, accepted + 1)
        XCTAssertEqual(Binding.retriesSent.load(ordering: .relaxed) - retriesBefore, UInt64(retried + 1),
                       "the honest client was sent a Retry too")
        quic.api.ConnectionShutdown!(connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0)
        XCTAssertTrue(client.wait(for: "SHUTDOWN_COMPLETE"))
        quic.api.ConnectionClose!(connection)
        // The limit back to MsQuic's default: the mode ends, the listener hears it.
        XCTAssertEqual(quic.set(nil, QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT, UInt16(65)), S.success)
        XCTAssertFalse(HandshakeBudget.retryMode)
        XCTAssertTrue(server.wait(for: "DOS_MODE_OFF"))
        XCTAssertEqual(server.events.filter { $0.hasPrefix("DOS_MODE") }, ["DOS_MODE_ON", "DOS_MODE_OFF"])
        for fd in silent { close(fd) }
        quic.api.ListenerClose!(listener)
        quic.api.ConfigurationClose!(clientConfig)
        quic.api.ConfigurationClose!(admissionServerConfiguration)
    }
}

private let admissionListenerCallback: QUIC_LISTENER_CALLBACK_HANDLER = { _, context, event in
    let r = Recorder.from(context)
    if let event, event.pointee.Type == QUIC_LISTENER_EVENT_DOS_MODE_CHANGED {
        r.record(event.pointee.DOS_MODE_CHANGED.DosModeEnabled != 0 ? "DOS_MODE_ON" : "DOS_MODE_OFF")
        return S.success
    }
    guard let event, event.pointee.Type == QUIC_LISTENER_EVENT_NEW_CONNECTION else { return S.success }
    var status = S.success
    r.record("NEW_CONNECTION") {
        let connection = event.pointee.NEW_CONNECTION.Connection
        admissionAPI.SetCallbackHandler!(connection, unsafeBitCast(admissionServerCallback, to: UnsafeMutableRawPointer.self), context)
        status = admissionAPI.ConnectionSetConfiguration!(connection, admissionServerConfiguration)
    }
    return status
}

private let admissionServerCallback: QUIC_CONNECTION_CALLBACK_HANDLER = { connection, _, event in
    if event?.pointee.Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE { admissionAPI.ConnectionClose!(connection) }
    return S.success
}

private let admissionClientCallback: QUIC_CONNECTION_CALLBACK_HANDLER = { _, context, event in
    let r = Recorder.from(context)
    switch event?.pointee.Type {
    case QUIC_CONNECTION_EVENT_CONNECTED: r.record("CONNECTED")
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE: r.record("SHUTDOWN_COMPLETE")
    default: break
    }
    return S.success
}
