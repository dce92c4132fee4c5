import QuicCrypto
import QuicWire

// 0.5-RTT data (RFC 9000 §7, RFC 9001 §4.1.1 and §5.7): a server has its 1-RTT write key once
// its Finished is written, a round trip before it can read 1-RTT packets; application data it
// sends in that window goes in 1-RTT packets with the first flight, as MsQuic does (its packet
// builder takes the 1-RTT write key for stream frames as soon as TLS installs it). Only what
// needs no 1-RTT read key goes in those packets: stream and datagram frames and their flow
// control; ACKs of 1-RTT packets, HANDSHAKE_DONE and NEW_CONNECTION_ID wait for the
// handshake's completion as before. The bytes count against the anti-amplification limit
// like any other (RFC 9000 §8.1).
extension Connection {
    /// A server between its Finished and the client's: 1-RTT packets use `halfRTTSend`.
    var sendingHalfRTT: Bool {
        role == .server && oneRTT == nil && halfRTTSend != nil && state == .open
    }
}
