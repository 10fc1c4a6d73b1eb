/* SPDX-License-Identifier: MIT */
/*
 * service.h - what mm32d does for systemd, and nothing when systemd is not there.
 *
 *  - service_notify(): sd_notify() state changes (READY=1, STATUS=..., WATCHDOG=1,
 *    RELOADING=1, STOPPING=1). Without $NOTIFY_SOCKET it does nothing.
 *  - service_watchdog_usec(): WatchdogSec= as systemd passed it ($WATCHDOG_USEC), or 0.
 *  - service_listen_fds(): the sockets of socket activation ($LISTEN_FDS for this pid),
 *    TCP or UNIX stream sockets already listening; none without socket activation.
 *
 * Built without libsystemd (meson -Dsystemd=disabled), all three report "not under
 * systemd". Nothing here logs.
 */
#ifndef DAEMON_SERVICE_H
#define DAEMON_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "mmcore.h"

#define SERVICE_SOCKETS_MAX 8

struct service_socket {
	int fd;
	bool local; /* AF_UNIX */
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

/* Send "KEY=value\n..." (printf-style) to systemd; does nothing outside systemd. */
void service_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t service_watchdog_usec(void);
/*
 * service_listen_fds - the sockets systemd passed, at most @max, into @out.
 * Return: their number (0 without socket activation); -EINVAL when one is not a listening
 * stream socket of AF_INET, AF_INET6 or AF_UNIX, or there are more than @max.
 */
int service_listen_fds(struct service_socket *out, size_t max, struct mm_error *err);
/* Whether mm32d was built with libsystemd. */
bool service_supported(void);

#endif /* DAEMON_SERVICE_H */
