#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import QuicCore
import QuicWire

// Files for qlog traces: one `<odcid-hex>_<server|client>.sqlog` per connection in a folder
// (the convention of quiche, ngtcp2's examples and aioquic), written from the connection's
// thread in large buffered chunks (QlogTrace), closed when the connection ends.

/// A file opened for one trace. Writes are whole buffers (a loop over partial writes and
/// EINTR); an I/O error stops the trace's output rather than the connection.
public final class QlogFileSink: QlogSink {
    private var fd: Int32

    /// Creates (or truncates) `path`; nil when it cannot be opened.
    public init?(path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return nil }
        self.fd = fd
    }

    deinit { close() }

    public func write(_ bytes: [UInt8]) {
        guard fd >= 0 else { return }
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    _ = Glibc.close(fd); fd = -1
                    return
                }
                offset += n
            }
        }
    }

    public func close() {
        if fd >= 0 { _ = Glibc.close(fd); fd = -1 }
    }
}

/// Makes a file-backed `QlogTrace` for each connection, in `directory`.
public final class QlogDirectoryFactory: ConnectionObserverFactory {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    /// The factory for the folder named by `QLOGDIR`, nil when it is unset or empty.
    public static func fromEnvironment() -> QlogDirectoryFactory? {
        guard let v = getenv("QLOGDIR") else { return nil }
        let dir = String(cString: v)
        return dir.isEmpty ? nil : QlogDirectoryFactory(directory: dir)
    }

    /// `<odcid-hex>_<server|client>.sqlog`.
    public static func fileName(role: EndpointRole, originalDestinationCID: ConnectionID) -> String {
        let digits: [Character] = Array("0123456789abcdef")
        var name = ""
        for b in originalDestinationCID.bytes {
            name.append(digits[Int(b >> 4)]); name.append(digits[Int(b & 0x0f)])
        }
        return name + (role == .server ? "_server.sqlog" : "_client.sqlog")
    }

    public func makeObserver(role: EndpointRole, originalDestinationCID: ConnectionID) -> ConnectionObserver? {
        let path = directory + "/" + Self.fileName(role: role, originalDestinationCID: originalDestinationCID)
        guard let sink = QlogFileSink(path: path) else { return nil }
        return QlogTrace(role: role, originalDestinationCID: originalDestinationCID,
                         referenceTimeMs: Self.wallClockMilliseconds(), sink: sink)
    }

    static func wallClockMilliseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(max(0, ts.tv_sec)) * 1000 + UInt64(max(0, ts.tv_nsec)) / 1_000_000
    }
}
