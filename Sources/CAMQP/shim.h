// Shim over rabbitmq-c 0.11: exposes the C macros and variadic calls that Swift cannot import.
#ifndef BULLPEN_CAMQP_SHIM_H
#define BULLPEN_CAMQP_SHIM_H
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <amqp_ssl_socket.h>
#include <sys/time.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>

/// amqp_login is variadic; Bullpen only ever uses SASL PLAIN.
static inline amqp_rpc_reply_t bp_amqp_login_plain(amqp_connection_state_t state, const char *vhost,
                                                   int frame_max, int heartbeat,
                                                   const char *user, const char *password) {
    return amqp_login(state, vhost, 0, frame_max, heartbeat, AMQP_SASL_METHOD_PLAIN, user, password);
}

static const amqp_flags_t BP_AMQP_BASIC_CONTENT_TYPE_FLAG = AMQP_BASIC_CONTENT_TYPE_FLAG;
static const amqp_flags_t BP_AMQP_BASIC_HEADERS_FLAG = AMQP_BASIC_HEADERS_FLAG;
static const amqp_flags_t BP_AMQP_BASIC_DELIVERY_MODE_FLAG = AMQP_BASIC_DELIVERY_MODE_FLAG;
static const amqp_flags_t BP_AMQP_BASIC_PRIORITY_FLAG = AMQP_BASIC_PRIORITY_FLAG;
static const amqp_flags_t BP_AMQP_BASIC_CORRELATION_ID_FLAG = AMQP_BASIC_CORRELATION_ID_FLAG;
static const amqp_flags_t BP_AMQP_BASIC_REPLY_TO_FLAG = AMQP_BASIC_REPLY_TO_FLAG;
static const amqp_flags_t BP_AMQP_BASIC_EXPIRATION_FLAG = AMQP_BASIC_EXPIRATION_FLAG;
static const amqp_flags_t BP_AMQP_BASIC_MESSAGE_ID_FLAG = AMQP_BASIC_MESSAGE_ID_FLAG;
static const amqp_flags_t BP_AMQP_BASIC_TIMESTAMP_FLAG = AMQP_BASIC_TIMESTAMP_FLAG;
static const amqp_flags_t BP_AMQP_BASIC_TYPE_FLAG = AMQP_BASIC_TYPE_FLAG;
static const amqp_flags_t BP_AMQP_BASIC_APP_ID_FLAG = AMQP_BASIC_APP_ID_FLAG;

/// Waits until the socket or the wake-up descriptor is readable. Returns poll(2)'s result;
/// *socket_ready and *wake_ready say which.
static inline int bp_poll_two(int socket_fd, int wake_fd, int timeout_ms, int *socket_ready, int *wake_ready) {
    struct pollfd fds[2];
    fds[0].fd = socket_fd; fds[0].events = POLLIN; fds[0].revents = 0;
    fds[1].fd = wake_fd; fds[1].events = POLLIN; fds[1].revents = 0;
    int n = poll(fds, wake_fd >= 0 ? 2 : 1, timeout_ms);
    *socket_ready = n > 0 && (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) != 0;
    *wake_ready = n > 0 && wake_fd >= 0 && (fds[1].revents & POLLIN) != 0;
    return n;
}

static inline int bp_eventfd_create(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }
static inline void bp_eventfd_signal(int fd) { uint64_t one = 1; ssize_t r = write(fd, &one, sizeof one); (void)r; }
static inline void bp_eventfd_drain(int fd) { uint64_t v; ssize_t r = read(fd, &v, sizeof v); (void)r; }
static inline void bp_eventfd_close(int fd) { close(fd); }

static const amqp_method_number_t BP_AMQP_BASIC_DELIVER_METHOD = AMQP_BASIC_DELIVER_METHOD;
static const amqp_method_number_t BP_AMQP_BASIC_ACK_METHOD = AMQP_BASIC_ACK_METHOD;
static const amqp_method_number_t BP_AMQP_BASIC_NACK_METHOD = AMQP_BASIC_NACK_METHOD;
static const amqp_method_number_t BP_AMQP_BASIC_RETURN_METHOD = AMQP_BASIC_RETURN_METHOD;
static const amqp_method_number_t BP_AMQP_BASIC_CANCEL_METHOD = AMQP_BASIC_CANCEL_METHOD;
static const amqp_method_number_t BP_AMQP_CHANNEL_CLOSE_METHOD = AMQP_CHANNEL_CLOSE_METHOD;
static const amqp_method_number_t BP_AMQP_CHANNEL_CLOSE_OK_METHOD = AMQP_CHANNEL_CLOSE_OK_METHOD;
static const amqp_method_number_t BP_AMQP_CONNECTION_CLOSE_METHOD = AMQP_CONNECTION_CLOSE_METHOD;
static const amqp_method_number_t BP_AMQP_CONNECTION_CLOSE_OK_METHOD = AMQP_CONNECTION_CLOSE_OK_METHOD;
static const int BP_AMQP_FRAME_METHOD = AMQP_FRAME_METHOD;

/// Replies close-ok to a channel.close sent by the server, so the channel number can be reused.
static inline int bp_amqp_send_channel_close_ok(amqp_connection_state_t state, amqp_channel_t channel) {
    amqp_channel_close_ok_t ok;
    ok.dummy = 0;
    return amqp_send_method(state, channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
}

/// Replies close-ok to a connection.close sent by the server.
static inline int bp_amqp_send_connection_close_ok(amqp_connection_state_t state) {
    amqp_connection_close_ok_t ok;
    ok.dummy = 0;
    return amqp_send_method(state, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
}

/// Sets a timeval from milliseconds.
static inline struct timeval bp_timeval_ms(long ms) {
    struct timeval tv;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return tv;
}

/// The local TCP port of a socket, or -1.
static inline int bp_local_port(int fd) {
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    if (fd < 0 || getsockname(fd, (struct sockaddr *)&addr, &len) != 0) return -1;
    return ntohs(addr.sin_port);
}

#endif
