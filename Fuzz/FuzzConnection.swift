// libFuzzer entry point of the connection-level target (issue 10): one input is a whole
// adversarial session against one QuicCore connection (the "victim", server or client) played
// by a second QuicCore endpoint that the harness controls: the fuzzer chooses the victim's
// role and knobs, raw (id, varint) transport parameters inside the peer's real ClientHello or
// EncryptedExtensions, and a script of operations (raw frame sequences in packets protected
// with the peer's keys at any encryption level, application calls, datagram delivery, drops
// and reordering, virtual time jumps that fire timers).
//
// The input format is documented at the top of Tests/QuicCoreTests/ConnectionFuzzDriver.swift,
// which holds the driver: the same code replays the committed seeds and reproducers in
// `swift test --filter ConnectionFuzzReplayTests`. Build and run: `scripts/fuzz.sh connection`.
// Results: Fuzz/RESULTS.md. FUZZ_ROLE=server or FUZZ_ROLE=client in the environment fixes the
// victim's role (flag bit 0 is then ignored), for one run per role.

#if canImport(Glibc)
import Glibc
#endif

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> CInt {
    if let role = getenv("FUZZ_ROLE") {
        switch String(cString: role) {
        case "server": ConnectionFuzz.forcedVictimRole = .server
        case "client": ConnectionFuzz.forcedVictimRole = .client
        default: break
        }
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    ConnectionFuzz.run(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    return 0
}
