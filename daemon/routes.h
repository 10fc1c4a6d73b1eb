/* SPDX-License-Identifier: MIT */
/*
 * routes.h - the daemon's routes (the store's: snapshots, jobs, sessions), registered with the
 * router through api_host.routes (registry_host()). See routes.c.
 */
#ifndef DAEMON_ROUTES_H
#define DAEMON_ROUTES_H

#include <stddef.h>

#include "router.h"

/* The rows, *@ret_n of them. */
const struct api_route *daemon_routes(size_t *ret_n);

#endif /* DAEMON_ROUTES_H */
