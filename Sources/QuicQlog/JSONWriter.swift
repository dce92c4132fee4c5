// A small JSON writer into a byte buffer (RFC 8259), enough for qlog records: objects,
// arrays, strings with correct escaping, unsigned integers, fixed-point milliseconds,
// booleans and hex strings. The caller writes keys and values in order; the writer only
// places the commas. No Foundation.

public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    /// Whether the innermost open object/array already holds a member (a comma goes first).
    private var hasMember: [Bool] = []

    public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        hasMember.removeAll(keepingCapacity: true)
    }

    /// Appends raw bytes outside any JSON value (the RS separator, the newline).
    public mutating func raw(_ b: UInt8) { bytes.append(b) }

    private mutating func separate() {
        guard let last = hasMember.last else { return }
        if last { bytes.append(UInt8(ascii: ",")) } else { hasMember[hasMember.count - 1] = true }
    }

    public mutating func beginObject() { beginValue(); bytes.append(UInt8(ascii: "{")); hasMember.append(false) }
    public mutating func endObject() { bytes.append(UInt8(ascii: "}")); hasMember.removeLast() }
    public mutating func beginArray() { beginValue(); bytes.append(UInt8(ascii: "[")); hasMember.append(false) }
    public mutating func endArray() { bytes.append(UInt8(ascii: "]")); hasMember.removeLast() }

    /// A member name; the value written next belongs to it (so it writes no comma itself).
    public mutating func key(_ k: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        k.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        pendingKey = true
    }
    private var pendingKey = false

    /// Called at the start of every value: a value right after its key takes no comma.
    private mutating func beginValue() {
        if pendingKey { pendingKey = false } else { separate() }
    }

    public mutating func object(_ k: StaticString) { key(k); beginObject() }
    public mutating func array(_ k: StaticString) { key(k); beginArray() }

    public mutating func value(_ v: UInt64) {
        beginValue()
        appendDecimal(v)
    }

    public mutating func value(_ v: Bool) {
        beginValue()
        appendStatic(v ? "true" : "false")
    }

    public mutating func value(_ s: StaticString) {
        beginValue()
        bytes.append(UInt8(ascii: "\""))
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
    }

    /// A string from arbitrary bytes: UTF-8 is kept when valid, control characters, quote and
    /// backslash are escaped (RFC 8259 §7); bytes of invalid UTF-8 become
    /// `\u00XX` escapes (their Latin-1 reading) so the output is always valid JSON.
    public mutating func value<C: Collection>(stringBytes s: C) where C.Element == UInt8 {
        beginValue()
        bytes.append(UInt8(ascii: "\""))
        let valid = Self.isValidUTF8(s)
        for b in s {
            switch b {
            case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\\")); bytes.append(b)
            case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(b)
            case 0x0a: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
            case 0x0d: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "r"))
            case 0x09: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "t"))
            case 0x00..<0x20, 0x7f: appendUnicodeEscape(b)
            case 0x80...0xff where !valid: appendUnicodeEscape(b)
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func value(string: String) { value(stringBytes: string.utf8) }

    /// A string of lowercase hex digits for `data`.
    public mutating func value<C: Collection>(hex data: C) where C.Element == UInt8 {
        beginValue()
        bytes.append(UInt8(ascii: "\""))
        for b in data { appendHexByte(b) }
        bytes.append(UInt8(ascii: "\""))
    }

    /// A hex string of a 32-bit value, eight digits (qlog's QUIC version format).
    public mutating func value(hex32 v: UInt32) {
        beginValue()
        bytes.append(UInt8(ascii: "\""))
        for shift in stride(from: 24, through: 0, by: -8) { appendHexByte(UInt8(truncatingIfNeeded: v >> UInt32(shift))) }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Microseconds written as milliseconds with three decimals (qlog's default time unit).
    public mutating func value(millisecondsFromMicroseconds us: UInt64) {
        beginValue()
        appendDecimal(us / 1000)
        bytes.append(UInt8(ascii: "."))
        let frac = us % 1000
        bytes.append(UInt8(ascii: "0") + UInt8(frac / 100))
        bytes.append(UInt8(ascii: "0") + UInt8(frac / 10 % 10))
        bytes.append(UInt8(ascii: "0") + UInt8(frac % 10))
    }

    // Convenience: key + value.
    public mutating func field(_ k: StaticString, _ v: UInt64) { key(k); value(v) }
    public mutating func field(_ k: StaticString, _ v: Bool) { key(k); value(v) }
    public mutating func field(_ k: StaticString, _ v: StaticString) { key(k); value(v) }
    public mutating func field<C: Collection>(_ k: StaticString, hex v: C) where C.Element == UInt8 { key(k); value(hex: v) }
    public mutating func field(_ k: StaticString, ms us: UInt64) { key(k); value(millisecondsFromMicroseconds: us) }

    // MARK: Helpers

    private mutating func appendStatic(_ s: StaticString) { s.withUTF8Buffer { bytes.append(contentsOf: $0) } }

    private mutating func appendDecimal(_ v: UInt64) {
        if v == 0 { bytes.append(UInt8(ascii: "0")); return }
        var digits: (UInt64, Int) = (v, 0)
        // At most 20 digits, written backwards into a buffer on the stack.
        var buf: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                  UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &buf) { p in
            while digits.0 > 0 {
                p[19 - digits.1] = UInt8(ascii: "0") + UInt8(digits.0 % 10)
                digits.0 /= 10
                digits.1 += 1
            }
            bytes.append(contentsOf: p[(20 - digits.1)...])
        }
    }

    private static let hexDigits: StaticString = "0123456789abcdef"

    private mutating func appendHexByte(_ b: UInt8) {
        Self.hexDigits.withUTF8Buffer { d in
            bytes.append(d[Int(b >> 4)])
            bytes.append(d[Int(b & 0x0f)])
        }
    }

    private mutating func appendUnicodeEscape(_ b: UInt8) {
        bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "u"))
        bytes.append(UInt8(ascii: "0")); bytes.append(UInt8(ascii: "0"))
        appendHexByte(b)
    }

    /// RFC 3629 well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
    static func isValidUTF8<C: Collection>(_ s: C) -> Bool where C.Element == UInt8 {
        var it = s.makeIterator()
        while let b = it.next() {
            if b < 0x80 { continue }
            var need = 0
            var lower: UInt8 = 0x80, upper: UInt8 = 0xbf
            switch b {
            case 0xc2...0xdf: need = 1
            case 0xe0: need = 2; lower = 0xa0
            case 0xe1...0xec, 0xee...0xef: need = 2
            case 0xed: need = 2; upper = 0x9f
            case 0xf0: need = 3; lower = 0x90
            case 0xf1...0xf3: need = 3
            case 0xf4: need = 3; upper = 0x8f
            default: return false
            }
            for i in 0..<need {
                guard let c = it.next() else { return false }
                if i == 0 { guard c >= lower && c <= upper else { return false } } else { guard c >= 0x80 && c <= 0xbf else { return false } }
            }
        }
        return true
    }
}
