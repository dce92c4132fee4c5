import QuicTLS
import QuicWire

// Server side: 0-RTT is judged against the transport parameters a ticket remembers.
//
// RFC 9000 §7.4.1: a server that accepts 0-RTT data MUST NOT reduce any limit or alter
// any value the client might violate with its 0-RTT data; in particular it MUST NOT set
// active_connection_id_limit, initial_max_data, initial_max_stream_data_bidi_local,
// initial_max_stream_data_bidi_remote, initial_max_stream_data_uni,
// initial_max_streams_bidi or initial_max_streams_uni below the remembered values.
// RFC 9221 §3: a server accepting 0-RTT MUST send a max_datagram_frame_size at least as
// large as the one sent in the connection that issued the ticket.
// A server that cannot honour this declines 0-RTT; the full handshake still resumes.

extension Connection {
    /// True when `current` keeps every limit the client may rely on in 0-RTT at or above
    /// the values remembered in the ticket (`remembered`, the encoded server parameters).
    /// Undecodable or absent remembered parameters refuse 0-RTT: nothing proves the limits.
    static func earlyDataLimitsHold(remembered bytes: [UInt8], current: TransportParameters) -> Bool {
        guard !bytes.isEmpty, let old = try? TransportParameters.decode(bytes, sender: .server) else { return false }
        // RFC 9000 §7.4.1
        guard current.activeConnectionIDLimit >= old.activeConnectionIDLimit,
              current.initialMaxData >= old.initialMaxData,
              current.initialMaxStreamDataBidiLocal >= old.initialMaxStreamDataBidiLocal,
              current.initialMaxStreamDataBidiRemote >= old.initialMaxStreamDataBidiRemote,
              current.initialMaxStreamDataUni >= old.initialMaxStreamDataUni,
              current.initialMaxStreamsBidi >= old.initialMaxStreamsBidi,
              current.initialMaxStreamsUni >= old.initialMaxStreamsUni
        else { return false }
        // RFC 9221 §3: datagram support remembered must not shrink or disappear.
        if let oldDatagram = old.maxDatagramFrameSize, oldDatagram > 0 {
            guard let now = current.maxDatagramFrameSize, now >= oldDatagram else { return false }
        }
        return true
    }

    /// The server's 0-RTT decision: the limit check above, then the application's own
    /// `earlyDataAcceptance` (if any) for tickets that pass it.
    static func earlyDataAcceptance(current: TransportParameters,
                                    application: (@Sendable ([UInt8], [UInt8]) -> Bool)?)
        -> @Sendable ([UInt8], [UInt8]) -> Bool {
        return { appData, remembered in
            guard earlyDataLimitsHold(remembered: remembered, current: current) else { return false }
            return application?(appData, remembered) ?? true
        }
    }
}
