// The two exported entry points of libswiftquic.so (see cmake/msquic.map); everything else is
// reached through the QUIC_API_TABLE they hand out.

import CMsQuic

/// MsQuicOpenVersion: only QUIC_API_VERSION_2 exists (anything else is NOT_SUPPORTED, checked
/// first as in MsQuic); a NULL out-pointer is INVALID_PARAMETER. Each successful call takes a
/// reference on the library (the first starts it) and returns a table of its own, which
/// MsQuicClose gives back.
@_cdecl("MsQuicOpenVersion")
public func swiftquicOpenVersion(_ version: UInt32,
                                 _ apiTable: UnsafeMutablePointer<UnsafeRawPointer?>?) -> UInt32 {
    guard version == Limits.apiVersion2 else { return Status.notSupported }
    guard let apiTable else { return Status.invalidParameter }
    let table = ApiTable.make()
    Library.open(table: UnsafeMutableRawPointer(table))
    apiTable.pointee = UnsafeRawPointer(table)
    return Status.success
}

/// MsQuicClose: gives back a table from MsQuicOpenVersion; the last one releases the library
/// (closing any handle still open). NULL, or a pointer that is not an outstanding table, is
/// ignored.
@_cdecl("MsQuicClose")
public func swiftquicClose(_ apiTable: UnsafeRawPointer?) {
    guard let apiTable, Library.close(table: apiTable) else { return }
    let table = UnsafeMutablePointer<QUIC_API_TABLE>(mutating: apiTable.assumingMemoryBound(to: QUIC_API_TABLE.self))
    table.deinitialize(count: 1)
    table.deallocate()
}
