/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Who is on the other end of a method call: the uid and pid of a unique bus name, from the bus's
 * own credentials of that connection (dbus-daemon's GetConnectionCredentials, asked once per
 * connection and asynchronously), cached until the name leaves the bus. One NameOwnerChanged
 * match serves every peer, lease and pending check, so the daemon's match rules on the bus stay
 * O(1) whatever callers do. On a direct (peer-to-peer) connection, as in unit tests, the
 * socket's peer credentials stand in for the bus's. */

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "macro.h"

typedef struct PeerSet PeerSet;

/* At most this many calls of one connection may wait for its identity at once, and at most
 * this many connections are remembered (idle ones are forgotten first). */
#define PEER_WAITING_MAX 32
#define PEERS_MAX 4096

typedef struct PeerIdentity {
        const char *name; /* unique bus name */
        uid_t uid;
        pid_t pid;
} PeerIdentity;

/* The identity, or NULL with a -errno (-ESRCH: the peer left the bus before it was known). */
typedef void (*PeerIdentified)(const PeerIdentity *id, int error, void *userdata);
/* A unique name left the bus (whether or not it was ever identified). */
typedef void (*PeerGone)(const char *name, void *userdata);

/* Installs the one match on the bus (synchronously: call at start-up). */
int peer_set_new(sd_bus *bus, PeerGone on_gone, void *userdata, PeerSet **ret);
PeerSet *peer_set_free(PeerSet *s); /* waiting callbacks get -ECANCELED */
DEFINE_TRIVIAL_CLEANUP_FUNC(PeerSet *, peer_set_free);

/* Calls `cb` with the identity of `name`: before returning (returns 1) if it is known, else
 * once the bus has answered (returns 0). -EUSERS if too many calls of that peer wait already,
 * -ENOSPC if too many peers are known, -ENOMEM. `userdata` is the caller's until cb runs. */
int peer_identify(PeerSet *s, const char *name, PeerIdentified cb, void *userdata);

unsigned peer_set_count(const PeerSet *s);

/* The identity of `name` asked of the bus now, synchronously: for start-up only (restoring
 * leases before the daemon serves), never in a request path. -ESRCH (or another -errno) if the
 * name is not on the bus. The identity is remembered like any other. */
int peer_identify_now(PeerSet *s, const char *name, uid_t *ret_uid, pid_t *ret_pid);
