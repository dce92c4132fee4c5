// Client side of NEW_TOKEN (RFC 9000 §8.1.3, §19.7): the tokens servers gave our clients, one
// per server (its name as the application gave it, and the port), for the Initial of the next
// connection to that server, where they let the server skip address validation (no Retry, no
// amplification limit).
//
// MsQuic 2.6's client parses NEW_TOKEN and drops it (connection.c: "TODO - Save the token for
// future use"); we keep it, in a small process-wide cache, because the issue asks for the
// mechanism and a server that sends tokens (ours, aioquic, quic-go, ...) then validates our
// clients' addresses at no cost. Bounded: at most `capacity` servers, the oldest forgotten first,
// tokens longer than `maxTokenLength` ignored.

import QuicCore
import Synchronization

enum NewTokenCache {
    static let capacity = 64
    static let maxTokenLength = 512

    private struct State {
        var tokens: [String: [UInt8]] = [:]
        var order: [String] = []   // oldest first
    }
    private static let state = Mutex(State())

    static func key(server: String, port: UInt16) -> String { "\(server):\(port)" }

    /// Keeps the latest token of a server (RFC 9000 §8.1.3: a client may receive several and
    /// uses one; the most recent is the most likely to be valid).
    static func store(_ token: [UInt8], for key: String) {
        guard !token.isEmpty, token.count <= maxTokenLength else { return }
        state.withLock { s in
            if s.tokens.updateValue(token, forKey: key) != nil { s.order.removeAll { $0 == key } }
            s.order.append(key)
            while s.order.count > capacity { s.tokens[s.order.removeFirst()] = nil }
        }
    }

    /// Takes the token of a server out of the cache: RFC 9000 §8.1.3, "clients SHOULD NOT reuse
    /// a token from a NEW_TOKEN frame for different connection attempts" (linkability, §9.5).
    static func take(for key: String) -> [UInt8]? {
        state.withLock { s in
            guard let token = s.tokens.removeValue(forKey: key) else { return nil }
            s.order.removeAll { $0 == key }
            return token
        }
    }

    /// Tests: whether a server has a token waiting.
    static func contains(_ key: String) -> Bool { state.withLock { $0.tokens[key] != nil } }
}
