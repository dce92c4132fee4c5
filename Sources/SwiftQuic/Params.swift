// SetContext / GetContext / SetCallbackHandler and the GetParam / SetParam dispatch.
//
// GetParam/SetParam (MsQuic src/core/api.c, library.c): a global parameter wants a NULL handle
// and any other parameter a handle (else INVALID_PARAMETER); the parameter's prefix must name
// the handle's kind or an object the handle leads to (a configuration for CONFIGURATION_*; the
// connection of a stream for CONNECTION_* and TLS_*), else INVALID_PARAMETER. The
// QUIC_PARAM_HIGH_PRIORITY bit only orders work on connections and is ignored for matching.

extension Api {
    static func setContext(_ handle: OpaquePointer?, _ context: UnsafeMutableRawPointer?) {
        Handles.object(handle)?.context = context
    }

    static func getContext(_ handle: OpaquePointer?) -> UnsafeMutableRawPointer? {
        Handles.object(handle)?.context
    }

    /// Registrations and configurations take no callback: like MsQuic, nothing changes for
    /// them (not even the context).
    static func setCallbackHandler(_ handle: OpaquePointer?, _ handler: UnsafeMutableRawPointer?,
                                   _ context: UnsafeMutableRawPointer?) {
        guard let object = Handles.object(handle) else { return }
        if object.setCallbackHandler(handler) { object.context = context }
    }

    static func setParam(_ handle: OpaquePointer?, _ param: UInt32, _ length: UInt32,
                         _ buffer: UnsafeRawPointer?) -> QuicStatus {
        guard Library.isOpen else { return Status.invalidState }
        let param = param & ~Param.highPriority
        if Param.isGlobal(param) {
            guard handle == nil else { return Status.invalidParameter }
            return globalSetParam(param, length, buffer)
        }
        guard let object = Handles.object(handle) else { return Status.invalidParameter }
        switch param & Param.prefixMask {
        case Param.prefixRegistration:
            return Status.invalidParameter          // MsQuic 2.6 has no registration parameter
        case Param.prefixConfiguration:
            guard let configuration = object as? Configuration else { return Status.invalidParameter }
            return configurationSetParam(configuration, param, length, buffer)
        case Param.prefixListener, Param.prefixConnection, Param.prefixTLS,
             Param.prefixTLSSchannel, Param.prefixStream:
            let fit = laterParam(object, param)
            return fit == Status.notSupported ? objectSetParam(object, param, length, buffer) : fit
        default:
            return Status.invalidParameter
        }
    }

    static func getParam(_ handle: OpaquePointer?, _ param: UInt32, _ length: UnsafeMutablePointer<UInt32>?,
                         _ buffer: UnsafeMutableRawPointer?) -> QuicStatus {
        guard Library.isOpen else { return Status.invalidState }
        guard let length else { return Status.invalidParameter }
        let param = param & ~Param.highPriority
        if Param.isGlobal(param) {
            guard handle == nil else { return Status.invalidParameter }
            return globalGetParam(param, length, buffer)
        }
        guard let object = Handles.object(handle) else { return Status.invalidParameter }
        switch param & Param.prefixMask {
        case Param.prefixRegistration:
            return Status.invalidParameter
        case Param.prefixConfiguration:
            guard let configuration = object as? Configuration else { return Status.invalidParameter }
            return configurationGetParam(configuration, param, length, buffer)
        case Param.prefixListener, Param.prefixConnection, Param.prefixTLS,
             Param.prefixTLSSchannel, Param.prefixStream:
            let fit = laterParam(object, param)
            return fit == Status.notSupported ? objectGetParam(object, param, length, buffer) : fit
        default:
            return Status.invalidParameter
        }
    }

    /// Listener, connection, TLS and stream parameters: the prefix must fit the handle (a stream
    /// leads to its connection); their values belong to later work.
    private static func laterParam(_ object: QuicObject, _ param: UInt32) -> QuicStatus {
        let fits: Bool
        switch (param & Param.prefixMask, object.handleType) {
        case (Param.prefixListener, .listener): fits = true
        case (Param.prefixConnection, .connectionClient), (Param.prefixConnection, .connectionServer),
             (Param.prefixConnection, .stream),
             (Param.prefixTLS, .connectionClient), (Param.prefixTLS, .connectionServer),
             (Param.prefixTLS, .stream),
             (Param.prefixTLSSchannel, .connectionClient), (Param.prefixTLSSchannel, .connectionServer),
             (Param.prefixTLSSchannel, .stream):
            fits = true
        case (Param.prefixStream, .stream): fits = true
        default: fits = false
        }
        return fits ? Status.notSupported : Status.invalidParameter
    }
}
