// The two exported entry points of libswiftquic.so (see cmake/msquic.map).
// Skeleton only: the API table arrives with the foundation issue.

@_cdecl("MsQuicOpenVersion")
public func MsQuicOpenVersion(_ version: UInt32, _ apiTable: UnsafeMutablePointer<UnsafeRawPointer?>?) -> Int32 {
    return 95 // QUIC_STATUS_NOT_SUPPORTED (EOPNOTSUPP) until the table exists
}

@_cdecl("MsQuicClose")
public func MsQuicClose(_ apiTable: UnsafeRawPointer?) {}
