// Shim over libpq 15.
#ifndef BULLPEN_CPOSTGRES_SHIM_H
#define BULLPEN_CPOSTGRES_SHIM_H
#include <libpq-fe.h>
#include <poll.h>

static const int BP_PG_DIAG_SQLSTATE = PG_DIAG_SQLSTATE;
static const int BP_PG_DIAG_MESSAGE_PRIMARY = PG_DIAG_MESSAGE_PRIMARY;
static const int BP_PG_DIAG_MESSAGE_DETAIL = PG_DIAG_MESSAGE_DETAIL;
static const int BP_PG_DIAG_CONSTRAINT_NAME = PG_DIAG_CONSTRAINT_NAME;

/// Waits until the connection's socket is readable or the timeout passes; returns poll(2)'s result.
static inline int bp_pg_wait_readable(int fd, int timeout_ms) {
    struct pollfd p;
    p.fd = fd; p.events = POLLIN; p.revents = 0;
    return poll(&p, 1, timeout_ms);
}
#endif
