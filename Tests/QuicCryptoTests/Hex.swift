// Hex helpers for the test vectors (RFC text is copied with its spaces and line breaks).

/// Bytes of a hex string; whitespace is ignored. Traps on malformed input (test data only).
func hex(_ s: String) -> [UInt8] {
    let digits = s.unicodeScalars.filter { !$0.properties.isWhitespace }.map { Character($0) }
    precondition(digits.count % 2 == 0, "odd number of hex digits")
    var out: [UInt8] = []
    out.reserveCapacity(digits.count / 2)
    var i = 0
    while i < digits.count {
        guard let b = UInt8(String(digits[i...i + 1]), radix: 16) else { preconditionFailure("bad hex digit") }
        out.append(b)
        i += 2
    }
    return out
}

/// Lower-case hex of `bytes`.
func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { b in
        let h = String(b, radix: 16)
        return h.count == 1 ? "0" + h : h
    }.joined()
}
