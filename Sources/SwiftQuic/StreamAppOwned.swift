// App-owned receive buffers (preview in MsQuic 2.6): QUIC_STREAM_OPEN_FLAG_APP_OWNED_BUFFERS,
// StreamProvideReceiveBuffers and QUIC_STREAM_EVENT_RECEIVE_BUFFER_NEEDED, as MsQuic documents
// them (docs/Streams.md "App-Owned Buffer Mode", docs/api/StreamProvideReceiveBuffers.md):
//
// - A stream is in this mode when opened with the flag, or when StreamProvideReceiveBuffers is
//   called inside its PEER_STREAM_STARTED; any other call on a stream not in the mode is
//   QUIC_STATUS_INVALID_STATE. In the mode it may be called at any time, buffers adding up in
//   the order given.
// - Received bytes fill the buffers in that order, each stream byte in its own place (memory is
//   never reused). RECEIVE events point into the application's buffers (as many QUIC_BUFFERs
//   as buffers the data spans, possibly parts of them), from the first byte not yet consumed.
//   Consumption (TotalBufferLength, StreamReceiveComplete) works as in the default mode; a
//   buffer goes back to the application once all its bytes were indicated and consumed.
// - The engine limits the peer to the space provided (QuicCore StreamManager+AppOwned.swift);
//   data beyond it raises RECEIVE_BUFFER_NEEDED, inside which the application may provide
//   more or shut its receive direction down; otherwise the connection is closed
//   (FLOW_CONTROL_ERROR).
//
// The engine receives into its own buffer as usual; this layer copies each byte once into the
// application's memory before indicating it. Only the application's buffers are written, and
// never beyond the length it gave.

import QuicCore
import QuicWire

/// One buffer the application provided.
struct AppBuffer {
    let base: UnsafeMutableRawPointer
    let length: Int
}

extension StreamObject {
    /// StreamProvideReceiveBuffers on the worker. `buffers` were checked (non-empty, non-NULL).
    func provideReceiveBuffers(_ buffers: [AppBuffer]) -> QuicStatus {
        if !appOwned {
            // Only inline from PEER_STREAM_STARTED may a stream switch to this mode (MsQuic:
            // afterwards its data may already be in MsQuic's own buffer).
            guard peerStreamStartedActive else { return Status.invalidState }
            appOwned = true
            if let id, let core = connection.core { try? core.streams.setAppOwnedReceive(id) }
        }
        // A stream that is gone takes the buffers and never writes to them (MsQuic adds them to
        // a receive buffer no data reaches any more).
        if shutdownCompleteDelivered || appClosed { return Status.success }
        var added: UInt64 = 0
        for b in buffers {
            let (sum, overflow) = added.addingReportingOverflow(UInt64(b.length))
            guard !overflow else { return Status.invalidParameter }
            added = sum
        }
        // MsQuic refuses more than 2^32-1 bytes of space not yet consumed.
        let (end, overflow) = appProvidedEnd.addingReportingOverflow(added)
        guard !overflow, end - min(end, appReadOffset) <= UInt64(UInt32.max) else { return Status.invalidParameter }
        if let id, let core = connection.core, core.streams.stream(id) != nil {
            do throws(StreamAPIError) {
                try core.streams.provideReceiveSpace(id, bytes: added)
            } catch {
                return error.status
            }
        }
        appBuffers.append(contentsOf: buffers)
        appProvidedEnd = end
        reserveEventBuffers(appBuffers.count)
        // Data waiting for space is indicated after this call (not inside the callback the
        // application may be in).
        connection.deferred.append { [self] in self.deliverReceive() }
        connection.service()
        return Status.success
    }

    /// The engine opened this local stream: it takes the mode and the space provided so far.
    func appOwnedStreamOpened(core: Connection, id: StreamID) {
        try? core.streams.setAppOwnedReceive(id)
        if appProvidedEnd > 0 { try? core.streams.provideReceiveSpace(id, bytes: appProvidedEnd) }
    }

    /// Makes the RECEIVE QUIC_BUFFER array hold at least `count` entries.
    func reserveEventBuffers(_ count: Int) {
        let needed = Swift.max(count, 1)
        guard needed > appEventCapacity else { return }
        var capacity = Swift.max(appEventCapacity, 4)
        while capacity < needed { capacity *= 2 }
        if receivePending, let old = appEventBuffers {
            // The application may still look at the array of its PENDING RECEIVE (MsQuic only
            // promises it during the callback; kept anyway until the completion).
            // (Only the first replacement is the indicated one; later ones were never shown.)
            if appRetiredEventBuffers == nil { appRetiredEventBuffers = old } else { old.deallocate() }
        } else {
            appEventBuffers?.deallocate()
        }
        appEventBuffers = UnsafeMutableRawPointer.allocate(byteCount: capacity * QuicBuffers.stride, alignment: 8)
        appEventCapacity = capacity
    }

    /// Copies the readable bytes not yet copied into the application's buffers (as far as they
    /// reach) and describes the data from the read offset there. Nil when there is nothing to
    /// indicate (no space for the data yet, and no FIN to report).
    func appOwnedIndication(_ spans: ReadableSpans, fin: Bool)
        -> (buffers: UnsafeMutableRawPointer, count: Int, total: Int, fin: Bool)? {
        let readStart = spans.offset
        let readEnd = readStart + UInt64(spans.count)
        let fillEnd = Swift.min(readEnd, appProvidedEnd)
        var cursor = Swift.max(appCopiedEnd, readStart)
        if cursor < appBaseOffset { cursor = appBaseOffset }
        if cursor < fillEnd {
            // Find the buffer holding `cursor`.
            var index = 0
            var bufferStart = appBaseOffset
            while index < appBuffers.count, bufferStart + UInt64(appBuffers[index].length) <= cursor {
                bufferStart += UInt64(appBuffers[index].length)
                index += 1
            }
            while cursor < fillEnd, index < appBuffers.count {
                let buffer = appBuffers[index]
                let into = Int(cursor - bufferStart)
                // Source: the engine's spans, split at the ring's wrap.
                let k = Int(cursor - readStart)
                let source: UnsafeRawPointer?
                let sourceRun: Int
                if k < spans.first.count {
                    source = spans.first.baseAddress.map { $0 + k }
                    sourceRun = spans.first.count - k
                } else {
                    let j = k - spans.first.count
                    source = spans.second.baseAddress.map { $0 + j }
                    sourceRun = spans.second.count - j
                }
                let n = Swift.min(sourceRun, buffer.length - into, Int(fillEnd - cursor))
                guard let source, n > 0 else { break }
                (buffer.base + into).copyMemory(from: source, byteCount: n)
                cursor += UInt64(n)
                if into + n == buffer.length {
                    bufferStart += UInt64(buffer.length)
                    index += 1
                }
            }
            appCopiedEnd = Swift.max(appCopiedEnd, cursor)
        }
        let indicatedEnd = Swift.min(readEnd, appCopiedEnd)
        let total = indicatedEnd > readStart ? Int(indicatedEnd - readStart) : 0
        let finNow = fin && total == spans.count
        if total == 0 && !finNow { return nil }
        reserveEventBuffers(appBuffers.count)
        guard let out = appEventBuffers else { return nil }
        // QUIC_BUFFERs from the read offset, one per application buffer the data spans.
        var count = 0
        var left = total
        var bufferStart = appBaseOffset
        for buffer in appBuffers where left > 0 && count < appEventCapacity {
            let bufferEnd = bufferStart + UInt64(buffer.length)
            defer { bufferStart = bufferEnd }
            guard bufferEnd > readStart else { continue }
            let into = readStart > bufferStart ? Int(readStart - bufferStart) : 0
            let n = Swift.min(buffer.length - into, left)
            QuicBuffers.write(out, count, length: n, pointer: UnsafeRawPointer(buffer.base + into))
            count += 1
            left -= n
        }
        return (out, count, total - left, finNow)
    }

    /// The application consumed the data up to stream offset `offset`: buffers wholly below it
    /// are the application's again.
    func appOwnedConsumed(upTo offset: UInt64) {
        appReadOffset = Swift.max(appReadOffset, offset)
        if !receivePending, let old = appRetiredEventBuffers {
            old.deallocate()
            appRetiredEventBuffers = nil
        }
        var drop = 0
        for buffer in appBuffers {
            let end = appBaseOffset + UInt64(buffer.length)
            guard end <= offset else { break }
            appBaseOffset = end
            drop += 1
        }
        if drop > 0 { appBuffers.removeFirst(drop) }
    }

    /// RECEIVE_BUFFER_NEEDED: data arrived beyond the space provided. The application may
    /// provide more, or shut the receive direction down, inside the callback; if the space is
    /// still short afterwards the connection is closed (MsQuic docs/Streams.md).
    func receiveBufferNeeded() {
        guard let id, let core = connection.core else { return }
        let missing = core.streams.receiveSpaceShortfall(id)
        if missing > 0 {
            let ev = RawEvent(type: EventType.receiveBufferNeeded)
            ev.set(8, missing)                                  // BufferLengthNeeded
            deliver(ev)
            ev.free()
        }
        let still = core.streams.checkReceiveSpace(id)
        if still > 0 { core.failReceiveSpace(stream: id, missing: still, now: Runtime.now) }
    }
}
