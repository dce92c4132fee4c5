// Handles: what an HQUIC points at, and how every API call checks one.
//
// MsQuic hands out pointers to its objects; their first field is the QUIC_HANDLE_TYPE and the
// second the application's context, and the API trusts any non-NULL pointer far enough to read
// that type field. We keep the same head (type tag at offset 0) in a small block of raw memory
// per handle, followed by an `Unmanaged` reference to the Swift object (the handle's own
// retain, given back when the handle is closed):
//
//     offset 0   UInt32  QUIC_HANDLE_TYPE
//     offset 4   UInt32  (zero)
//     offset 8   void*   (reserved: MsQuic's ClientContext slot; we keep the context atomically
//                        in the object instead)
//     offset 16  void*   Unmanaged<QuicObject>, retained while the handle is open
//
// Validation is stronger than MsQuic's: every handle passed in is looked up in a registry of
// the blocks that are currently open before anything at the pointer is read. NULL, a pointer
// that was never a handle (garbage, a stack address, a closed handle) and a handle of the wrong
// type all give QUIC_STATUS_INVALID_PARAMETER (or are ignored by the void entries) and are never
// dereferenced. The one case no registry can catch is a closed handle whose address the
// allocator has reused for a newer handle: the stale pointer then names the new object, exactly
// as it would in MsQuic. The registry costs one mutex acquisition per call.

import QuicPlatform
import Synchronization

/// Base of every object an HQUIC can name (registration, configuration; later listener,
/// connection, stream).
///
/// Sendable (unchecked): `handleType` and `block` are `let`s; the block is written before the
/// handle is registered (under the registry mutex, which every lookup takes) and not after;
/// the context and the close claim are atomics. Subclasses say why their own state is safe.
class QuicObject: @unchecked Sendable {
    let handleType: HandleType
    /// The memory an HQUIC points at (layout above). Lives as long as the object, so a worker
    /// that still holds the object after the handle was closed never touches freed memory.
    let block: UnsafeMutableRawPointer
    /// The application's context pointer (SetContext/GetContext/SetCallbackHandler).
    private let contextBits = Atomic<UInt>(0)
    /// Set by the first ConnectionClose/StreamClose of this handle: a second close of the same
    /// handle (an application bug MsQuic does not survive either) is ignored instead of closing
    /// twice while the first is still delivering its last events.
    private let closeClaimed = Atomic<Bool>(false)

    init(handleType: HandleType) {
        self.handleType = handleType
        block = UnsafeMutableRawPointer.allocate(byteCount: 24, alignment: 8)
        block.initializeMemory(as: UInt8.self, repeating: 0, count: 24)
        block.storeBytes(of: handleType.rawValue, toByteOffset: 0, as: UInt32.self)
    }

    deinit { block.deallocate() }

    /// The HQUIC of this object.
    var handle: OpaquePointer { OpaquePointer(block) }

    var context: UnsafeMutableRawPointer? {
        get { UnsafeMutableRawPointer(bitPattern: contextBits.load(ordering: .acquiring)) }
        set { contextBits.store(UInt(bitPattern: newValue), ordering: .releasing) }
    }

    /// True for the one caller that may close this handle.
    func claimClose() -> Bool {
        !closeClaimed.exchange(true, ordering: .acquiringAndReleasing)
    }

    /// Installs an application callback (SetCallbackHandler). The base object has none
    /// (registrations and configurations take no callback in MsQuic).
    func setCallbackHandler(_ handler: UnsafeMutableRawPointer?) -> Bool { false }
}

/// An object that delivers events to an application callback: listeners, connections and
/// streams. The handler is read on the worker and replaced from any thread (SetCallbackHandler).
///
/// Sendable (unchecked): adds only the atomic handler slot.
class CallbackObject: QuicObject, @unchecked Sendable {
    private let handlerBits = Atomic<UInt>(0)

    init(handleType: HandleType, handler: UnsafeRawPointer?) {
        super.init(handleType: handleType)
        handlerBits.store(UInt(bitPattern: handler), ordering: .releasing)
    }

    var handler: UnsafeRawPointer? { UnsafeRawPointer(bitPattern: handlerBits.load(ordering: .acquiring)) }

    override func setCallbackHandler(_ handler: UnsafeMutableRawPointer?) -> Bool {
        handlerBits.store(UInt(bitPattern: handler), ordering: .releasing)
        return true
    }
}

/// The registry of open handles.
enum Handles {
    private static let open = Mutex<Set<UInt>>([])

    /// Makes `object` reachable through its HQUIC; the handle holds one retain until closed.
    static func register(_ object: QuicObject) {
        let ref = Unmanaged.passRetained(object).toOpaque()
        object.block.storeBytes(of: ref, toByteOffset: 16, as: UnsafeMutableRawPointer.self)
        let key = UInt(bitPattern: object.block)
        open.withLock { _ = $0.insert(key) }
    }

    /// The object an HQUIC names, if it is an open handle. Never reads through a pointer that is
    /// not in the registry.
    static func object(_ handle: OpaquePointer?) -> QuicObject? {
        guard let handle else { return nil }
        let raw = UnsafeMutableRawPointer(handle)
        let key = UInt(bitPattern: raw)
        return open.withLock { set -> QuicObject? in
            guard set.contains(key) else { return nil }
            let ref = raw.load(fromByteOffset: 16, as: UnsafeMutableRawPointer.self)
            return Unmanaged<QuicObject>.fromOpaque(ref).takeUnretainedValue()
        }
    }

    /// The object an HQUIC names if it is open and of type `T`.
    static func object<T: QuicObject>(_ handle: OpaquePointer?, as type: T.Type) -> T? {
        object(handle) as? T
    }

    /// Closes the handle of `object`: the HQUIC stops being valid and the handle's retain is
    /// given back. Returns false if it was not open (closed twice).
    @discardableResult
    static func unregister(_ object: QuicObject) -> Bool {
        let key = UInt(bitPattern: object.block)
        let removed = open.withLock { $0.remove(key) != nil }
        if removed { Unmanaged.passUnretained(object).release() }
        return removed
    }

    /// ConnectionClose / StreamClose: `finish` runs on `worker` (it delivers the last events,
    /// e.g. SHUTDOWN_COMPLETE with AppCloseInProgress, and stops any further one) and only then
    /// is the handle closed. Closing the handle first would let those last callbacks, and stream
    /// events racing a StreamClose made on another thread, see their own handle already invalid
    /// (GetContext NULL, every call on it INVALID_PARAMETER), which MsQuic never does: the
    /// handle and its context stay valid until after the final callback.
    /// From an application thread this waits for the worker; inline on the object's own
    /// worker; from another worker's callback (which must not wait) it is queued.
    static func close(_ object: QuicObject, on worker: Worker, _ finish: @escaping @Sendable () -> Void) {
        guard object.claimClose() else { return }
        let body: @Sendable () -> Void = { finish(); unregister(object) }
        if worker.isCurrent { body(); return }
        if Worker.current != nil {
            if !worker.post(body) { unregister(object) }
            return
        }
        // Only a stopped worker refuses (the library is closing): the handle still goes.
        do { try worker.runAndWait(body) } catch { unregister(object) }
    }

    /// Forgets every open handle (the last MsQuicClose). Returns the objects so the caller can
    /// tear them down outside the lock.
    static func unregisterAll() -> [QuicObject] {
        let keys = open.withLock { set -> [UInt] in
            let all = Array(set)
            set.removeAll()
            return all
        }
        return keys.compactMap { key in
            guard let raw = UnsafeMutableRawPointer(bitPattern: key) else { return nil }
            let ref = raw.load(fromByteOffset: 16, as: UnsafeMutableRawPointer.self)
            return Unmanaged<QuicObject>.fromOpaque(ref).takeRetainedValue()
        }
    }
}
