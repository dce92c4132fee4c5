// Errors from the platform layer: a failed system call (with its errno) or a refused request.
import Glibc

/// The system call that failed, for error reports.
public enum SystemCall: String, Sendable {
    case socket, bind, connect, setsockopt, getsockopt, getsockname, fcntl
    case recvmmsg, sendmmsg
    case epollCreate = "epoll_create1", epollCtl = "epoll_ctl", epollWait = "epoll_wait"
    case eventfd, eventfdWrite = "eventfd write", eventfdRead = "eventfd read"
    case pthreadCreate = "pthread_create", pthreadJoin = "pthread_join"
}

public enum PlatformError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call failed with `errno`.
    case system(SystemCall, errno: Int32)
    /// The request would wait on the calling thread's own work (e.g. stopping a worker from
    /// one of its callbacks) and is refused instead of hanging.
    case wouldDeadlock
    /// The worker or pool is stopped (or stopping) and takes no more work.
    case stopped
    /// The call was made from a thread that does not own the object.
    case wrongThread
    /// An argument the platform layer cannot use (e.g. an IPv6 address for an IPv4 socket).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .system(call, errno: code):
            return "\(call.rawValue): \(String(cString: strerror(code))) (errno \(code))"
        case .wouldDeadlock: return "refused: would deadlock (called from the worker it waits for)"
        case .stopped: return "stopped"
        case .wrongThread: return "called from a thread that does not own the object"
        case let .invalidArgument(what): return "invalid argument: \(what)"
        }
    }

    @inline(__always)
    static func lastError(_ call: SystemCall) -> PlatformError { .system(call, errno: errno) }
}
