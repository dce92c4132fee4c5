// Global library state: the reference count of MsQuicOpenVersion/MsQuicClose, the global
// settings and the other global parameters. Everything lives under one Synchronization.Mutex.
//
// MsQuic starts the library on the first MsQuicOpenVersion and tears it down on the last
// MsQuicClose; a second open shares the state. MsQuic expects the application to have closed
// every registration before the last MsQuicClose (it asserts otherwise); we close whatever is
// still open instead, after waiting for credential loads still running on their threads.
// A MsQuicOpenVersion racing with that teardown waits until it is over and then starts a fresh
// library (calling MsQuicOpenVersion from a credential-load handler while another thread drops
// the last reference would wait forever; nothing in MsQuic's contract needs that).

import Glibc
import QuicPlatform
import Synchronization

struct LibraryState {
    /// Outstanding MsQuicOpenVersion references.
    var openCount = 0
    /// API tables handed out and not yet given back to MsQuicClose.
    var tables: Set<UInt> = []
    /// Global settings (QUIC_PARAM_GLOBAL_SETTINGS / GLOBAL_SETTINGS / VERSION_SETTINGS).
    var settings = Settings.defaults
    /// Set by the first RegistrationOpen: MsQuic's "lazy initialisation" point, after which the
    /// stateless reset key may be set and the execution config may no longer be replaced.
    var lazyInitComplete = false
    /// MsQuic's "library in use": set when the first UDP binding is created (by the engine,
    /// once listeners and connections exist). From then on the load balancing mode, which the
    /// connection IDs already issued encode, may no longer change. Set by `Library.noteSocket`.
    var bindingsInUse = false
    /// First socket's datapath features (CXPLAT_DATAPATH_FEATURE_* bits, for the private
    /// QUIC_PARAM_GLOBAL_DATAPATH_FEATURES); nil until a socket exists.
    var datapathFeatures: UInt32? = nil
    /// Private test parameters (msquicp.h): VERSION_NEGOTIATION_ENABLED (RFC 9368 extension)
    /// and DATAPATH_DSCP_RECV_ENABLED.
    var versionNegotiationExtEnabled = false
    var dscpRecvEnabled = false
    /// QUIC_PARAM_GLOBAL_STATELESS_RESET_KEY, for the engine (RFC 9000 §10.3).
    var statelessResetKey: [UInt8]? = nil
    /// QUIC_PARAM_GLOBAL_STATELESS_RETRY_CONFIG (algorithm, rotation, secret), for the engine.
    var retryConfig: RetryConfig? = nil
    /// QUIC_PARAM_GLOBAL_EXECUTION_CONFIG as the application gave it (the raw struct).
    var executionConfig: [UInt8]? = nil
    /// The last MsQuicClose is tearing the library down; a new MsQuicOpenVersion waits for it.
    var shuttingDown = false
}

struct RetryConfig: Equatable {
    var algorithm: UInt32
    var rotationMs: UInt32
    var secret: [UInt8]
}

enum Library {
    static let state = Mutex(LibraryState())

    /// Credential loads running on their own threads (LOAD_ASYNCHRONOUS); the last MsQuicClose
    /// waits for them so that their callbacks never outlive the library.
    static let asyncLoads = Mutex<[UInt]>([])

    static var isOpen: Bool { state.withLock { $0.openCount > 0 } }

    /// The global settings (a copy).
    static var settings: Settings { state.withLock { $0.settings } }

    /// Called for each UDP socket a binding opens: the library is "in use" (MsQuic's
    /// MsQuicLib.InUse) and the datapath's features are known.
    static func noteSocket(_ features: UDPSocketFeatures) {
        state.withLock { s in
            s.bindingsInUse = true
            if s.datapathFeatures == nil {
                // CXPLAT_DATAPATH_FEATURE_RECV_COALESCING 0x2, SEND_SEGMENTATION 0x4,
                // RECV_DSCP 0x400 (the TOS byte is read on every socket: IP_RECVTOS).
                var f: UInt32 = 0x400
                if features.gro { f |= 0x2 }
                if features.gso { f |= 0x4 }
                s.datapathFeatures = f
            }
        }
    }

    /// Takes a reference, starting the library on the first one, and records `table`.
    static func open(table: UnsafeMutableRawPointer) {
        while true {
            let opened = state.withLock { s -> Bool in
                guard !s.shuttingDown else { return false }
                if s.openCount == 0 { s = LibraryState() }
                s.openCount += 1
                s.tables.insert(UInt(bitPattern: table))
                return true
            }
            if opened { return }
            usleep(1000)        // a teardown is closing handles; the next library starts after it
        }
    }

    /// Gives back a table. Returns false for a pointer we never handed out (or gave back
    /// already), which MsQuicClose then ignores.
    static func close(table: UnsafeRawPointer) -> Bool {
        let (known, last) = state.withLock { s -> (Bool, Bool) in
            guard s.tables.remove(UInt(bitPattern: table)) != nil else { return (false, false) }
            s.openCount -= 1
            if s.openCount == 0 { s.shuttingDown = true }
            return (true, s.openCount == 0)
        }
        guard known else { return false }
        if last { shutDown() }
        return true
    }

    /// Releases everything when the last reference goes.
    ///
    /// The order matters. A worker keeps running connections as long as their sockets are open,
    /// and a datagram can make a new handle there (a peer's stream: PEER_STREAM_STARTED; a
    /// client's Initial: NEW_CONNECTION). A handle registered after the handles were collected
    /// was never closed: its retain kept the object, its connection and that connection's
    /// worker (epoll fd, eventfd) alive after MsQuicClose returned (review_engine_misuse: a
    /// client stream started with IMMEDIATE is announced at once, and the server heard of it
    /// while the library was closing). So the sockets go first, then the handles, then the
    /// workers, and once nothing runs any more whatever was made in between is collected too.
    private static func shutDown() {
        AsyncCredentialLoad.joinAll()
        // 1. No more input: every binding is torn down on its worker (socket closed; its
        //    connections, closing and draining ones too, abandoned without a word on the wire
        //    and without another event).
        tearDownBindings(workersStopped: false)
        // 2. Every handle the application left open is closed.
        var objects = Handles.unregisterAll()
        release(objects, workersStopped: false)
        // 3. The workers stop: no callback can run once MsQuicClose returns.
        let stopped = Runtime.stop()
        // 4. Handles and bindings a worker made between 1 and 3 (a start or a listener start
        //    queued from a callback, a datagram already read) are collected now; with the
        //    workers joined nothing else touches them.
        tearDownBindings(workersStopped: stopped)
        objects += Handles.unregisterAll()
        release(objects, workersStopped: stopped)
        // 5. Executions the application did not delete leave its epoll descriptor.
        Executions.deleteAll()
        state.withLock { s in s = LibraryState() }
    }

    /// Tears down every binding still open, on its worker (or here, once the workers are joined).
    private static func tearDownBindings(workersStopped: Bool) {
        // The listening ports (their listeners, socket groups) go with them.
        ListeningPort.forgetAll()
        for binding in Binding.takeAllLive() {
            if workersStopped { binding.tearDown() } else { binding.worker.perform { binding.tearDown() } }
        }
    }

    /// Breaks the references that would keep closed objects alive: a registration's children
    /// and connections (a connection refers back to its registration), and each connection's
    /// streams, queued starts and deferred work (a stream refers back to its connection; a
    /// connection that never started has no binding to abandon it).
    private static func release(_ objects: [QuicObject], workersStopped: Bool) {
        for object in objects {
            if let registration = object as? Registration {
                registration.dropChildren()
                registration.forgetConnections()
            } else if let connection = object as? ConnectionObject {
                if workersStopped { connection.abandon() } else { connection.worker.perform { connection.abandon() } }
            }
        }
    }
}
