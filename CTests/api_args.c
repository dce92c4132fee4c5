/*
 * api_args.c - argument checks of every entry of the function table
 * (MsQuic 2.6, src/core/api.c behaviour):
 *
 *  - a NULL handle, or a handle of the wrong kind, gives
 *    QUIC_STATUS_INVALID_PARAMETER from functions that return a status and
 *    is ignored by the void ones (close, shutdown, set-context, ...);
 *  - NULL out-pointers, NULL callbacks, zero counts, empty or >255-byte
 *    ALPNs, out-of-range error codes and contradictory flags give
 *    QUIC_STATUS_INVALID_PARAMETER;
 *  - calls that are valid but come at the wrong time give INVALID_STATE.
 *
 * Only the loopback listener binds a socket (127.0.0.1, ephemeral port); no
 * connection is started.
 */
#define QUIC_API_ENABLE_PREVIEW_FEATURES 1
#include "testutil.h"

static const QUIC_API_TABLE* Api;
static HQUIC Registration;
static HQUIC Configuration;         /* no credential loaded */
static HQUIC ClientConfiguration;   /* client credential loaded */
static TU_EVENT ListenerStopped;
static TU_EVENT ConnectionEvents;
static TU_EVENT StreamEvents;
static int StopAppCloseInProgress = -1;

static QUIC_STATUS QUIC_API listener_callback(HQUIC Listener, void* Context, QUIC_LISTENER_EVENT* Event)
{
    if (Event->Type == QUIC_LISTENER_EVENT_STOP_COMPLETE) {
        StopAppCloseInProgress = Event->STOP_COMPLETE.AppCloseInProgress;
        tu_event_signal(&ListenerStopped, Listener, Context, QUIC_STATUS_SUCCESS);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API connection_callback(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    (void)Event;
    tu_event_signal(&ConnectionEvents, Connection, Context, QUIC_STATUS_SUCCESS);
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API other_connection_callback(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    return connection_callback(Connection, Context, Event);
}

static QUIC_STATUS QUIC_API stream_callback(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    (void)Event;
    tu_event_signal(&StreamEvents, Stream, Context, QUIC_STATUS_SUCCESS);
    return QUIC_STATUS_SUCCESS;
}

/* ---- SetContext, GetContext, SetCallbackHandler, Get/SetParam ----------- */

static void test_context_and_params(HQUIC Connection)
{
    int Marker;
    int Other;
    uint32_t Length;
    uint8_t Buffer[256];
    uint16_t Value16 = 0;

    Api->SetContext(NULL, &Marker);
    CHECK(1, "SetContext(NULL) returns");
    CHECK(Api->GetContext(NULL) == NULL, "GetContext(NULL) is NULL");
    Api->SetCallbackHandler(NULL, (void*)connection_callback, &Marker);
    CHECK(1, "SetCallbackHandler(NULL) returns");

    /* SetCallbackHandler also replaces the context. */
    Api->SetContext(Connection, &Marker);
    CHECK(Api->GetContext(Connection) == &Marker, "SetContext/GetContext on a connection");
    Api->SetCallbackHandler(Connection, (void*)other_connection_callback, &Other);
    CHECK(Api->GetContext(Connection) == &Other, "SetCallbackHandler sets the connection's context");

    /* Registrations and configurations have no callback: nothing changes. */
    Api->SetContext(Registration, &Marker);
    Api->SetCallbackHandler(Registration, (void*)connection_callback, &Other);
    CHECK(Api->GetContext(Registration) == &Marker, "SetCallbackHandler on a registration is ignored");
    Api->SetContext(Registration, NULL);

    /* Global parameters take a NULL handle, the others a handle. */
    Length = sizeof(Value16);
    CHECK_STATUS(Api->GetParam(Connection, QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT, &Length, &Value16),
                 QUIC_STATUS_INVALID_PARAMETER, "GetParam(global parameter, non-NULL handle)");
    Length = sizeof(Value16);
    CHECK_STATUS(Api->GetParam(NULL, QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT, NULL, &Value16),
                 QUIC_STATUS_INVALID_PARAMETER, "GetParam(BufferLength NULL)");
    Length = sizeof(Buffer);
    CHECK_STATUS(Api->GetParam(NULL, QUIC_PARAM_CONN_QUIC_VERSION, &Length, Buffer),
                 QUIC_STATUS_INVALID_PARAMETER, "GetParam(connection parameter, NULL handle)");
    Length = sizeof(Buffer);
    CHECK_STATUS(Api->GetParam(NULL, 0x010000FFu, &Length, Buffer),
                 QUIC_STATUS_INVALID_PARAMETER, "GetParam(unknown global parameter)");
    Length = sizeof(Buffer);
    CHECK_STATUS(Api->GetParam(Registration, QUIC_PARAM_PREFIX_REGISTRATION, &Length, Buffer),
                 QUIC_STATUS_INVALID_PARAMETER, "GetParam(registration: no parameters exist)");
    Length = sizeof(Buffer);
    CHECK_STATUS(Api->GetParam(Connection, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, &Length, Buffer),
                 QUIC_STATUS_INVALID_PARAMETER, "GetParam(listener parameter on a connection)");
    Length = sizeof(Buffer);
    CHECK_STATUS(Api->GetParam(Connection, QUIC_PARAM_STREAM_ID, &Length, Buffer),
                 QUIC_STATUS_INVALID_PARAMETER, "GetParam(stream parameter on a connection)");
    Length = sizeof(Buffer);
    CHECK_STATUS(Api->GetParam(Registration, QUIC_PARAM_CONFIGURATION_SETTINGS, &Length, Buffer),
                 QUIC_STATUS_INVALID_PARAMETER, "GetParam(configuration parameter on a registration)");
    Length = sizeof(Buffer);
    CHECK_STATUS(Api->GetParam(Connection, 0x050000FFu, &Length, Buffer),
                 QUIC_STATUS_INVALID_PARAMETER, "GetParam(unknown connection parameter)");

    Value16 = 10;
    CHECK_STATUS(Api->SetParam(Connection, QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT, sizeof(Value16), &Value16),
                 QUIC_STATUS_INVALID_PARAMETER, "SetParam(global parameter, non-NULL handle)");
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_CONN_SETTINGS, sizeof(Buffer), Buffer),
                 QUIC_STATUS_INVALID_PARAMETER, "SetParam(connection parameter, NULL handle)");
    CHECK_STATUS(Api->SetParam(NULL, 0x010000FFu, sizeof(Value16), &Value16),
                 QUIC_STATUS_INVALID_PARAMETER, "SetParam(unknown global parameter)");
    CHECK_STATUS(Api->SetParam(Configuration, QUIC_PARAM_LISTENER_CIBIR_ID, 2, Buffer),
                 QUIC_STATUS_INVALID_PARAMETER, "SetParam(listener parameter on a configuration)");
    CHECK_STATUS(Api->SetParam(Registration, QUIC_PARAM_PREFIX_REGISTRATION, 1, Buffer),
                 QUIC_STATUS_INVALID_PARAMETER, "SetParam(registration: no parameters exist)");
}

/* ---- registrations and configurations ----------------------------------- */

static void test_registration_and_configuration(void)
{
    QUIC_BUFFER Alpn = tu_alpn("swiftquic");
    QUIC_BUFFER Alpns[2];
    uint8_t Long[256];
    QUIC_BUFFER LongAlpn;
    HQUIC Out = NULL;
    uint32_t Length;
    QUIC_SETTINGS Settings;

    CHECK_STATUS(Api->RegistrationOpen(NULL, NULL), QUIC_STATUS_INVALID_PARAMETER, "RegistrationOpen(out NULL)");
    Api->RegistrationClose(NULL);
    CHECK(1, "RegistrationClose(NULL) returns");
    Api->RegistrationShutdown(NULL, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(1, "RegistrationShutdown(NULL) returns");

    /* RegistrationClose on another kind of handle is ignored. */
    Api->RegistrationClose(Configuration);
    Length = sizeof(Settings);
    CHECK_STATUS(Api->GetParam(Configuration, QUIC_PARAM_CONFIGURATION_SETTINGS, &Length, &Settings),
                 QUIC_STATUS_SUCCESS, "RegistrationClose(configuration) is ignored: the configuration still works");

    memset(Long, 'a', sizeof(Long));
    LongAlpn.Buffer = Long;

    CHECK_STATUS(Api->ConfigurationOpen(NULL, &Alpn, 1, NULL, 0, NULL, &Out), QUIC_STATUS_INVALID_PARAMETER,
                 "ConfigurationOpen(NULL registration)");
    CHECK_STATUS(Api->ConfigurationOpen(Configuration, &Alpn, 1, NULL, 0, NULL, &Out),
                 QUIC_STATUS_INVALID_PARAMETER, "ConfigurationOpen(configuration as registration)");
    CHECK_STATUS(Api->ConfigurationOpen(Registration, NULL, 1, NULL, 0, NULL, &Out),
                 QUIC_STATUS_INVALID_PARAMETER, "ConfigurationOpen(AlpnBuffers NULL)");
    CHECK_STATUS(Api->ConfigurationOpen(Registration, &Alpn, 0, NULL, 0, NULL, &Out),
                 QUIC_STATUS_INVALID_PARAMETER, "ConfigurationOpen(AlpnBufferCount 0)");
    CHECK_STATUS(Api->ConfigurationOpen(Registration, &Alpn, 1, NULL, 0, NULL, NULL),
                 QUIC_STATUS_INVALID_PARAMETER, "ConfigurationOpen(out NULL)");
    LongAlpn.Length = 0;
    CHECK_STATUS(Api->ConfigurationOpen(Registration, &LongAlpn, 1, NULL, 0, NULL, &Out),
                 QUIC_STATUS_INVALID_PARAMETER, "ConfigurationOpen(empty ALPN)");
    LongAlpn.Length = 256;
    CHECK_STATUS(Api->ConfigurationOpen(Registration, &LongAlpn, 1, NULL, 0, NULL, &Out),
                 QUIC_STATUS_INVALID_PARAMETER, "ConfigurationOpen(256-byte ALPN)");
    Alpns[0] = Alpn;
    Alpns[1] = LongAlpn;
    Alpns[1].Length = 0;
    CHECK_STATUS(Api->ConfigurationOpen(Registration, Alpns, 2, NULL, 0, NULL, &Out),
                 QUIC_STATUS_INVALID_PARAMETER, "ConfigurationOpen(second ALPN empty)");
    LongAlpn.Length = 255;
    Out = NULL;
    CHECK_STATUS(Api->ConfigurationOpen(Registration, &LongAlpn, 1, NULL, 0, NULL, &Out),
                 QUIC_STATUS_SUCCESS, "ConfigurationOpen(255-byte ALPN)");
    if (Out != NULL) {
        Api->ConfigurationClose(Out);
    }
    memset(&Settings, 0, sizeof(Settings));
    Settings.IsSet.IdleTimeoutMs = 1;
    Out = NULL;
    CHECK_STATUS(Api->ConfigurationOpen(Registration, &Alpn, 1, &Settings, 7, NULL, &Out),
                 QUIC_STATUS_INVALID_PARAMETER, "ConfigurationOpen(settings size 7)");
    Out = NULL;
    CHECK_STATUS(Api->ConfigurationOpen(Registration, &Alpn, 1, NULL, sizeof(Settings), NULL, &Out),
                 QUIC_STATUS_SUCCESS, "ConfigurationOpen(settings NULL with a size)");
    if (Out != NULL) {
        Api->ConfigurationClose(Out);
    }

    Api->ConfigurationClose(NULL);
    CHECK(1, "ConfigurationClose(NULL) returns");
    CHECK_STATUS(Api->ConfigurationLoadCredential(NULL, NULL), QUIC_STATUS_INVALID_PARAMETER,
                 "ConfigurationLoadCredential(NULL, NULL)");
}

/* ---- listeners ---------------------------------------------------------- */

/* WrongKind: any handle that is not a listener. */
static void test_listener(HQUIC WrongKind)
{
    QUIC_BUFFER Alpn = tu_alpn("swiftquic");
    uint8_t Long[256];
    QUIC_BUFFER BadAlpn;
    QUIC_ADDR Address;
    QUIC_ADDR Bound;
    uint32_t Length;
    HQUIC Listener = NULL;
    int Marker;

    memset(Long, 'b', sizeof(Long));
    BadAlpn.Buffer = Long;

    CHECK_STATUS(Api->ListenerOpen(NULL, listener_callback, NULL, &Listener), QUIC_STATUS_INVALID_PARAMETER,
                 "ListenerOpen(NULL registration)");
    CHECK_STATUS(Api->ListenerOpen(Configuration, listener_callback, NULL, &Listener),
                 QUIC_STATUS_INVALID_PARAMETER, "ListenerOpen(configuration as registration)");
    CHECK_STATUS(Api->ListenerOpen(Registration, NULL, NULL, &Listener), QUIC_STATUS_INVALID_PARAMETER,
                 "ListenerOpen(handler NULL)");
    CHECK_STATUS(Api->ListenerOpen(Registration, listener_callback, NULL, NULL), QUIC_STATUS_INVALID_PARAMETER,
                 "ListenerOpen(out NULL)");
    Api->ListenerClose(NULL);
    CHECK(1, "ListenerClose(NULL) returns");
    Api->ListenerStop(NULL);
    CHECK(1, "ListenerStop(NULL) returns");

    Listener = NULL;
    {
        QUIC_STATUS Status = Api->ListenerOpen(Registration, listener_callback, &Marker, &Listener);
        if (TU_NOT_IMPLEMENTED(Status)) {
            SKIP("ListenerOpen: NOT_SUPPORTED (listeners are not implemented yet); listener checks");
            return;
        }
        CHECK_STATUS(Status, QUIC_STATUS_SUCCESS, "ListenerOpen");
    }
    if (Listener == NULL) {
        return;
    }
    CHECK(Api->GetContext(Listener) == &Marker, "the ListenerOpen context is the handle's context");

    memset(&Address, 0, sizeof(Address));
    QuicAddrSetFamily(&Address, QUIC_ADDRESS_FAMILY_INET);
    QuicAddrSetToLoopback(&Address);
    QuicAddrSetPort(&Address, 0);

    CHECK_STATUS(Api->ListenerStart(NULL, &Alpn, 1, &Address), QUIC_STATUS_INVALID_PARAMETER,
                 "ListenerStart(NULL handle)");
    CHECK_STATUS(Api->ListenerStart(WrongKind, &Alpn, 1, &Address), QUIC_STATUS_INVALID_PARAMETER,
                 "ListenerStart(handle of another kind)");
    CHECK_STATUS(Api->ListenerStart(Listener, NULL, 1, &Address), QUIC_STATUS_INVALID_PARAMETER,
                 "ListenerStart(AlpnBuffers NULL)");
    CHECK_STATUS(Api->ListenerStart(Listener, &Alpn, 0, &Address), QUIC_STATUS_INVALID_PARAMETER,
                 "ListenerStart(AlpnBufferCount 0)");
    BadAlpn.Length = 0;
    CHECK_STATUS(Api->ListenerStart(Listener, &BadAlpn, 1, &Address), QUIC_STATUS_INVALID_PARAMETER,
                 "ListenerStart(empty ALPN)");
    BadAlpn.Length = 256;
    CHECK_STATUS(Api->ListenerStart(Listener, &BadAlpn, 1, &Address), QUIC_STATUS_INVALID_PARAMETER,
                 "ListenerStart(256-byte ALPN)");
    {
        QUIC_ADDR Unix;
        memset(&Unix, 0, sizeof(Unix));
        Unix.Ip.sa_family = AF_UNIX;
        CHECK_STATUS(Api->ListenerStart(Listener, &Alpn, 1, &Unix), QUIC_STATUS_INVALID_PARAMETER,
                     "ListenerStart(address family AF_UNIX)");
    }

    tu_event_init(&ListenerStopped);
    CHECK_STATUS(Api->ListenerStart(Listener, &Alpn, 1, &Address), QUIC_STATUS_SUCCESS,
                 "ListenerStart(127.0.0.1:0)");
    CHECK_STATUS(Api->ListenerStart(Listener, &Alpn, 1, &Address), QUIC_STATUS_INVALID_STATE,
                 "ListenerStart twice");

    Length = sizeof(Bound);
    memset(&Bound, 0, sizeof(Bound));
    CHECK_STATUS(Api->GetParam(Listener, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, &Length, &Bound), QUIC_STATUS_SUCCESS,
                 "GetParam(LISTENER_LOCAL_ADDRESS)");
    CHECK(QuicAddrGetFamily(&Bound) == QUIC_ADDRESS_FAMILY_INET && QuicAddrGetPort(&Bound) != 0,
          "the listener is bound to an IPv4 address with an ephemeral port (%u)", QuicAddrGetPort(&Bound));
    CHECK(QuicAddrCompareIp(&Bound, &Address), "the listener is bound to 127.0.0.1");

    Api->ListenerStop(Listener);
    CHECK(tu_event_wait(&ListenerStopped, 1, 5000) == 1, "ListenerStop raises STOP_COMPLETE");
    CHECK(StopAppCloseInProgress == 0, "STOP_COMPLETE after ListenerStop: AppCloseInProgress is FALSE");
    CHECK(ListenerStopped.LastContext == &Marker, "STOP_COMPLETE carries the listener's context");

    CHECK_STATUS(Api->ListenerStart(Listener, &Alpn, 1, &Address), QUIC_STATUS_SUCCESS,
                 "ListenerStart again after STOP_COMPLETE");
    Api->ListenerClose(Listener);
    CHECK(tu_event_wait(&ListenerStopped, 2, 5000) == 2, "ListenerClose of a started listener raises STOP_COMPLETE");
    CHECK(StopAppCloseInProgress == 1, "STOP_COMPLETE from ListenerClose: AppCloseInProgress is TRUE");
}

/* ---- connections -------------------------------------------------------- */

static void test_connection(HQUIC Connection)
{
    HQUIC Out = NULL;
    uint8_t Data[8] = {0};
    char* LongName;

    CHECK_STATUS(Api->ConnectionOpen(NULL, connection_callback, NULL, &Out), QUIC_STATUS_INVALID_PARAMETER,
                 "ConnectionOpen(NULL registration)");
    CHECK_STATUS(Api->ConnectionOpen(Configuration, connection_callback, NULL, &Out), QUIC_STATUS_INVALID_PARAMETER,
                 "ConnectionOpen(configuration as registration)");
    CHECK_STATUS(Api->ConnectionOpen(Registration, NULL, NULL, &Out), QUIC_STATUS_INVALID_PARAMETER,
                 "ConnectionOpen(handler NULL)");
    CHECK_STATUS(Api->ConnectionOpen(Registration, connection_callback, NULL, NULL), QUIC_STATUS_INVALID_PARAMETER,
                 "ConnectionOpen(out NULL)");

    CHECK_STATUS(Api->ConnectionOpenInPartition(NULL, 0, connection_callback, NULL, &Out),
                 QUIC_STATUS_INVALID_PARAMETER, "ConnectionOpenInPartition(NULL registration)");
    CHECK_STATUS(Api->ConnectionOpenInPartition(Registration, 0xFFFF, connection_callback, NULL, &Out),
                 QUIC_STATUS_INVALID_PARAMETER, "ConnectionOpenInPartition(partition 65535)");
    CHECK_STATUS(Api->ConnectionOpenInPartition(Registration, 0, NULL, NULL, &Out),
                 QUIC_STATUS_INVALID_PARAMETER, "ConnectionOpenInPartition(handler NULL)");
    CHECK_STATUS(Api->ConnectionOpenInPartition(Registration, 0, connection_callback, NULL, NULL),
                 QUIC_STATUS_INVALID_PARAMETER, "ConnectionOpenInPartition(out NULL)");
    Out = NULL;
    CHECK_STATUS(Api->ConnectionOpenInPartition(Registration, 0, connection_callback, NULL, &Out),
                 QUIC_STATUS_SUCCESS, "ConnectionOpenInPartition(partition 0)");
    if (Out != NULL) {
        Api->ConnectionClose(Out);
    }

    Api->ConnectionClose(NULL);
    CHECK(1, "ConnectionClose(NULL) returns");
    Api->ConnectionShutdown(NULL, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(1, "ConnectionShutdown(NULL) returns");

    /* ConnectionStart. */
    CHECK_STATUS(Api->ConnectionStart(NULL, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "localhost", 443),
                 QUIC_STATUS_INVALID_PARAMETER, "ConnectionStart(NULL connection)");
    CHECK_STATUS(Api->ConnectionStart(Registration, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "localhost", 443),
                 QUIC_STATUS_INVALID_PARAMETER, "ConnectionStart(registration as connection)");
    CHECK_STATUS(Api->ConnectionStart(Connection, NULL, QUIC_ADDRESS_FAMILY_INET, "localhost", 443),
                 QUIC_STATUS_INVALID_PARAMETER, "ConnectionStart(configuration NULL)");
    CHECK_STATUS(Api->ConnectionStart(Connection, Registration, QUIC_ADDRESS_FAMILY_INET, "localhost", 443),
                 QUIC_STATUS_INVALID_PARAMETER, "ConnectionStart(registration as configuration)");
    CHECK_STATUS(Api->ConnectionStart(Connection, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "localhost", 0),
                 QUIC_STATUS_INVALID_PARAMETER, "ConnectionStart(port 0)");
    CHECK_STATUS(Api->ConnectionStart(Connection, ClientConfiguration, (QUIC_ADDRESS_FAMILY)AF_UNIX, "localhost", 443),
                 QUIC_STATUS_INVALID_PARAMETER, "ConnectionStart(family AF_UNIX)");
    CHECK_STATUS(Api->ConnectionStart(Connection, Configuration, QUIC_ADDRESS_FAMILY_INET, "localhost", 443),
                 QUIC_STATUS_INVALID_PARAMETER, "ConnectionStart(configuration without a credential)");
    CHECK_STATUS(Api->ConnectionStart(Connection, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, NULL, 443),
                 QUIC_STATUS_INVALID_PARAMETER, "ConnectionStart(no server name and no remote address set)");
    LongName = (char*)malloc(QUIC_MAX_SNI_LENGTH + 2);
    if (LongName != NULL) {
        memset(LongName, 'a', QUIC_MAX_SNI_LENGTH + 1);
        LongName[QUIC_MAX_SNI_LENGTH + 1] = '\0';
        CHECK_STATUS(Api->ConnectionStart(Connection, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, LongName, 443),
                     QUIC_STATUS_INVALID_PARAMETER, "ConnectionStart(server name of 65536 bytes)");
        free(LongName);
    }

    /* Server-only calls on a client connection. */
    CHECK_STATUS(Api->ConnectionSetConfiguration(NULL, ClientConfiguration), QUIC_STATUS_INVALID_PARAMETER,
                 "ConnectionSetConfiguration(NULL connection)");
    CHECK_STATUS(Api->ConnectionSetConfiguration(Connection, NULL), QUIC_STATUS_INVALID_PARAMETER,
                 "ConnectionSetConfiguration(configuration NULL)");
    CHECK_STATUS(Api->ConnectionSetConfiguration(Connection, Registration), QUIC_STATUS_INVALID_PARAMETER,
                 "ConnectionSetConfiguration(registration as configuration)");
    CHECK_STATUS(Api->ConnectionSetConfiguration(Connection, ClientConfiguration), QUIC_STATUS_INVALID_PARAMETER,
                 "ConnectionSetConfiguration on a client connection");

    CHECK_STATUS(Api->ConnectionSendResumptionTicket(NULL, QUIC_SEND_RESUMPTION_FLAG_NONE, 0, NULL),
                 QUIC_STATUS_INVALID_PARAMETER, "ConnectionSendResumptionTicket(NULL connection)");
    CHECK_STATUS(Api->ConnectionSendResumptionTicket(Connection, QUIC_SEND_RESUMPTION_FLAG_NONE,
                                                     QUIC_MAX_RESUMPTION_APP_DATA_LENGTH + 1, Data),
                 QUIC_STATUS_INVALID_PARAMETER, "ConnectionSendResumptionTicket(1001 bytes of data)");
    CHECK_STATUS(Api->ConnectionSendResumptionTicket(Connection, QUIC_SEND_RESUMPTION_FLAG_NONE, 4, NULL),
                 QUIC_STATUS_INVALID_PARAMETER, "ConnectionSendResumptionTicket(data NULL, length 4)");
    CHECK_STATUS(Api->ConnectionSendResumptionTicket(Connection, (QUIC_SEND_RESUMPTION_FLAGS)2, 0, NULL),
                 QUIC_STATUS_INVALID_PARAMETER, "ConnectionSendResumptionTicket(unknown flag 2)");
    CHECK_STATUS(Api->ConnectionSendResumptionTicket(Connection, QUIC_SEND_RESUMPTION_FLAG_NONE, 0, NULL),
                 QUIC_STATUS_INVALID_PARAMETER, "ConnectionSendResumptionTicket on a client connection");

    CHECK_STATUS(Api->ConnectionResumptionTicketValidationComplete(NULL, TRUE), QUIC_STATUS_INVALID_PARAMETER,
                 "ConnectionResumptionTicketValidationComplete(NULL)");
    CHECK_STATUS(Api->ConnectionResumptionTicketValidationComplete(Registration, TRUE),
                 QUIC_STATUS_INVALID_PARAMETER, "ConnectionResumptionTicketValidationComplete(registration)");
    CHECK_STATUS(Api->ConnectionResumptionTicketValidationComplete(Connection, TRUE), QUIC_STATUS_INVALID_PARAMETER,
                 "ConnectionResumptionTicketValidationComplete on a client connection");

    CHECK_STATUS(Api->ConnectionCertificateValidationComplete(NULL, TRUE, QUIC_TLS_ALERT_CODE_SUCCESS),
                 QUIC_STATUS_INVALID_PARAMETER, "ConnectionCertificateValidationComplete(NULL)");
    CHECK_STATUS(Api->ConnectionCertificateValidationComplete(Registration, TRUE, QUIC_TLS_ALERT_CODE_SUCCESS),
                 QUIC_STATUS_INVALID_PARAMETER, "ConnectionCertificateValidationComplete(registration)");
    CHECK_STATUS(Api->ConnectionCertificateValidationComplete(Connection, FALSE, QUIC_TLS_ALERT_CODE_SUCCESS),
                 QUIC_STATUS_INVALID_PARAMETER,
                 "ConnectionCertificateValidationComplete(reject with alert 0xFFFF > QUIC_TLS_ALERT_CODE_MAX)");

    /* Keying material export (preview). */
    {
        QUIC_KEYING_MATERIAL_CONFIG Keying;
        uint8_t Output[32];
        memset(&Keying, 0, sizeof(Keying));
        Keying.Label = "EXPORTER-swiftquic";
        Keying.OutputLength = sizeof(Output);
        CHECK_STATUS(Api->ConnectionExportKeyingMaterial(NULL, &Keying, Output), QUIC_STATUS_INVALID_PARAMETER,
                     "ConnectionExportKeyingMaterial(NULL connection)");
        CHECK_STATUS(Api->ConnectionExportKeyingMaterial(Registration, &Keying, Output),
                     QUIC_STATUS_INVALID_PARAMETER, "ConnectionExportKeyingMaterial(registration)");
        CHECK_STATUS(Api->ConnectionExportKeyingMaterial(Connection, NULL, Output), QUIC_STATUS_INVALID_PARAMETER,
                     "ConnectionExportKeyingMaterial(config NULL)");
        CHECK_STATUS(Api->ConnectionExportKeyingMaterial(Connection, &Keying, NULL), QUIC_STATUS_INVALID_PARAMETER,
                     "ConnectionExportKeyingMaterial(output NULL)");
        Keying.Label = NULL;
        CHECK_STATUS(Api->ConnectionExportKeyingMaterial(Connection, &Keying, Output), QUIC_STATUS_INVALID_PARAMETER,
                     "ConnectionExportKeyingMaterial(label NULL)");
        Keying.Label = "EXPORTER-swiftquic";
        Keying.OutputLength = 0;
        CHECK_STATUS(Api->ConnectionExportKeyingMaterial(Connection, &Keying, Output), QUIC_STATUS_INVALID_PARAMETER,
                     "ConnectionExportKeyingMaterial(OutputLength 0)");
        Keying.OutputLength = sizeof(Output);
        Keying.ContextLength = 4;
        Keying.Context = NULL;
        CHECK_STATUS(Api->ConnectionExportKeyingMaterial(Connection, &Keying, Output), QUIC_STATUS_INVALID_PARAMETER,
                     "ConnectionExportKeyingMaterial(context NULL, length 4)");
        Keying.ContextLength = 0;
        CHECK_STATUS(Api->ConnectionExportKeyingMaterial(Connection, &Keying, Output), QUIC_STATUS_INVALID_STATE,
                     "ConnectionExportKeyingMaterial before the handshake");
    }

    /* Datagrams. */
    {
        QUIC_BUFFER Buffer;
        Buffer.Length = sizeof(Data);
        Buffer.Buffer = Data;
        CHECK_STATUS(Api->DatagramSend(NULL, &Buffer, 1, QUIC_SEND_FLAG_NONE, NULL), QUIC_STATUS_INVALID_PARAMETER,
                     "DatagramSend(NULL connection)");
        CHECK_STATUS(Api->DatagramSend(Registration, &Buffer, 1, QUIC_SEND_FLAG_NONE, NULL),
                     QUIC_STATUS_INVALID_PARAMETER, "DatagramSend(registration)");
        CHECK_STATUS(Api->DatagramSend(Connection, NULL, 1, QUIC_SEND_FLAG_NONE, NULL), QUIC_STATUS_INVALID_PARAMETER,
                     "DatagramSend(buffers NULL)");
        CHECK_STATUS(Api->DatagramSend(Connection, &Buffer, 0, QUIC_SEND_FLAG_NONE, NULL),
                     QUIC_STATUS_INVALID_PARAMETER, "DatagramSend(count 0)");
        {
            /* The lengths add up past 65535: cannot be one datagram. */
            QUIC_BUFFER Two[2];
            static uint8_t Large[40000];
            Two[0].Length = sizeof(Large);
            Two[0].Buffer = Large;
            Two[1] = Two[0];
            CHECK_STATUS(Api->DatagramSend(Connection, Two, 2, QUIC_SEND_FLAG_NONE, NULL),
                         QUIC_STATUS_INVALID_PARAMETER, "DatagramSend(80000 bytes in total)");
        }
    }

    /* Connection pools (preview; Windows/XDP only in MsQuic): bad arguments fail. */
    {
        QUIC_CONNECTION_POOL_CONFIG Pool;
        HQUIC Handles[2] = {NULL, NULL};
        memset(&Pool, 0, sizeof(Pool));
        CHECK_FAILED(Api->ConnectionPoolCreate(NULL, Handles), "ConnectionPoolCreate(config NULL)");
        Pool.Registration = Registration;
        Pool.Configuration = ClientConfiguration;
        Pool.Handler = connection_callback;
        Pool.ServerName = "localhost";
        Pool.Family = QUIC_ADDRESS_FAMILY_INET;
        Pool.ServerPort = 4433;
        Pool.NumberOfConnections = 0;
        CHECK_FAILED(Api->ConnectionPoolCreate(&Pool, Handles), "ConnectionPoolCreate(0 connections)");
        Pool.NumberOfConnections = 2;
        CHECK_FAILED(Api->ConnectionPoolCreate(&Pool, NULL), "ConnectionPoolCreate(out NULL)");
        Pool.Registration = NULL;
        CHECK_FAILED(Api->ConnectionPoolCreate(&Pool, Handles), "ConnectionPoolCreate(registration NULL)");
    }
}

/* ---- streams ------------------------------------------------------------ */

static void test_stream(HQUIC Connection)
{
    HQUIC Stream = NULL;
    HQUIC Unidirectional = NULL;
    QUIC_BUFFER Buffer;
    uint8_t Data[16] = {1, 2, 3};
    uint32_t Length;
    int Marker;

    Buffer.Length = sizeof(Data);
    Buffer.Buffer = Data;

    CHECK_STATUS(Api->StreamOpen(NULL, QUIC_STREAM_OPEN_FLAG_NONE, stream_callback, NULL, &Stream),
                 QUIC_STATUS_INVALID_PARAMETER, "StreamOpen(NULL connection)");
    CHECK_STATUS(Api->StreamOpen(Registration, QUIC_STREAM_OPEN_FLAG_NONE, stream_callback, NULL, &Stream),
                 QUIC_STATUS_INVALID_PARAMETER, "StreamOpen(registration)");
    CHECK_STATUS(Api->StreamOpen(Connection, QUIC_STREAM_OPEN_FLAG_NONE, NULL, NULL, &Stream),
                 QUIC_STATUS_INVALID_PARAMETER, "StreamOpen(handler NULL)");
    CHECK_STATUS(Api->StreamOpen(Connection, QUIC_STREAM_OPEN_FLAG_NONE, stream_callback, NULL, NULL),
                 QUIC_STATUS_INVALID_PARAMETER, "StreamOpen(out NULL)");

    Stream = NULL;
    CHECK_STATUS(Api->StreamOpen(Connection, QUIC_STREAM_OPEN_FLAG_NONE, stream_callback, &Marker, &Stream),
                 QUIC_STATUS_SUCCESS, "StreamOpen(bidirectional) before ConnectionStart");
    CHECK_STATUS(Api->StreamOpen(Connection, QUIC_STREAM_OPEN_FLAG_UNIDIRECTIONAL, stream_callback, NULL,
                                 &Unidirectional),
                 QUIC_STATUS_SUCCESS, "StreamOpen(unidirectional) before ConnectionStart");
    if (Stream == NULL) {
        return;
    }
    CHECK(Api->GetContext(Stream) == &Marker, "the StreamOpen context is the handle's context");

    /* A stream that was not started has no ID yet. */
    {
        QUIC_UINT62 Id = 0;
        Length = sizeof(Id);
        CHECK_STATUS(Api->GetParam(Stream, QUIC_PARAM_STREAM_ID, &Length, &Id), QUIC_STATUS_INVALID_STATE,
                     "GetParam(STREAM_ID) before StreamStart");
        CHECK_STATUS(Api->SetParam(Stream, QUIC_PARAM_STREAM_ID, sizeof(Id), &Id), QUIC_STATUS_INVALID_PARAMETER,
                     "SetParam(STREAM_ID) is refused (get-only)");
    }

    /* Send priority: 0x7FFF by default, settable as a uint16_t. */
    {
        uint16_t Priority = 0;
        uint32_t Wide = 5;
        Length = sizeof(Priority);
        CHECK_STATUS(Api->GetParam(Stream, QUIC_PARAM_STREAM_PRIORITY, &Length, &Priority), QUIC_STATUS_SUCCESS,
                     "GetParam(STREAM_PRIORITY)");
        CHECK(Priority == 0x7FFF, "STREAM_PRIORITY default is 0x7FFF (0x%x)", Priority);
        Priority = 0x1000;
        CHECK_STATUS(Api->SetParam(Stream, QUIC_PARAM_STREAM_PRIORITY, sizeof(Priority), &Priority),
                     QUIC_STATUS_SUCCESS, "SetParam(STREAM_PRIORITY, 0x1000)");
        Priority = 0;
        Length = sizeof(Priority);
        CHECK_STATUS(Api->GetParam(Stream, QUIC_PARAM_STREAM_PRIORITY, &Length, &Priority), QUIC_STATUS_SUCCESS,
                     "GetParam(STREAM_PRIORITY) after set");
        CHECK(Priority == 0x1000, "STREAM_PRIORITY round trip (0x%x)", Priority);
        CHECK_STATUS(Api->SetParam(Stream, QUIC_PARAM_STREAM_PRIORITY, sizeof(Wide), &Wide),
                     QUIC_STATUS_INVALID_PARAMETER, "SetParam(STREAM_PRIORITY, 4 bytes)");
    }

    CHECK_STATUS(Api->StreamStart(NULL, QUIC_STREAM_START_FLAG_NONE), QUIC_STATUS_INVALID_PARAMETER,
                 "StreamStart(NULL)");
    CHECK_STATUS(Api->StreamStart(Connection, QUIC_STREAM_START_FLAG_NONE), QUIC_STATUS_INVALID_PARAMETER,
                 "StreamStart(connection handle)");

    CHECK_STATUS(Api->StreamShutdown(NULL, QUIC_STREAM_SHUTDOWN_FLAG_ABORT, 0), QUIC_STATUS_INVALID_PARAMETER,
                 "StreamShutdown(NULL)");
    CHECK_STATUS(Api->StreamShutdown(Connection, QUIC_STREAM_SHUTDOWN_FLAG_ABORT, 0), QUIC_STATUS_INVALID_PARAMETER,
                 "StreamShutdown(connection handle)");
    CHECK_STATUS(Api->StreamShutdown(Stream, QUIC_STREAM_SHUTDOWN_FLAG_NONE, 0), QUIC_STATUS_INVALID_PARAMETER,
                 "StreamShutdown(no flags)");
    CHECK_STATUS(Api->StreamShutdown(Stream, QUIC_STREAM_SHUTDOWN_FLAG_IMMEDIATE, 0), QUIC_STATUS_INVALID_PARAMETER,
                 "StreamShutdown(IMMEDIATE alone)");
    CHECK_STATUS(Api->StreamShutdown(Stream, (QUIC_STREAM_SHUTDOWN_FLAGS)(QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL |
                                                                          QUIC_STREAM_SHUTDOWN_FLAG_ABORT_SEND), 0),
                 QUIC_STATUS_INVALID_PARAMETER, "StreamShutdown(GRACEFUL with ABORT_SEND)");
    CHECK_STATUS(Api->StreamShutdown(Stream, (QUIC_STREAM_SHUTDOWN_FLAGS)(QUIC_STREAM_SHUTDOWN_FLAG_ABORT_SEND |
                                                                          QUIC_STREAM_SHUTDOWN_FLAG_IMMEDIATE), 0),
                 QUIC_STATUS_INVALID_PARAMETER, "StreamShutdown(IMMEDIATE without aborting both directions)");
    CHECK_STATUS(Api->StreamShutdown(Stream, QUIC_STREAM_SHUTDOWN_FLAG_ABORT, QUIC_UINT62_MAX + 1),
                 QUIC_STATUS_INVALID_PARAMETER, "StreamShutdown(error code 2^62)");

    CHECK_STATUS(Api->StreamSend(NULL, &Buffer, 1, QUIC_SEND_FLAG_NONE, NULL), QUIC_STATUS_INVALID_PARAMETER,
                 "StreamSend(NULL)");
    CHECK_STATUS(Api->StreamSend(Connection, &Buffer, 1, QUIC_SEND_FLAG_NONE, NULL), QUIC_STATUS_INVALID_PARAMETER,
                 "StreamSend(connection handle)");
    CHECK_STATUS(Api->StreamSend(Stream, NULL, 1, QUIC_SEND_FLAG_NONE, NULL), QUIC_STATUS_INVALID_PARAMETER,
                 "StreamSend(buffers NULL, count 1)");

    Api->StreamReceiveComplete(NULL, 0);
    CHECK(1, "StreamReceiveComplete(NULL) returns");
    CHECK_STATUS(Api->StreamReceiveSetEnabled(NULL, TRUE), QUIC_STATUS_INVALID_PARAMETER,
                 "StreamReceiveSetEnabled(NULL)");
    CHECK_STATUS(Api->StreamReceiveSetEnabled(Connection, TRUE), QUIC_STATUS_INVALID_PARAMETER,
                 "StreamReceiveSetEnabled(connection handle)");

    CHECK_STATUS(Api->StreamProvideReceiveBuffers(NULL, 1, &Buffer), QUIC_STATUS_INVALID_PARAMETER,
                 "StreamProvideReceiveBuffers(NULL)");
    CHECK_STATUS(Api->StreamProvideReceiveBuffers(Stream, 0, &Buffer), QUIC_STATUS_INVALID_PARAMETER,
                 "StreamProvideReceiveBuffers(count 0)");
    CHECK_STATUS(Api->StreamProvideReceiveBuffers(Stream, 1, NULL), QUIC_STATUS_INVALID_PARAMETER,
                 "StreamProvideReceiveBuffers(buffers NULL)");
    {
        QUIC_BUFFER Empty;
        Empty.Length = 0;
        Empty.Buffer = Data;
        CHECK_STATUS(Api->StreamProvideReceiveBuffers(Stream, 1, &Empty), QUIC_STATUS_INVALID_PARAMETER,
                     "StreamProvideReceiveBuffers(a zero-length buffer)");
    }
    CHECK_STATUS(Api->StreamProvideReceiveBuffers(Stream, 1, &Buffer), QUIC_STATUS_INVALID_STATE,
                 "StreamProvideReceiveBuffers on a stream without APP_OWNED_BUFFERS");

    Api->StreamClose(NULL);
    CHECK(1, "StreamClose(NULL) returns");
    Api->StreamClose(Stream);
    CHECK(1, "StreamClose of a stream that was never started returns");
    if (Unidirectional != NULL) {
        Api->StreamClose(Unidirectional);
    }
}

/* ---- execution (preview) ------------------------------------------------ */

static void test_execution(void)
{
    QUIC_EXECUTION* Executions[1] = {NULL};
    CHECK_FAILED(Api->ExecutionCreate(QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE, 0, 1, NULL, Executions),
                 "ExecutionCreate(configs NULL)");
    Api->ExecutionDelete(0, NULL);
    CHECK(1, "ExecutionDelete(0, NULL) returns");
}

int main(void)
{
    QUIC_BUFFER Alpn = tu_alpn("swiftquic");
    QUIC_CREDENTIAL_CONFIG Cred;
    HQUIC Connection = NULL;

    tu_start_watchdog(90);
    tu_event_init(&ConnectionEvents);
    tu_event_init(&StreamEvents);

    if (MsQuicOpen2(&Api) != QUIC_STATUS_SUCCESS || Api == NULL) {
        CHECK(0, "MsQuicOpen2");
        return tu_finish();
    }
    test_execution();
    if (QUIC_FAILED(Api->RegistrationOpen(NULL, &Registration)) ||
        QUIC_FAILED(Api->ConfigurationOpen(Registration, &Alpn, 1, NULL, 0, NULL, &Configuration)) ||
        QUIC_FAILED(Api->ConfigurationOpen(Registration, &Alpn, 1, NULL, 0, NULL, &ClientConfiguration))) {
        CHECK(0, "open a registration and two configurations");
        return tu_finish();
    }
    memset(&Cred, 0, sizeof(Cred));
    Cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    Cred.Flags = (QUIC_CREDENTIAL_FLAGS)(QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION);
    CHECK_STATUS(Api->ConfigurationLoadCredential(ClientConfiguration, &Cred), QUIC_STATUS_SUCCESS,
                 "load a client credential");
    {
        QUIC_STATUS Status = Api->ConnectionOpen(Registration, connection_callback, NULL, &Connection);
        if (TU_NOT_IMPLEMENTED(Status)) {
            SKIP("ConnectionOpen: NOT_SUPPORTED (connections are not implemented yet)");
        } else {
            CHECK_STATUS(Status, QUIC_STATUS_SUCCESS, "ConnectionOpen");
        }
    }

    test_registration_and_configuration();
    if (Connection == NULL) {
        /* Keep checking what does not need a connection. */
        test_listener(ClientConfiguration);
        SKIP("context, parameter, connection and stream checks: no connection");
    } else {
        test_context_and_params(Connection);
        test_listener(Connection);
        test_connection(Connection);
        test_stream(Connection);
        Api->ConnectionClose(Connection);
        CHECK(1, "ConnectionClose of a connection that was never started returns");
    }
    Api->ConfigurationClose(ClientConfiguration);
    Api->ConfigurationClose(Configuration);
    Api->RegistrationClose(Registration);
    CHECK(1, "RegistrationClose after all children are closed returns");
    MsQuicClose(Api);
    return tu_finish();
}
