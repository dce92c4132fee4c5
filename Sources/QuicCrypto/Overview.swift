// QuicCrypto: QUIC packet protection (RFC 9001, RFC 9369 for v2) on libcrypto, sans-IO.
//
// Key material (cold path, arrays):
//   InitialSecrets.keys(version:destinationConnectionID:)   -> (client, server) keys, §5.2
//   PacketProtectionKeys(suite:secret:version:)              key/iv/hp from a TLS secret, §5.1
//   keys.nextGeneration()                                    key update, hp kept, §6.1
//   ProtectionVersion (.v1, .v2)                             salts, labels, Retry keys
//
// Per-packet objects (create once per key; not thread-safe; no allocation per packet):
//   PacketAEAD          seal/open in place: [header = AAD][payload][16-byte tag room], §5.3
//   HeaderProtection    apply/remove in place, batched masks, §5.4
//   PacketProtector     both: protect(packet:pnOffset:pnLength:packetNumber:) after the
//                       header (with the encoded packet number and final Length) and the
//                       plaintext are written; unprotect(packet:pnOffset:largestPacketNumber:)
//                       -> UnprotectedPacket (first byte, packet number, payload range)
//   OneRTTKeys          1-RTT keys across key updates: key phase, previous/current/next
//                       receive keys, §6
//
// Receiving a 1-RTT packet with key updates:
//   let hp = try keys.receiveHeaderProtection.remove(packet: p, pnOffset: 1 + dcidLength)
//   let pn = PacketNumberDecoding.decode(truncated: UInt64(hp.truncatedPacketNumber),
//                                        length: hp.pnLength, largest: largestReceived)
//   let which = keys.receiveKey(keyPhase: KeyPhase.isSet(firstByte: hp.firstByte), packetNumber: pn)
//   guard let aead = keys.aead(for: which) else { drop }
//   let payload = try aead.open(packet: p, headerLength: 1 + dcidLength + hp.pnLength, packetNumber: pn)
//   try keys.packetAuthenticated(with: which, packetNumber: pn)   // a .next packet updates
//
// Errors are PacketProtectionError values (typed throws); a forged packet is
// .authenticationFailed and the caller drops it (RFC 9001 §5.5), counting it against
// CipherSuite.integrityLimit (§6.6).
//
// Also: RetryIntegrity (tag/verify, §5.8), StatelessResetTokenGenerator (HMAC-SHA256 of the
// connection ID under a static key, RFC 9000 §10.3.2), ConstantTime.equal.
