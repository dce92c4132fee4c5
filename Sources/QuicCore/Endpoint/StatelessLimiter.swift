/// Rate limits for what an endpoint sends without connection state (Version Negotiation,
/// Retry, Stateless Reset): anyone can make us send these, with a spoofed source address too,
/// so each costs the sender no more than it costs us and none can loop.
///
/// - One answer per remote (address and port) per `interval` (RFC 9000 §10.3.3: an endpoint
///   limits the Stateless Resets it sends so two endpoints cannot ping-pong them; MsQuic keeps
///   one stateless operation per remote for 100 ms).
/// - At most `capacity` remotes remembered: when the table is full of unexpired entries, the
///   answer is refused (bounded memory, and a bounded rate of `capacity / interval`).
/// - Stateless Resets also draw from a token bucket (§10.3.3: "stop generating new Stateless
///   Resets once a limit is reached").
struct StatelessLimiter {
    private var lastAnswer: [SocketAddress: QuicInstant] = [:]
    /// Remotes in the order they were answered, for expiry (entries are appended with
    /// non-decreasing times; `head` skips consumed entries without shifting the array).
    private var order: [(SocketAddress, QuicInstant)] = []
    private var head = 0
    private var resetTokens: Int
    private var resetRefilledAt: QuicInstant = .zero

    init(resetBurst: Int) {
        resetTokens = max(0, resetBurst)
    }

    var rememberedRemotes: Int { lastAnswer.count }

    /// Whether a stateless answer may go to `remote` at `now`; records it when it may.
    mutating func allow(_ remote: SocketAddress, now: QuicInstant, interval: QuicDuration, capacity: Int) -> Bool {
        guard wouldAllow(remote, now: now, interval: interval, capacity: capacity) else { return false }
        lastAnswer[remote] = now
        order.append((remote, now))
        return true
    }

    /// Whether `allow` would say yes now, without recording anything (expired entries go).
    mutating func wouldAllow(_ remote: SocketAddress, now: QuicInstant, interval: QuicDuration, capacity: Int) -> Bool {
        expire(now: now, interval: interval)
        if let t = lastAnswer[remote], now >= t, now - t < interval { return false }
        return lastAnswer.count < capacity || lastAnswer[remote] != nil
    }

    /// Takes a Stateless Reset token from the bucket (refilled at `perSecond`, up to `burst`).
    mutating func takeResetToken(now: QuicInstant, burst: Int, perSecond: Int) -> Bool {
        let cap = UInt64(max(0, burst))
        if perSecond > 0, now > resetRefilledAt {
            // Whole tokens earned since the last refill; the remainder keeps accruing.
            let perToken = 1_000_000 / UInt64(min(perSecond, 1_000_000))
            let earned = (now - resetRefilledAt).microseconds / perToken
            if earned > 0 {
                let total = UInt64(resetTokens) + min(earned, cap)
                if total >= cap {
                    resetTokens = Int(cap)
                    resetRefilledAt = now
                } else {
                    resetTokens = Int(total)
                    // ≤ now: earned * perToken ≤ now - resetRefilledAt
                    resetRefilledAt += .microseconds(earned * perToken)
                }
            }
        }
        guard resetTokens > 0 else { return false }
        resetTokens -= 1
        return true
    }

    private mutating func expire(now: QuicInstant, interval: QuicDuration) {
        while head < order.count {
            let (remote, t) = order[head]
            guard now >= t, now - t >= interval else { break }
            if lastAnswer[remote] == t { lastAnswer[remote] = nil }
            head += 1
        }
        if head > 64 && head * 2 >= order.count {
            order.removeFirst(head)
            head = 0
        }
    }
}
