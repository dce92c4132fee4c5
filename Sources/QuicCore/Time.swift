// Time as types (issue 10). QuicCore never reads a clock (sans-IO): the owner passes `now` as a
// `QuicInstant`. Durations that come from outside (transport parameters in ms, QUIC_SETTINGS in
// ms, ACK Delay scaled by ack_delay_exponent) become a `QuicDuration` once, at the edge, with
// saturating construction; every operation after that saturates too, so no value a peer or an
// application can choose makes time arithmetic trap. UInt64.max µs (≈ 584,000 years) stands for
// "infinite" / "never".

/// A non-negative span of time, counted in microseconds. Saturating: values that do not fit
/// become `.infinite`; subtraction stops at `.zero`.
///
/// Deliberately not ExpressibleByIntegerLiteral: every duration says its unit
/// (`.milliseconds(25)`, `.microseconds(x)`), and `UInt64 * literal` stays unambiguous in
/// code that imports QuicCore.
public struct QuicDuration: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The length in microseconds; `UInt64.max` is `.infinite`.
    public let microseconds: UInt64

    @inlinable public init(microseconds: UInt64) { self.microseconds = microseconds }

    public static let zero = QuicDuration(microseconds: 0)
    /// Longer than any deadline: an idle timeout that never fires.
    public static let infinite = QuicDuration(microseconds: .max)

    @inlinable public static func microseconds(_ us: UInt64) -> QuicDuration { QuicDuration(microseconds: us) }

    /// Saturating: `milliseconds(2^62)` is `.infinite`, never a trap.
    @inlinable public static func milliseconds(_ ms: UInt64) -> QuicDuration {
        let (us, o) = ms.multipliedReportingOverflow(by: 1_000)
        return QuicDuration(microseconds: o ? .max : us)
    }

    /// Saturating, like `milliseconds(_:)`.
    @inlinable public static func seconds(_ s: UInt64) -> QuicDuration {
        let (us, o) = s.multipliedReportingOverflow(by: 1_000_000)
        return QuicDuration(microseconds: o ? .max : us)
    }

    public var isInfinite: Bool { microseconds == .max }
    public var isZero: Bool { microseconds == 0 }
    /// Whole milliseconds (rounded down; `.infinite` gives UInt64.max / 1000).
    public var milliseconds: UInt64 { microseconds / 1_000 }

    @inlinable public static func < (a: QuicDuration, b: QuicDuration) -> Bool { a.microseconds < b.microseconds }

    /// Saturating sum: anything plus `.infinite` is `.infinite`.
    @inlinable public static func + (a: QuicDuration, b: QuicDuration) -> QuicDuration {
        let (s, o) = a.microseconds.addingReportingOverflow(b.microseconds)
        return QuicDuration(microseconds: o ? .max : s)
    }

    /// Saturating difference: never below `.zero`. `.infinite` minus a finite span stays infinite.
    @inlinable public static func - (a: QuicDuration, b: QuicDuration) -> QuicDuration {
        if a.isInfinite { return .infinite }
        return QuicDuration(microseconds: a.microseconds > b.microseconds ? a.microseconds - b.microseconds : 0)
    }

    /// Saturating product.
    @inlinable public static func * (a: QuicDuration, k: UInt64) -> QuicDuration {
        let (p, o) = a.microseconds.multipliedReportingOverflow(by: k)
        return QuicDuration(microseconds: o ? .max : p)
    }

    @inlinable public static func * (k: UInt64, a: QuicDuration) -> QuicDuration { a * k }

    /// Division rounding down; dividing by 0 gives `.infinite` (no trap). `.infinite` stays infinite.
    @inlinable public static func / (a: QuicDuration, k: UInt64) -> QuicDuration {
        if k == 0 || a.isInfinite { return .infinite }
        return QuicDuration(microseconds: a.microseconds / k)
    }

    /// Saturating left shift (e.g. ACK Delay × 2^ack_delay_exponent, RFC 9000 §19.3; PTO backoff,
    /// RFC 9002 §6.2.1): any bit shifted out makes the result `.infinite`.
    @inlinable public func shifted(left bits: UInt64) -> QuicDuration {
        if microseconds == 0 { return self }
        if bits >= 64 || microseconds > (UInt64.max >> bits) { return .infinite }
        return QuicDuration(microseconds: microseconds << bits)
    }

    @inlinable public static func += (a: inout QuicDuration, b: QuicDuration) { a = a + b }
    @inlinable public static func -= (a: inout QuicDuration, b: QuicDuration) { a = a - b }

    public var description: String { isInfinite ? "∞" : "\(microseconds)µs" }
}

/// A point on the owner's monotonic clock, in microseconds from an origin the owner chooses
/// (the runtime: CLOCK_MONOTONIC). `UInt64.max` is `.never`. Saturating like `QuicDuration`:
/// `now + .infinite` is `.never`, and an instant never goes below 0.
///
/// An integer literal is a count of microseconds (for tests and fixed origins).
public struct QuicInstant: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    public let microseconds: UInt64

    @inlinable public init(microseconds: UInt64) { self.microseconds = microseconds }
    @inlinable public init(integerLiteral value: UInt64) { self.microseconds = value }

    /// The clock's origin.
    public static let zero = QuicInstant(microseconds: 0)
    /// After every real instant: the deadline of a timer that does not run.
    public static let never = QuicInstant(microseconds: .max)

    public var isNever: Bool { microseconds == .max }

    @inlinable public static func < (a: QuicInstant, b: QuicInstant) -> Bool { a.microseconds < b.microseconds }

    /// Saturating: a deadline beyond the representable range is `.never`.
    @inlinable public static func + (t: QuicInstant, d: QuicDuration) -> QuicInstant {
        let (s, o) = t.microseconds.addingReportingOverflow(d.microseconds)
        return QuicInstant(microseconds: o ? .max : s)
    }

    @inlinable public static func + (d: QuicDuration, t: QuicInstant) -> QuicInstant { t + d }

    /// Saturating: never before the origin. `.never` stays `.never`.
    @inlinable public static func - (t: QuicInstant, d: QuicDuration) -> QuicInstant {
        if t.isNever { return .never }
        return QuicInstant(microseconds: t.microseconds > d.microseconds ? t.microseconds - d.microseconds : 0)
    }

    /// The time from `b` to `a`; `.zero` when `b` is not before `a` (a clock read on another
    /// thread may be slightly behind; a sample is never negative).
    @inlinable public static func - (a: QuicInstant, b: QuicInstant) -> QuicDuration {
        if a.isNever && !b.isNever { return .infinite }
        return QuicDuration(microseconds: a.microseconds > b.microseconds ? a.microseconds - b.microseconds : 0)
    }

    @inlinable public static func += (t: inout QuicInstant, d: QuicDuration) { t = t + d }
    @inlinable public static func -= (t: inout QuicInstant, d: QuicDuration) { t = t - d }

    public var description: String { isNever ? "never" : "\(microseconds)µs" }
}
