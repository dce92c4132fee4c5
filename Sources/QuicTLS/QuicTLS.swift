// QuicTLS: the TLS 1.3 handshake for QUIC (RFC 8446 as used by RFC 9001), on libcrypto.
//
// - TLSHandshake (TLSHandshake.swift, Handshake/*): the sans-IO client and server. Input:
//   CRYPTO frame bytes per EncryptionLevel and the time; output (TLSOutput, in order):
//   handshake bytes per level, traffic secrets per level and direction, the peer's
//   transport parameters, the peer certificate (with an optional pause for the
//   application's decision), completion, and client session tickets. Failures are thrown
//   as TLSAlert; QuicCore closes with CRYPTO_ERROR 0x100 + alert (RFC 9001 §4.8).
//   Order guarantee: a level's write secret is output before the first bytes at that
//   level; a server outputs its 1-RTT read secret only once the client's Finished has
//   verified (RFC 9001 §5.7), the client its 1-RTT write secret with its Finished.
// - TLSConfiguration: ALPN, server name, credential, suites, groups, signature schemes,
//   peer validation, client authentication, resumption and 0-RTT settings.
// - Certificates/ and Tickets/: signatures, chain validation and ticket sealing.
