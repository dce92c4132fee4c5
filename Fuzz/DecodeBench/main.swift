// Decode throughput and allocation check for the packet path: splits the "short" seed
// datagram (31 frames of every type) and decodes its frames 200,000 times; run under
// LD_PRELOAD=libcount.so to count malloc calls in the timed loop (expected: 0). See RESULTS.md.
import Glibc
import QuicWire

let seed = { () -> [UInt8] in
    let f = fopen(CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "Fuzz/seeds/short", "rb")!
    var out: [UInt8] = []
    var b = [UInt8](repeating: 0, count: 4096)
    let n = fread(&b, 1, 4096, f); fclose(f)
    out = Array(b[0..<n]); return out
}()
let datagram = Array(seed.dropFirst())
var frames = 0
var checksum: UInt64 = 0
func run(_ iterations: Int) {
    datagram.withUnsafeBytes { buf in
        for _ in 0..<iterations {
            var it = CoalescedPackets(buf, shortHeaderDCIDLength: 8)
            while let h = try? it.next() {
                guard let u = try? h.unprotected(firstByte: h.firstByte, in: buf) else { break }
                var d = FrameDecoder(buf, start: u.payloadOffset, end: u.payloadEnd, packetKind: h.kind)
                while let f = try? d.next() {
                    frames += 1
                    if case .stream(let s) = f { checksum &+= s.streamID &+ UInt64(s.data.count) }
                    if case .ack(let a) = f { for r in a.ranges(in: buf) { checksum &+= r.lowerBound } }
                }
            }
        }
    }
}
run(1000)
typealias CountFn = @convention(c) () -> UInt
let counter = unsafeBitCast(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "wire_malloc_count")!, to: CountFn.self)
let before = counter()
var t0 = timespec(); clock_gettime(CLOCK_MONOTONIC, &t0)
frames = 0
run(200_000)
var t1 = timespec(); clock_gettime(CLOCK_MONOTONIC, &t1)
let after = counter()
let secs = Double(t1.tv_sec - t0.tv_sec) + Double(t1.tv_nsec - t0.tv_nsec) / 1e9
print("frames \(frames) in \(secs)s = \(Int(Double(frames) / secs)) frames/s, \(Int(Double(200_000) / secs)) datagrams/s; checksum \(checksum)")
print("malloc calls during the timed loop: \(after - before)")
