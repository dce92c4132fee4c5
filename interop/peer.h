/*
 * peer.h - what the parts of msquic_peer (msquic_peer.c: options, helpers, main;
 * peer_server.c; peer_client.c) share. See msquic_peer.c for the program.
 */
#ifndef SWIFTQUIC_INTEROP_PEER_H
#define SWIFTQUIC_INTEROP_PEER_H

#define _GNU_SOURCE 1
#define QUIC_API_ENABLE_PREVIEW_FEATURES 1
#include "msquic.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXIT_SKIP 77
#define QUIC_V1 0x00000001u
#define QUIC_V2 0x6b3343cfu

typedef struct OPTIONS {
    int IsServer;
    const char* Host;
    const char* ServerName;
    uint16_t Port;
    const char* Alpn;
    const char* Cert;
    const char* Key;
    const char* Ca;
    int Insecure;
    uint64_t Bytes;
    uint32_t Streams;
    const char* Mode;
    const char* ExpectFail;
    uint32_t Versions[4];
    uint32_t VersionCount;
    uint64_t MaxBytesPerKey;
    uint32_t ConnFlowControlWindow;
    const char* StatelessResetKey;
    uint32_t InitialRttMs;
    int RetryMemoryPercent;     /* -1: not set */
    uint64_t HandshakeIdleTimeoutMs;   /* 0: msquic_peer's 5000 */
    uint64_t IdleTimeoutMs;            /* 0: msquic_peer's 10000 */
    uint32_t DisconnectTimeoutMs;      /* 0: msquic_peer's 5000 */
    unsigned CongestionControl;        /* --cc: QUIC_CONGESTION_CONTROL_ALGORITHM + 1; 0: not set */
    unsigned TimeoutSeconds;
    int ZeroRtt;
    int VersionNegotiationExt;
    const char* Migrate;   /* client echo: move to this local IPv4 address mid-transfer */
    int MigrateBlocked;    /* --migrate-blocked: the new path is firewalled, expect the return */
    int HyStart;           /* --hystart: QUIC_SETTINGS.HyStartEnabled (RFC 9406 HyStart++) */
} OPTIONS;

extern OPTIONS Opt;
extern const QUIC_API_TABLE* Api;
extern HQUIC Registration;
extern HQUIC Configuration;

/* A counter that callbacks bump and the main thread waits on. */
typedef struct EVENT {
    pthread_mutex_t Lock;
    pthread_cond_t Cond;
    int Count;
} EVENT;

/* A copy of received bytes sent back (echo); freed on SEND_COMPLETE / the final datagram state. */
typedef struct SEND_CHUNK {
    QUIC_BUFFER Buffer;
    uint8_t Data[];
} SEND_CHUNK;

void say(const char* Format, ...) __attribute__((format(printf, 1, 2)));
uint8_t pattern_byte(uint32_t Index, uint64_t Offset);
void event_init(EVENT* E);
void event_signal(EVENT* E);
int event_wait(EVENT* E, int Count, unsigned TimeoutMs);
void print_stats(const char* Who, HQUIC Connection);
int connection_cc(HQUIC Connection);
SEND_CHUNK* chunk_copy(const QUIC_BUFFER* Buffers, uint32_t Count, uint64_t Total);

int run_server(void);     /* peer_server.c */
void on_stop(int Signal); /* peer_server.c: SIGTERM/SIGINT end the server */
int run_client(void);     /* peer_client.c */

#endif /* SWIFTQUIC_INTEROP_PEER_H */
