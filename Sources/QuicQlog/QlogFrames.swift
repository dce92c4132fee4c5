import QuicCore
import QuicWire

// The frames of a packet as qlog QuicFrame objects (draft-ietf-quic-qlog-quic-events,
// "QuicFrame"): decoded from the plaintext payload with QuicWire's decoder, each frame's
// fields named as the draft names them. A payload that stops decoding (a peer's malformed
// frame, which the connection itself rejects) ends the list with an "unknown" frame.
enum QlogFrames {
    static func write(_ p: ObservedPacket, into json: inout JSONWriter) {
        let kind: PacketKind
        switch p.type {
        case .initial: kind = .initial
        case .handshake: kind = .handshake
        case .zeroRTT: kind = .zeroRTT
        default: kind = .oneRTT
        }
        let source = p.payload
        var decoder = FrameDecoder(source, packetKind: kind, sender: p.sender)
        while true {
            let frame: Frame
            do {
                guard let f = try decoder.next() else { return }
                frame = f
            } catch {
                json.beginObject(); json.field("frame_type", "unknown"); json.endObject()
                return
            }
            json.beginObject()
            writeFrame(frame, source: source, exponent: p.ackDelayExponent, into: &json)
            json.endObject()
        }
    }

    private static func streamType(_ bidirectional: Bool) -> StaticString { bidirectional ? "bidirectional" : "unidirectional" }

    static func writeFrame(_ frame: Frame, source: UnsafeRawBufferPointer, exponent: UInt64, into json: inout JSONWriter) {
        switch frame {
        case .padding(let count):
            json.field("frame_type", "padding")
            json.field("length", UInt64(count))
            json.field("payload_length", UInt64(count))
        case .ping:
            json.field("frame_type", "ping")
        case .ack(let ack):
            json.field("frame_type", "ack")
            json.field("ack_delay", ms: ack.ackDelayMicroseconds(exponent: exponent) == .max ? 0 : ack.ackDelayMicroseconds(exponent: exponent))
            json.array("acked_ranges")
            // Ascending order, as qlog's examples list them; the decoder gives largest first.
            // Bounded: at most the frame's range count (a received frame was already accepted).
            var ranges: [ClosedRange<UInt64>] = []
            for r in ack.ranges(in: source) { ranges.append(r); if ranges.count >= 4096 { break } }
            for r in ranges.reversed() {
                json.beginArray()
                json.value(r.lowerBound)
                if r.upperBound != r.lowerBound { json.value(r.upperBound) }
                json.endArray()
            }
            json.endArray()
            if let ecn = ack.ecn {
                json.field("ect0", ecn.ect0); json.field("ect1", ecn.ect1); json.field("ce", ecn.ce)
            }
        case .resetStream(let f):
            json.field("frame_type", "reset_stream")
            json.field("stream_id", f.streamID)
            json.field("error_code", f.applicationErrorCode)
            json.field("final_size", f.finalSize)
        case .resetStreamAt(let f):
            json.field("frame_type", "reset_stream_at")
            json.field("stream_id", f.streamID)
            json.field("error_code", f.applicationErrorCode)
            json.field("final_size", f.finalSize)
            json.field("reliable_size", f.reliableSize)
        case .stopSending(let f):
            json.field("frame_type", "stop_sending")
            json.field("stream_id", f.streamID)
            json.field("error_code", f.applicationErrorCode)
        case .crypto(let f):
            json.field("frame_type", "crypto")
            json.field("offset", f.offset)
            json.field("length", UInt64(f.data.count))
        case .newToken(let range):
            json.field("frame_type", "new_token")
            json.object("token")
            json.object("raw")
            json.field("length", UInt64(range.count))
            json.field("data", hex: UnsafeRawBufferPointer(rebasing: source[range]))
            json.endObject()
            json.endObject()
        case .stream(let f):
            json.field("frame_type", "stream")
            json.field("stream_id", f.streamID)
            json.field("offset", f.offset)
            json.field("length", UInt64(f.data.count))
            if f.fin { json.field("fin", true) }
        case .maxData(let v):
            json.field("frame_type", "max_data")
            json.field("maximum", v)
        case .maxStreamData(let id, let v):
            json.field("frame_type", "max_stream_data")
            json.field("stream_id", id)
            json.field("maximum", v)
        case .maxStreams(let bidi, let v):
            json.field("frame_type", "max_streams")
            json.field("stream_type", streamType(bidi))
            json.field("maximum", v)
        case .dataBlocked(let v):
            json.field("frame_type", "data_blocked")
            json.field("limit", v)
        case .streamDataBlocked(let id, let v):
            json.field("frame_type", "stream_data_blocked")
            json.field("stream_id", id)
            json.field("limit", v)
        case .streamsBlocked(let bidi, let v):
            json.field("frame_type", "streams_blocked")
            json.field("stream_type", streamType(bidi))
            json.field("limit", v)
        case .newConnectionID(let f):
            json.field("frame_type", "new_connection_id")
            json.field("sequence_number", f.sequenceNumber)
            json.field("retire_prior_to", f.retirePriorTo)
            json.field("connection_id_length", UInt64(f.connectionID.length))
            json.field("connection_id", hex: f.connectionID.bytes)
            json.field("stateless_reset_token", hex: f.statelessResetToken.bytes)
        case .retireConnectionID(let seq):
            json.field("frame_type", "retire_connection_id")
            json.field("sequence_number", seq)
        case .pathChallenge(let data):
            json.field("frame_type", "path_challenge")
            json.field("data", hex: bigEndian(data))
        case .pathResponse(let data):
            json.field("frame_type", "path_response")
            json.field("data", hex: bigEndian(data))
        case .connectionClose(let f):
            json.field("frame_type", "connection_close")
            json.field("error_space", f.isApplicationError ? "application" : "transport")
            json.field("error_code", f.errorCode)
            json.field("raw_error_code", f.errorCode)
            if !f.reasonPhrase.isEmpty {
                json.key("reason"); json.value(stringBytes: UnsafeRawBufferPointer(rebasing: source[f.reasonPhrase]))
            }
            if !f.isApplicationError { json.field("trigger_frame_type", f.frameType) }
        case .handshakeDone:
            json.field("frame_type", "handshake_done")
        case .datagram(let f):
            json.field("frame_type", "datagram")
            json.field("length", UInt64(f.data.count))
        case .ackFrequency(let f):
            json.field("frame_type", "ack_frequency")
            json.field("sequence_number", f.sequenceNumber)
            json.field("ack_eliciting_threshold", f.ackElicitingThreshold)
            json.field("request_max_ack_delay", ms: f.requestedMaxAckDelay)
            json.field("reordering_threshold", f.reorderingThreshold)
        case .immediateAck:
            json.field("frame_type", "immediate_ack")
        case .timestamp(let t):
            json.field("frame_type", "unknown")
            json.field("raw_frame_type", frame.frameType)
            json.field("timestamp", t)
        }
    }

    private static func bigEndian(_ v: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: v >> (56 - 8 * UInt64($0))) }
    }
}
