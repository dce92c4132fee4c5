import XCTest
@testable import QuicWire

/// A deterministic generator (SplitMix64) so property tests are reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A varint-range value biased toward each encoding length and the boundaries.
    mutating func varint(max: UInt64 = VarInt.max) -> UInt64 {
        let v: UInt64
        switch next() % 6 {
        case 0: v = next() % 64
        case 1: v = next() % 16384
        case 2: v = next() % (1 << 30)
        case 3: v = next() & VarInt.max
        case 4: v = [0, 63, 64, 16383, 16384, (1 << 30) - 1, 1 << 30, VarInt.max][Int(next() % 8)]
        default: v = next() % 1000
        }
        return Swift.min(v, max)
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
    }

    mutating func bool() -> Bool { next() & 1 == 1 }

    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }
}

func hex(_ s: String) -> [UInt8] {
    let clean = s.filter { !$0.isWhitespace }
    var out: [UInt8] = []
    var i = clean.startIndex
    while i < clean.endIndex {
        let j = clean.index(i, offsetBy: 2)
        out.append(UInt8(clean[i..<j], radix: 16)!)
        i = j
    }
    return out
}

/// Decodes every frame of `payload`; returns the frames or the error.
func decodeAll(_ payload: [UInt8], kind: PacketKind = .oneRTT) -> Result<[Frame], QuicError> {
    payload.withUnsafeBytes { buf in
        var d = FrameDecoder(buf, packetKind: kind)
        var frames: [Frame] = []
        do throws(QuicError) {
            while let f = try d.next() { frames.append(f) }
            return .success(frames)
        } catch {
            return .failure(error)
        }
    }
}

func encodeFrames(_ frames: [Frame], source: [UInt8], capacity: Int = 1 << 16) throws -> [UInt8] {
    try source.withUnsafeBytes { src in
        try [UInt8].encoding(capacity: capacity) { (w: inout WireWriter) throws(BufferTooSmall) in
            for f in frames { try FrameEncoder.write(f, source: src, into: &w) }
        }
    }
}

func parseHeader(_ datagram: [UInt8], at offset: Int = 0, dcidLength: Int = 8, grease: Bool = false)
    -> Result<PacketHeader, PacketHeaderError>
{
    datagram.withUnsafeBytes { buf in
        do throws(PacketHeaderError) {
            return .success(try PacketHeader.parse(buf, at: offset, shortHeaderDCIDLength: dcidLength,
                                                   allowFixedBitZero: grease))
        } catch {
            return .failure(error)
        }
    }
}

extension Result {
    var value: Success? { if case .success(let v) = self { return v } else { return nil } }
    var error: Failure? { if case .failure(let e) = self { return e } else { return nil } }
}
