// One stream's state: its sending and receiving parts (RFC 9000 §3.1, §3.2), their buffers and
// flow control, and what control frames it owes the peer. The StreamManager drives it; the
// public read-only properties let the API layer answer GetParam queries.

import QuicWire

public final class QuicStream {
    public let id: StreamID
    /// True if this endpoint opened the stream.
    public let isLocal: Bool
    /// Whether this endpoint sends / receives on the stream (RFC 9000 §2.1).
    public let hasSendPart: Bool
    public let hasReceivePart: Bool

    public internal(set) var sendState: StreamSendState
    /// End of the stream data received in 0-RTT packets (RFC 9001 §4.6.1), for the API's
    /// QUIC_RECEIVE_FLAG_0_RTT.
    public internal(set) var zeroRTTReceivedEnd: UInt64 = 0
    /// An empty STREAM frame is owed to open the stream at the peer before any data
    /// (MsQuic's QUIC_STREAM_START_FLAG_IMMEDIATE).
    var announcePending = false
    public internal(set) var receiveState: StreamReceiveState

    /// Scheduling priority (MsQuic QUIC_PARAM_STREAM_PRIORITY): higher goes first, round-robin
    /// among equals. MsQuic's default is 0x7FFF.
    public internal(set) var priority: UInt16 = 0x7FFF

    // Sending part.
    var send = SendBuffer()
    var sendCredit: SendCredit
    /// The application error code of our RESET_STREAM, when the send part was reset.
    public internal(set) var resetErrorCode: UInt64? = nil
    /// The final size carried by our RESET_STREAM (RFC 9000 §4.5).
    var resetFinalSize: UInt64 = 0
    var resetPending = false
    /// MsQuic's QUIC_PARAM_STREAM_RELIABLE_OFFSET: the bytes an abortive send shutdown still
    /// delivers when reliable reset is negotiated (draft-ietf-quic-reliable-stream-reset).
    public internal(set) var reliableOffset: UInt64 = 0
    /// Our reset is a reliable one (RESET_STREAM_AT): data below `resetReliableSize` is still
    /// sent, retransmitted and acknowledged before the send part ends.
    public internal(set) var reliableResetSent = false
    var resetReliableSize: UInt64 = 0
    /// Our RESET_STREAM_AT was acknowledged (the send part ends once the data is too).
    var reliableResetAcked = false

    // Receiving part.
    var receive: ReceiveBuffer
    var receiveCredit: ReceiveCredit
    /// The final size once known from a FIN or RESET_STREAM (RFC 9000 §4.5).
    public internal(set) var finalSize: UInt64? = nil
    /// The application aborted receiving (STOP_SENDING); data is discarded.
    public internal(set) var receiveAborted = false
    var stopSendingErrorCode: UInt64 = 0
    var stopSendingPending = false
    /// The peer's RESET_STREAM_AT: its Reliable Size (the smallest seen, draft §4) and error
    /// code; the reset is reported once the application has read that far.
    public internal(set) var peerReliableSize: UInt64? = nil
    var peerReliableResetCode: UInt64 = 0
    /// MsQuic's app-owned buffer mode (StreamManager+AppOwned.swift): received bytes go to
    /// memory the application provided, in order, and the stream's limit is that space.
    public internal(set) var appOwnedReceive = false
    /// The stream offset up to which the application provided space: the total length of the
    /// buffers it ever gave (each stream byte has its own place, memory is not reused).
    public internal(set) var providedEnd: UInt64 = 0
    /// A receiveBufferNeeded event is queued and not yet resolved by `checkReceiveSpace`.
    var receiveSpaceCheckPending = false

    // Scheduling and event bookkeeping.
    var inSendQueue = false
    var inControlQueue = false
    var dataEventQueued = false
    var sendShutdownSignaled = false
    var shutdownSignaled = false
    /// MsQuic's QUIC_STREAM_OPEN_FLAG_DELAY_ID_FC_UPDATES on a peer stream: the MAX_STREAMS
    /// credit its end frees waits for the application's StreamClose
    /// (`StreamManager.releaseStreamCredit`).
    var delaysStreamCredit = false
    /// MsQuic's QUIC_SEND_FLAG_CANCEL_ON_LOSS (sticky once a send carried it): lost data is not
    /// retransmitted; the stream is canceled instead (`StreamEvent.cancelOnLoss`).
    public internal(set) var cancelOnLoss = false
    /// The loss was reported once (`StreamEvent.cancelOnLoss`); later losses are dropped.
    var cancelOnLossSignaled = false
    /// Time the sending part waited for the peer's flow control or the application
    /// (QUIC_STREAM_STATISTICS; BlockedTimings.swift).
    public internal(set) var blocked = StreamBlockedTimings()
    /// The ideal send buffer size last reported for this stream (MsQuic's LastIdealSendBuffer).
    public internal(set) var idealSendBufferSize = StreamManager.defaultIdealSendBytes

    init(id: StreamID, role: EndpointRole, sendLimit: UInt64, receiveWindow: UInt64,
         maxReceiveWindow: UInt64? = nil, now: QuicInstant? = nil) {
        self.id = id
        isLocal = id.initiator == role
        hasSendPart = id.canSend(role)
        hasReceivePart = id.canReceive(role)
        sendState = .ready
        receiveState = .recv
        sendCredit = SendCredit(limit: sendLimit)
        receiveCredit = ReceiveCredit(window: receiveWindow, maxWindow: maxReceiveWindow, now: now)
        receive = ReceiveBuffer(limit: receiveWindow, initialCapacity: Int(Swift.min(receiveWindow, 4096)))
    }

    /// Bytes queued by the application and not yet sent.
    public var unsentBytes: UInt64 { send.unsentCount }
    /// Bytes received in order and not yet consumed by the application.
    public var readableBytes: UInt64 { receive.readableCount }
    /// The offset up to which the application consumed data.
    public var readOffset: UInt64 { receive.readOffset }
    /// The highest offset sent.
    public var sentOffset: UInt64 { send.nextOffset }
    /// The peer's current MAX_STREAM_DATA for this stream.
    public var peerMaxStreamData: UInt64 { sendCredit.limit }
    /// Memory held for received data.
    public var receiveBufferBytes: Int { receive.allocatedBytes }

    /// The sending part is finished ("Data Recvd" or "Reset Recvd"), or absent.
    var sendFinished: Bool { !hasSendPart || sendState.isTerminal }
    /// The receiving part is finished ("Data Read" or "Reset Read"), or absent.
    var receiveFinished: Bool { !hasReceivePart || receiveState.isTerminal }

    /// Whether the stream has STREAM data or a FIN to put on the wire, given the connection credit.
    func wantsToSend(connectionCredit: UInt64) -> Bool {
        guard hasSendPart, sendsData else { return false }
        if send.hasRetransmission { return true }
        if send.finPending && send.unsentCount == 0 { return true }
        if send.hasNewData && sendCredit.available > 0 && connectionCredit > 0 { return true }
        return false
    }

    /// STREAM data still goes out: not reset, or reset reliably (data below the reliable size).
    var sendsData: Bool { resetErrorCode == nil || reliableResetSent }

    /// Whether the stream owes a control frame.
    var hasControlFrames: Bool {
        resetPending || stopSendingPending || receiveCredit.updatePending || sendCredit.blockedPending
    }
}
