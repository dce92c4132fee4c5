// The QUIC_API_TABLE handed out by MsQuicOpenVersion: every one of its 39 entries (preview
// ones included) is a C function pointer into the `Api` namespace. The closures below only
// adapt the imported C types (struct pointers, enums, function pointers) to the plain values
// the `Api` functions take; the argument checks live with each entry.

import CMsQuic

/// Namespace of the entry points.
enum Api {}

/// A C function pointer as an opaque pointer (only its NULL-ness is looked at).
@inline(__always)
func functionAddress<F>(_ function: F?) -> UnsafeRawPointer? {
    guard let function else { return nil }
    return unsafeBitCast(function, to: UnsafeRawPointer.self)
}

enum ApiTable {
    static func make() -> UnsafeMutablePointer<QUIC_API_TABLE> {
        let table = UnsafeMutablePointer<QUIC_API_TABLE>.allocate(capacity: 1)
        table.initialize(to: QUIC_API_TABLE())
        fill(&table.pointee)
        return table
    }

    private static func fill(_ t: inout QUIC_API_TABLE) {
        t.SetContext = { h, context in Api.setContext(h, context) }
        t.GetContext = { h in Api.getContext(h) }
        t.SetCallbackHandler = { h, handler, context in Api.setCallbackHandler(h, handler, context) }

        t.SetParam = { h, param, length, buffer in Api.setParam(h, param, length, buffer) }
        t.GetParam = { h, param, length, buffer in Api.getParam(h, param, length, buffer) }

        t.RegistrationOpen = { config, out in Api.registrationOpen(UnsafeRawPointer(config), out) }
        t.RegistrationClose = { h in Api.registrationClose(h) }
        t.RegistrationShutdown = { h, flags, code in Api.registrationShutdown(h, flags.rawValue, code) }

        t.ConfigurationOpen = { h, alpns, count, settings, size, context, out in
            Api.configurationOpen(h, UnsafeRawPointer(alpns), count, UnsafeRawPointer(settings), size, context, out)
        }
        t.ConfigurationClose = { h in Api.configurationClose(h) }
        t.ConfigurationLoadCredential = { h, config in
            Api.configurationLoadCredential(h, UnsafeRawPointer(config))
        }

        t.ListenerOpen = { h, handler, context, out in
            Api.listenerOpen(h, functionAddress(handler), context, out)
        }
        t.ListenerClose = { h in Api.listenerClose(h) }
        t.ListenerStart = { h, alpns, count, address in
            Api.listenerStart(h, UnsafeRawPointer(alpns), count, UnsafeRawPointer(address))
        }
        t.ListenerStop = { h in Api.listenerStop(h) }

        t.ConnectionOpen = { h, handler, context, out in
            Api.connectionOpen(h, functionAddress(handler), context, out)
        }
        t.ConnectionClose = { h in Api.connectionClose(h) }
        t.ConnectionShutdown = { h, flags, code in Api.connectionShutdown(h, flags.rawValue, code) }
        t.ConnectionStart = { h, configuration, family, name, port in
            Api.connectionStart(h, configuration, family, name, port)
        }
        t.ConnectionSetConfiguration = { h, configuration in Api.connectionSetConfiguration(h, configuration) }
        t.ConnectionSendResumptionTicket = { h, flags, length, data in
            Api.connectionSendResumptionTicket(h, flags.rawValue, length, UnsafeRawPointer(data))
        }

        t.StreamOpen = { h, flags, handler, context, out in
            Api.streamOpen(h, flags.rawValue, functionAddress(handler), context, out)
        }
        t.StreamClose = { h in Api.streamClose(h) }
        t.StreamStart = { h, flags in Api.streamStart(h, flags.rawValue) }
        t.StreamShutdown = { h, flags, code in Api.streamShutdown(h, flags.rawValue, code) }
        t.StreamSend = { h, buffers, count, flags, context in
            Api.streamSend(h, UnsafeRawPointer(buffers), count, flags.rawValue, context)
        }
        t.StreamReceiveComplete = { h, length in Api.streamReceiveComplete(h, length) }
        t.StreamReceiveSetEnabled = { h, enabled in Api.streamReceiveSetEnabled(h, enabled) }

        t.DatagramSend = { h, buffers, count, flags, context in
            Api.datagramSend(h, UnsafeRawPointer(buffers), count, flags.rawValue, context)
        }

        t.ConnectionResumptionTicketValidationComplete = { h, result in
            Api.connectionResumptionTicketValidationComplete(h, result)
        }
        t.ConnectionCertificateValidationComplete = { h, result, alert in
            Api.connectionCertificateValidationComplete(h, result, alert.rawValue)
        }
        t.ConnectionOpenInPartition = { h, partition, handler, context, out in
            Api.connectionOpenInPartition(h, partition, functionAddress(handler), context, out)
        }

        t.StreamProvideReceiveBuffers = { h, count, buffers in
            Api.streamProvideReceiveBuffers(h, count, UnsafeRawPointer(buffers))
        }
        t.ConnectionPoolCreate = { config, out in Api.connectionPoolCreate(UnsafeRawPointer(config), out) }
        t.ExecutionCreate = { flags, polling, count, configs, out in
            Api.executionCreate(flags.rawValue, polling, count, UnsafeRawPointer(configs), UnsafeMutableRawPointer(out))
        }
        t.ExecutionDelete = { count, executions in Api.executionDelete(count, UnsafeMutableRawPointer(executions)) }
        t.ExecutionPoll = { execution in Api.executionPoll(execution) }
        t.RegistrationClose2 = { h, handler, context in Api.registrationClose2(h, handler, context) }
        t.ConnectionExportKeyingMaterial = { h, config, output in
            Api.connectionExportKeyingMaterial(h, UnsafeRawPointer(config), output)
        }
    }
}
