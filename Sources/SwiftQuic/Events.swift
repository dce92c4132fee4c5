// QUIC_LISTENER_EVENT / QUIC_CONNECTION_EVENT / QUIC_STREAM_EVENT built in raw memory with
// the offsets of msquic.h (64-bit: Type at 0, the union at 8), and the application's
// callbacks called with them. Events live on the calling worker's stack for the call only.

import CMsQuic

typealias EventCallback = @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> UInt32

enum EventType {
    // QUIC_LISTENER_EVENT_TYPE
    static let newConnection: UInt32 = 0
    static let stopComplete: UInt32 = 1
    // QUIC_CONNECTION_EVENT_TYPE
    static let connected: UInt32 = 0
    static let shutdownInitiatedByTransport: UInt32 = 1
    static let shutdownInitiatedByPeer: UInt32 = 2
    static let connShutdownComplete: UInt32 = 3
    static let localAddressChanged: UInt32 = 4
    static let peerAddressChanged: UInt32 = 5
    static let peerStreamStarted: UInt32 = 6
    static let streamsAvailable: UInt32 = 7
    static let peerNeedsStreams: UInt32 = 8
    static let datagramStateChanged: UInt32 = 10
    static let datagramReceived: UInt32 = 11
    static let datagramSendStateChanged: UInt32 = 12
    static let reliableResetNegotiated: UInt32 = 16
    static let resumptionTicketReceived: UInt32 = 14
    static let peerCertificateReceived: UInt32 = 15
    // QUIC_STREAM_EVENT_TYPE
    static let startComplete: UInt32 = 0
    static let receive: UInt32 = 1
    static let sendComplete: UInt32 = 2
    static let peerSendShutdown: UInt32 = 3
    static let peerSendAborted: UInt32 = 4
    static let peerReceiveAborted: UInt32 = 5
    static let sendShutdownComplete: UInt32 = 6
    static let streamShutdownComplete: UInt32 = 7
    static let idealSendBufferSize: UInt32 = 8
    static let peerAccepted: UInt32 = 9
    static let cancelOnLoss: UInt32 = 10
    static let receiveBufferNeeded: UInt32 = 11     // preview: app-owned buffers ran out
}

/// A zeroed event of `type`, large enough for every union member of the three event structs.
struct RawEvent {
    static let size = max(MemoryLayout<QUIC_CONNECTION_EVENT>.size, MemoryLayout<QUIC_STREAM_EVENT>.size,
                          MemoryLayout<QUIC_LISTENER_EVENT>.size, 128)

    let memory: UnsafeMutableRawPointer

    init(type: UInt32) {
        memory = .allocate(byteCount: RawEvent.size, alignment: 16)
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: RawEvent.size)
        memory.storeBytes(of: type, as: UInt32.self)
    }

    func free() { memory.deallocate() }

    func set<T>(_ offset: Int, _ value: T) { memory.storeBytes(of: value, toByteOffset: offset, as: T.self) }
    func get<T>(_ offset: Int, as: T.Type) -> T { memory.load(fromByteOffset: offset, as: T.self) }

    /// Calls `handler(handle, context, event)`; a missing handler counts as SUCCESS.
    func deliver(_ handler: UnsafeRawPointer?, _ handle: OpaquePointer, _ context: UnsafeMutableRawPointer?) -> QuicStatus {
        guard let handler else { return Status.success }
        let fn = unsafeBitCast(handler, to: EventCallback.self)
        return fn(handle, context, memory)
    }
}

/// QUIC_BUFFER arrays (Length u32 at 0, Buffer at 8; 16 bytes each).
enum QuicBuffers {
    static let stride = 16

    static func length(_ base: UnsafeRawPointer, _ i: Int) -> UInt32 {
        base.load(fromByteOffset: i * stride, as: UInt32.self)
    }

    static func pointer(_ base: UnsafeRawPointer, _ i: Int) -> UnsafeRawPointer? {
        base.load(fromByteOffset: i * stride + 8, as: UnsafeRawPointer?.self)
    }

    static func write(_ base: UnsafeMutableRawPointer, _ i: Int, length: Int, pointer: UnsafeRawPointer?) {
        base.storeBytes(of: UInt32(truncatingIfNeeded: length), toByteOffset: i * stride, as: UInt32.self)
        base.storeBytes(of: 0, toByteOffset: i * stride + 4, as: UInt32.self)
        base.storeBytes(of: pointer, toByteOffset: i * stride + 8, as: UnsafeRawPointer?.self)
    }
}
