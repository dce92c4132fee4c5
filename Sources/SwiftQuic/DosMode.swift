// QUIC_LISTENER_EVENT_DOS_MODE_CHANGED (msquic.h; MsQuic library.c
// QuicLibraryEvaluateSendRetryState -> binding.c QuicBindingHandleDosModeStateChange ->
// listener.c QuicListenerHandleDosModeStateChange): a listener that set
// QUIC_PARAM_DOS_MODE_EVENTS to TRUE is told when the library starts or stops answering new
// clients with Retry because handshakes hold more than the RetryMemoryLimit share of memory
// (HandshakeBudget.retryMode). As in MsQuic, setting the parameter while that mode is on
// raises the event at once; delivery is best effort, in the order the changes are noticed.
//
// The change is noticed where the budget moves (workers, in the middle of routing a
// datagram), so the event is raised later, at a point where no engine state is being
// modified: the end of a binding's receive batch or timer, the end of a connection's service
// round, or the API call that changed the limit.

import Synchronization

extension HandshakeBudget {
    private struct DosListener {
        weak var listener: ListenerObject?
        /// The state last indicated to this listener.
        var indicated: Bool
    }

    private static let dosListeners = Mutex<[ObjectIdentifier: DosListener]>([:])
    private static let indicatedGeneration = Atomic<UInt64>(0)

    /// QUIC_PARAM_DOS_MODE_EVENTS set: TRUE registers the listener (and tells it at once when
    /// the mode is on), FALSE forgets it.
    static func setDosModeEvents(_ listener: ListenerObject, enabled: Bool) {
        let on = retryMode
        let indicateNow = dosListeners.withLock { map -> Bool in
            guard enabled else {
                map[ObjectIdentifier(listener)] = nil
                return false
            }
            map[ObjectIdentifier(listener)] = DosListener(listener: listener, indicated: on)
            return on
        }
        if indicateNow { listener.indicateDosMode(true, startedOnly: false) }
    }

    static func dosModeEvents(_ listener: ListenerObject) -> Bool {
        dosListeners.withLock { $0[ObjectIdentifier(listener)] != nil }
    }

    /// ListenerClose: no more events for this handle.
    static func forgetDosListener(_ listener: ListenerObject) {
        _ = dosListeners.withLock { $0.removeValue(forKey: ObjectIdentifier(listener)) }
    }

    /// Raises DOS_MODE_CHANGED on the registered listeners if the mode changed since the last
    /// call. Cheap when nothing changed (two atomic loads); call only where no engine or
    /// binding state is in the middle of an update, with no lock held.
    static func indicateDosModeChanges() {
        let generation = modeGeneration.load(ordering: .relaxed)
        guard indicatedGeneration.load(ordering: .relaxed) != generation else { return }
        indicatedGeneration.store(generation, ordering: .relaxed)
        let on = retryMode
        let targets = dosListeners.withLock { map -> [ListenerObject] in
            var out: [ListenerObject] = []
            for (key, entry) in map {
                guard let listener = entry.listener else { map[key] = nil; continue }
                guard entry.indicated != on else { continue }
                map[key]?.indicated = on
                out.append(listener)
            }
            return out
        }
        for listener in targets { listener.indicateDosMode(on) }
    }
}

extension ListenerObject {
    /// QUIC_LISTENER_EVENT_DOS_MODE_CHANGED (type 2): DosModeEnabled is bit 0 of the byte at
    /// offset 8. A change reaches started listeners only (MsQuic notifies the listeners
    /// registered on its bindings); setting the parameter while the mode is on tells any.
    func indicateDosMode(_ enabled: Bool, startedOnly: Bool = true) {
        if startedOnly {
            guard state.withLock({ $0.started && !$0.stopping }) else { return }
        }
        let ev = RawEvent(type: 2)
        ev.set(8, UInt8(enabled ? 1 : 0))
        _ = ev.deliver(handler, handle, context)
        ev.free()
    }
}
