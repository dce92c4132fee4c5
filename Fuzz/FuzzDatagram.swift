// libFuzzer entry point: one input is one UDP datagram. It is split into coalesced packets and
// each header is parsed as if header protection had already been removed (the first byte and
// packet number bytes are taken as they are); the payload after the packet number is decoded
// as frames of that packet type, and the whole input is also decoded as transport parameters.
// Every decoder must return a value or a typed error; any trap or sanitizer report is a bug.
//
// Build and run with scripts/fuzz.sh.

import QuicWire

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size)
    // The first byte picks the short header DCID length and whether greasing is on, so the
    // fuzzer can explore both without a separate configuration.
    guard let selector = bytes.first else { return 0 }
    let datagram = UnsafeRawBufferPointer(rebasing: bytes[1...])
    let dcidLength = Int(selector % 21)
    let grease = selector & 0x80 != 0

    var packets = CoalescedPackets(datagram, shortHeaderDCIDLength: dcidLength, allowFixedBitZero: grease)
    var count = 0
    while count < 64 {
        let header: PacketHeader
        do throws(PacketHeaderError) {
            guard let h = try packets.next() else { break }
            header = h
        } catch {
            break
        }
        count += 1
        precondition(header.start >= 0 && header.end <= datagram.count && header.start < header.end)
        if header.kind == .versionNegotiation {
            _ = header.supportedVersions(in: datagram)
            continue
        }
        guard header.kind.hasPacketNumber else { continue }
        precondition(header.sampleOffset + 16 <= header.end)
        let unprotected: UnprotectedHeader
        do throws(PacketHeaderError) {
            unprotected = try header.unprotected(firstByte: header.firstByte, in: datagram)
        } catch {
            continue
        }
        precondition(unprotected.payloadOffset < unprotected.payloadEnd && unprotected.payloadEnd <= datagram.count)
        _ = PacketNumber.decode(truncated: unprotected.truncatedPacketNumber,
                                length: unprotected.packetNumberLength, largestReceived: UInt64(size))
        var frames = FrameDecoder(datagram, start: unprotected.payloadOffset, end: unprotected.payloadEnd,
                                  packetKind: header.kind)
        var frameCount = 0
        while frameCount < 4096 {
            let frame: Frame?
            do throws(QuicError) {
                frame = try frames.next()
            } catch {
                break
            }
            guard let frame else { break }
            frameCount += 1
            checkRanges(frame, bounds: unprotected.payloadOffset..<unprotected.payloadEnd, datagram)
        }
    }
    for sender in [TransportParameterSender.client, .server] {
        do throws(QuicError) {
            let p = try TransportParameters.decode(datagram, sender: sender)
            // A decoded set re-encodes and decodes to itself.
            if let again = try? p.encoded() {
                let back = try TransportParameters.decode(again, sender: sender)
                precondition(back == p, "transport parameters do not round-trip")
            }
        } catch {
        }
    }
    return 0
}

/// Every range a frame hands out must lie inside the packet payload.
func checkRanges(_ frame: Frame, bounds: Range<Int>, _ datagram: UnsafeRawBufferPointer) {
    func inside(_ r: Range<Int>) {
        precondition(r.lowerBound >= bounds.lowerBound && r.upperBound <= bounds.upperBound, "range outside payload")
    }
    switch frame {
    case .crypto(let f): inside(f.data)
    case .stream(let f): inside(f.data)
    case .datagram(let f): inside(f.data)
    case .newToken(let t): inside(t)
    case .connectionClose(let f): inside(f.reasonPhrase)
    case .ack(let f):
        inside(f.encodedRanges)
        var previous: UInt64? = nil
        for r in f.ranges(in: datagram) {
            if let p = previous { precondition(r.upperBound + 2 <= p, "ACK ranges overlap") }
            previous = r.lowerBound
        }
        precondition(previous == f.smallestAcknowledged, "ACK smallest mismatch")
    default: break
    }
}
