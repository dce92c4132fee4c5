// CUBIC congestion avoidance (RFC 9438 §4): the window follows
// W_cubic(t) = C·(t − K)³ + W_max, with a Reno-friendly lower bound W_est. Windows are in
// segments (max datagram size units) and time in seconds as the RFC writes them.

/// RFC 9438 §5.1: C = 0.4.
let cubicC: Double = 0.4
/// RFC 9438 §4.6: β_cubic = 0.7.
let cubicBeta: Double = 0.7
/// RFC 9438 §4.3: α_cubic = 3·(1 − β)/(1 + β).
let cubicAlpha: Double = 3 * (1 - cubicBeta) / (1 + cubicBeta)

struct CubicState: Sendable, Equatable {
    /// W_max in segments (0 = no congestion event yet in this epoch's history).
    var wMax: Double = 0
    /// K in seconds.
    var k: Double = 0
    /// t_epoch (µs): start of the current congestion avoidance stage; nil = not started.
    var epochStart: QuicInstant?
    /// W_est in segments (RFC 9438 §4.3).
    var wEst: Double = 0
    /// cwnd_prior in segments: the window just before the last reduction (§4.3 α switch).
    var cwndPrior: Double = 0
}

/// Cube root without libm: Newton's method on x³ = v (v ≥ 0).
func cubeRoot(_ v: Double) -> Double {
    if v <= 0 { return v < 0 ? -cubeRoot(-v) : 0 }
    var x = v > 1 ? v / 3 : 1
    var i = 0
    while i < 100 {
        let next = x - (x * x * x - v) / (3 * x * x)
        if abs(next - x) <= 1e-12 * max(abs(x), 1) { return next }
        x = next
        i += 1
    }
    return x
}

extension CubicState {
    /// RFC 9438 Figure 1: W_cubic(t) in segments, t in seconds since the epoch.
    func wCubic(_ t: Double) -> Double {
        let d = t - k
        return cubicC * d * d * d + wMax
    }

    /// RFC 9438 Figure 2: K = ∛((W_max − cwnd_epoch)/C).
    static func k(wMax: Double, cwndEpoch: Double) -> Double {
        cubeRoot(max(wMax - cwndEpoch, 0) / cubicC)
    }
}

extension CongestionController {
    var cwndSegments: Double { Double(congestionWindow) / Double(maxDatagramSize) }

    /// RFC 9438 §4.6, §4.7: multiplicative decrease with fast convergence.
    mutating func cubicOnCongestionEvent() {
        let cwnd = cwndSegments
        cubic.cwndPrior = cwnd
        // §4.7 fast convergence: a flow whose window is below its last W_max releases bandwidth.
        if config.fastConvergence && cwnd < cubic.wMax {
            cubic.wMax = cwnd * (1 + cubicBeta) / 2
        } else {
            cubic.wMax = cwnd
        }
        // §4.6: ssthresh = cwnd × β_cubic, no lower than the minimum window.
        let reduced = UInt64(Double(congestionWindow) * cubicBeta)
        slowStartThreshold = max(reduced, minimumWindow)
        congestionWindow = slowStartThreshold
        // The next congestion avoidance stage starts a new epoch (§4.2).
        cubic.epochStart = nil
    }

    /// RFC 9438 §4.2-§4.5: window increase in congestion avoidance for `bytes` acknowledged.
    mutating func cubicOnAck(bytes: UInt64, now: QuicInstant, smoothedRTT: QuicDuration) {
        let segmentSize = Double(maxDatagramSize)
        if cubic.epochStart == nil {
            // §4.2: a new congestion avoidance stage; cwnd_epoch = cwnd.
            cubic.epochStart = now
            let cwnd = cwndSegments
            if cubic.wMax < cwnd {
                // No reduction led here (slow start ended at ssthresh, or after a timeout,
                // §4.8): the curve starts on its plateau, K = 0, W_max = cwnd.
                cubic.wMax = cwnd
                cubic.k = 0
            } else {
                cubic.k = CubicState.k(wMax: cubic.wMax, cwndEpoch: cwnd)
            }
            // §4.3: W_est starts at cwnd_epoch.
            cubic.wEst = cwnd
        }
        let epoch = cubic.epochStart ?? now
        let t = Double((now - epoch).microseconds) / 1_000_000
        let rtt = Double(smoothedRTT.microseconds) / 1_000_000
        let cwnd = cwndSegments
        let acked = Double(bytes) / segmentSize

        // §4.3 Reno-friendly estimate: α_cubic per window of acknowledged segments, 1 once
        // W_est has reached the window before the last reduction.
        let alpha = cubic.wEst >= cubic.cwndPrior ? 1.0 : cubicAlpha
        cubic.wEst += alpha * acked / max(cwnd, 1)

        let wCubicNow = cubic.wCubic(t)
        var newWindow: Double
        if wCubicNow < cubic.wEst {
            // §4.3: Reno-friendly region: cwnd = W_est.
            newWindow = cubic.wEst
        } else {
            // §4.4/§4.5 concave and convex regions: target = W_cubic(t + RTT), bounded to
            // [cwnd, 1.5·cwnd]; cwnd grows by (target − cwnd)/cwnd per segment acknowledged.
            let target = min(max(cubic.wCubic(t + rtt), cwnd), 1.5 * cwnd)
            newWindow = cwnd + (target - cwnd) / max(cwnd, 1) * acked
        }
        newWindow = max(newWindow, cwnd) // avoidance never shrinks the window
        let bytesWindow = newWindow * segmentSize
        if bytesWindow.isFinite && bytesWindow < Double(UInt64.max / 2) {
            congestionWindow = max(UInt64(bytesWindow), congestionWindow)
        }
    }
}
