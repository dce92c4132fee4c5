// The memory strangers can make a server hold before they have proven anything: client
// Initials kept while a ClientHello is incomplete, and connections whose handshake is in
// progress. MsQuic's model (src/core/library.c, binding.c): every handshaking connection
// counts an estimate of its memory (QUIC_CONN_HANDSHAKE_MEMORY_USAGE) against a process-wide
// limit, RetryMemoryLimit × total memory / 65535 (QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT,
// default 65 ≈ 0.1%); at or above it, a new client without a valid Retry token gets a
// stateless Retry (RFC 9000 §8.1.2) before any connection exists or NEW_CONNECTION is raised,
// so a flood from spoofed addresses costs no state. RetryMemoryLimit 0 retries every client.

import Glibc
import QuicCore
import QuicPlatform
import Synchronization

enum HandshakeBudget {
    /// Bytes held now: partial first flights (their actual size) and handshaking
    /// connections (`connectionCost` each).
    static let used = Atomic<Int>(0)
    /// Handshaking connections counted now (for the hard cap).
    static let connections = Atomic<Int>(0)
    /// RetryMemoryLimit × total memory / 65535, bytes.
    static let limit = Atomic<Int>(bytes(forRetryMemoryLimit: 65))
    /// Changes of the Retry-everything state, for DOS_MODE_CHANGED (bumped on each change;
    /// DosMode.swift raises the events).
    static let modeGeneration = Atomic<UInt64>(0)
    private static let lastMode = Atomic<Bool>(false)
    /// Set when handshakes held at least a (non-zero) limit: a flood or a burst. Once they
    /// are down to 1/64 of it (nearly all gone), the heap is trimmed, so that the memory the
    /// flood made the allocator keep goes back to the system (RSS back near its baseline).
    private static let flooded = Atomic<Bool>(false)

    /// What one handshaking connection is counted as: the engine connection with its TLS
    /// state, send/receive buffers of the handshake and the API object (measured: about
    /// 58 KB of RSS per connection mid-handshake, BENCHMARKS.md "Initial floods"). MsQuic
    /// counts its own estimate the same way (QUIC_CONN_HANDSHAKE_MEMORY_USAGE: the connection
    /// object, the TLS send buffer, a stream receive buffer, 16 KB for TLS, 1 KB more).
    static let connectionCost = 64 * 1024
    /// Last resort, whatever the memory limit says: no more handshaking connections than
    /// this in the process (each socket's Endpoint has its own cap too). Reached only when
    /// Retry-validated clients keep coming faster than handshakes finish.
    static let maxConnections = 4096

    static let totalMemory: Int = {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, size > 0 else { return 1 << 30 }
        let (total, overflow) = pages.multipliedReportingOverflow(by: size)
        return overflow ? Int.max / 65536 : min(total, Int.max / 65536)
    }()

    /// RetryMemoryLimit (N/65535 of total memory) in bytes. `totalMemory` is bounded so
    /// that the product cannot overflow.
    static func bytes(forRetryMemoryLimit value: UInt16) -> Int {
        totalMemory * Int(value) / 65535
    }

    /// QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT / QUIC_SETTINGS.RetryMemoryLimit changed.
    static func setRetryMemoryLimit(_ value: UInt16) {
        limit.store(bytes(forRetryMemoryLimit: value), ordering: .relaxed)
        noteMode()
        indicateDosModeChanges()      // an API call: no engine state is being updated
    }

    /// New clients without a validated address get a Retry (MsQuic's SendRetryEnabled).
    static var retryMode: Bool {
        used.load(ordering: .relaxed) >= limit.load(ordering: .relaxed)
    }

    static var atHardCap: Bool { connections.load(ordering: .relaxed) >= maxConnections }

    static func charge(bytes: Int) {
        guard bytes != 0 else { return }
        let now = used.add(bytes, ordering: .relaxed).newValue
        noteMode()
        let cap = limit.load(ordering: .relaxed)
        guard cap > 0 else { return }
        if bytes > 0 {
            if now >= cap, !flooded.load(ordering: .relaxed) { flooded.store(true, ordering: .relaxed) }
        } else if now <= cap / 64, flooded.load(ordering: .relaxed),
                  flooded.exchange(false, ordering: .relaxed) {
            // A moment later: the connections that just stopped counting are still being
            // closed and freed.
            if let worker = Worker.current {
                _ = worker.schedule(WorkerTimer { Heap.trim() }, at: Runtime.now + .seconds(1))
            } else {
                Heap.trim()
            }
        }
    }

    static func chargeConnection() {
        connections.add(1, ordering: .relaxed)
        charge(bytes: connectionCost)
    }

    static func releaseConnection() {
        connections.subtract(1, ordering: .relaxed)
        charge(bytes: -connectionCost)
    }

    private static func noteMode() {
        let now = retryMode
        if lastMode.exchange(now, ordering: .relaxed) != now {
            modeGeneration.add(1, ordering: .relaxed)
        }
    }
}
