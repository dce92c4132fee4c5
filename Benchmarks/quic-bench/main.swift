// quic-bench: packet protection throughput of QuicCrypto on one core, to set next to
// `openssl speed -evp aes-128-gcm -bytes 1024` (see BENCHMARKS.md for how they compare).
//
//   swift run -c release quic-bench [seconds-per-measurement] [repetitions] [suite]
//
// `suite` (aes128, aes256, chacha20) limits the run to one cipher suite (for profiling).
//
// Every measurement runs for the given time (default 1 s) and is repeated (default 3 times);
// the best repetition is printed, because the machine is shared. Rates are operations per
// second of CPU time of this thread, the way `openssl speed` divides by the CPU time of its
// process by default (without `-elapsed`): on a loaded machine wall-clock rates would count
// the time other processes hold the core.
import Glibc
import QuicCrypto

let packetSize = 1200
let secondsPerRun = CommandLine.arguments.count > 1 ? Double(CommandLine.arguments[1]) ?? 1 : 1
let repetitions = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 3 : 3
let suiteFilter = CommandLine.arguments.count > 3 ? CommandLine.arguments[3] : ""

func clock(_ id: clockid_t) -> Double {
    var ts = timespec()
    clock_gettime(id, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Wall-clock time, which bounds how long a measurement runs.
func now() -> Double { clock(CLOCK_MONOTONIC) }

/// CPU time consumed by this thread, the divisor of every rate.
func cpuTime() -> Double { clock(CLOCK_THREAD_CPUTIME_ID) }

/// With Fuzz/DecodeBench/count.c preloaded (LD_PRELOAD), its malloc counter; every
/// measurement then also prints the malloc calls made while it ran.
typealias MallocCount = @convention(c) () -> UInt
let mallocCount: MallocCount? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "wire_malloc_count")
    .map { unsafeBitCast($0, to: MallocCount.self) }

/// Runs `body` (which does `batch` operations per call) until `secondsPerRun` of wall-clock
/// time elapse, and returns operations per second of this thread's CPU time; the best of
/// `repetitions` runs.
func measure(batch: Int, _ body: () -> Void) -> Double {
    var best = 0.0
    for _ in 0..<repetitions {
        var operations = 0
        let mallocsBefore = mallocCount?() ?? 0
        let start = now()
        let cpuStart = cpuTime()
        repeat {
            body()
            operations += batch
        } while now() - start < secondsPerRun
        let cpu = cpuTime() - cpuStart
        if let mallocCount {
            let mallocs = mallocCount() - mallocsBefore
            print("    (\(mallocs) malloc calls in \(operations) operations)")
        }
        if cpu > 0 { best = max(best, Double(operations) / cpu) }
    }
    return best
}

func fail(_ message: String) -> Never {
    print("quic-bench: \(message)")
    exit(1)
}

func keys(_ suite: CipherSuite) -> PacketProtectionKeys {
    let secret = (0..<suite.hash.digestLength).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
    return PacketProtectionKeys(suite: suite, secret: secret, version: .v1)
}

// A 1-RTT packet: short header with an 8-byte DCID and a 4-byte packet number (13 bytes),
// 1171 bytes of payload, 16-byte tag: 1200 bytes in all.
let pnOffset = 9
let pnLength = 4
let headerLength = pnOffset + pnLength

func fmt(_ x: Double, _ decimals: Int = 1) -> String {
    var p = 1.0
    for _ in 0..<decimals { p *= 10 }
    let r = (x * p).rounded() / p
    var s = "\(r)"
    if let dot = s.firstIndex(of: ".") {
        let frac = s[s.index(after: dot)...].count
        if frac < decimals { s += String(repeating: "0", count: decimals - frac) }
    }
    return s
}

print("quic-bench: \(packetSize)-byte packets (13-byte short header, \(packetSize - headerLength - 16)-byte payload, "
    + "16-byte tag), \(fmt(secondsPerRun)) s x \(repetitions) runs, best run shown")
print("MB = 10^6 bytes; bytes/s count each packet's \(packetSize) bytes once per operation (seal or open)")
print("")

let batch = 64
let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: packetSize, alignment: 16)
defer { buffer.deallocate() }

for suite in CipherSuite.allCases where suiteFilter.isEmpty || "\(suite)".lowercased().hasPrefix(suiteFilter) {
    let k = keys(suite)
    let aead: PacketAEAD
    let protector: PacketProtector
    do {
        aead = try PacketAEAD(keys: k)
        protector = try PacketProtector(keys: k)
    } catch {
        fail("cannot create keys for \(suite): \(error)")
    }
    for i in 0..<packetSize { buffer[i] = UInt8(truncatingIfNeeded: i) }
    buffer[0] = 0x43 // short header, 4-byte packet number
    var pn: UInt64 = 0

    // 1. AEAD only: seal then open the same packet, in place.
    let sealOpenRate = measure(batch: batch) {
        for _ in 0..<batch {
            pn &+= 1
            do {
                try aead.seal(packet: buffer, headerLength: headerLength, packetNumber: pn)
                try aead.open(packet: buffer, headerLength: headerLength, packetNumber: pn)
            } catch {
                fail("seal/open failed: \(error)")
            }
        }
    }
    // 2. Seal alone (the buffer's payload is re-encrypted each time, which is fine).
    let sealRate = measure(batch: batch) {
        for _ in 0..<batch {
            pn &+= 1
            do { try aead.seal(packet: buffer, headerLength: headerLength, packetNumber: pn) } catch {
                fail("seal failed: \(error)")
            }
        }
    }
    // 3. Whole packet: AEAD + header protection, both ways.
    let packetRate = measure(batch: batch) {
        for _ in 0..<batch {
            pn &+= 1
            // The encoded packet number is part of the header (and of the AAD).
            buffer.storeBytes(of: UInt32(truncatingIfNeeded: pn).bigEndian, toByteOffset: pnOffset, as: UInt32.self)
            do {
                try protector.protect(packet: buffer, pnOffset: pnOffset, pnLength: pnLength, packetNumber: pn)
                let r = try protector.unprotect(packet: buffer, pnOffset: pnOffset, largestPacketNumber: pn &- 1)
                if r.packetNumber != pn { fail("packet number mismatch") }
            } catch {
                fail("protect/unprotect failed: \(error)")
            }
        }
    }
    // 4. Header protection alone: apply + remove (two masks per iteration).
    let hp = protector.headerProtection
    let hpRate = measure(batch: batch) {
        for _ in 0..<batch {
            do {
                try hp.apply(packet: buffer, pnOffset: pnOffset, pnLength: pnLength)
                _ = try hp.remove(packet: buffer, pnOffset: pnOffset)
            } catch {
                fail("header protection failed: \(error)")
            }
        }
    }

    // 5. Header protection masks in batches of 32 samples (one ECB call for AES).
    let hpBatch = 32
    let samples = UnsafeMutableRawBufferPointer.allocate(byteCount: 16 * hpBatch, alignment: 16)
    defer { samples.deallocate() }
    for i in 0..<samples.count { samples[i] = UInt8(truncatingIfNeeded: i &* 7) }
    let batchRate = measure(batch: hpBatch) {
        do { try hp.masks(samples: samples.baseAddress!, count: hpBatch, into: samples.baseAddress!) } catch {
            fail("batched header protection failed: \(error)")
        }
    }

    let size = Double(packetSize)
    print("\(suite):")
    print("  seal+open (AEAD)        \(fmt(sealOpenRate / 1000)) k pairs/s = \(fmt(2 * sealOpenRate * size / 1e6)) MB/s")
    print("  seal only (AEAD)        \(fmt(sealRate / 1000)) k packets/s = \(fmt(sealRate * size / 1e6)) MB/s")
    print("  protect+unprotect (+HP) \(fmt(packetRate / 1000)) k pairs/s = \(fmt(2 * packetRate * size / 1e6)) MB/s")
    print("  header protection       \(fmt(2 * hpRate / 1e6, 2)) M masks/s (apply+remove, one packet at a time)")
    print("  header protection x32   \(fmt(batchRate / 1e6, 2)) M masks/s (masks(samples:count:), batches of \(hpBatch))")
}

// Cold path, but paid for every new connection (and every Initial with a new DCID a server
// must open): Initial secrets and keys (RFC 9001 §5.2), and the contexts of one direction.
var dcid: [UInt8] = [0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08]
let deriveRate = measure(batch: 16) {
    for _ in 0..<16 {
        dcid[0] &+= 1
        let k = InitialSecrets.keys(version: .v1, destinationConnectionID: dcid)
        if k.client.key.count != 16 { fail("bad key") }
    }
}
let setupRate = measure(batch: 16) {
    for _ in 0..<16 {
        dcid[0] &+= 1
        let k = InitialSecrets.keys(version: .v1, destinationConnectionID: dcid)
        do { _ = try PacketProtector(keys: k.client) } catch { fail("setup failed: \(error)") }
    }
}
print("initial keys:")
print("  derive client+server    \(fmt(deriveRate / 1000)) k/s (\(fmt(1e6 / deriveRate, 2)) us each)")
print("  derive + one protector  \(fmt(setupRate / 1000)) k/s (\(fmt(1e6 / setupRate, 2)) us each)")
