/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* D-Bus for the unit tests, with no bus daemon and no root: the two ends of a direct connection
 * over a socketpair, in one process and on one event loop, as systemd's own tests make them; a
 * method call across it that waits for its answer by running the loop (a bounded number of
 * iterations, never a clock); and a fake polkit authority served on one end. A direct
 * connection delivers every message to its peer whatever the destination, so the daemon's
 * CheckAuthorization to org.freedesktop.PolicyKit1 reaches the fake on the other end.
 *
 * On a direct connection messages carry no sender unless one is written into them, and the
 * daemon (daemon/bus-peer.c) takes every caller's identity from the socket's peer credentials:
 * those of whoever made the socketpair. test_bus_pair_new() can make it under another euid.
 *
 * As test-util.h: the functions return 0 (or what is said) or -errno and never call check's
 * assertions; the caller asserts. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "macro.h"

/* ---- The connection ----------------------------------------------------------------------- */

/* Connects a server end (the daemon's: anonymous, with a random server id) and a client end
 * over a socketpair, both attached to `e`. The server sees the client as the creator of the
 * socketpair: with euid `peer_uid`, which is taken for that one call and given back at once
 * ((uid_t) -1: this process's euid). Another uid than ours needs root: -EPERM otherwise. */
int test_bus_pair_new(sd_event *e, uid_t peer_uid, sd_bus **ret_server, sd_bus **ret_client);

/* A method call on `bus` that names `sender` (NULL: none) as its sender, as a bus daemon would
 * have written it: the daemon takes it for the caller's unique name. */
int test_bus_new_call(sd_bus *bus, const char *sender, const char *path, const char *interface,
                      const char *member, sd_bus_message **ret);

/* Sends the call `m` and runs `e` until its answer arrives: 0 with the reply (a method return or
 * an error) in *ret_reply, -ETIMEDOUT if the loop ran out of things to do without it. */
int test_bus_call(sd_event *e, sd_bus_message *m, sd_bus_message **ret_reply);

/* Runs `e` until it has nothing left to do now (bounded): 0, or -errno. */
int test_bus_settle(sd_event *e);

/* Is `text` anywhere in the printed form of `m` (sd_bus_message_dump())? 1, 0, or -errno. The
 * message is rewound. */
int test_bus_message_contains(sd_bus_message *m, const char *text);

/* ---- A fake polkit authority ---------------------------------------------------------------- */

typedef enum FakePolkitAnswer {
        FAKE_POLKIT_ALLOW,     /* is_authorized */
        FAKE_POLKIT_DENY,      /* neither */
        FAKE_POLKIT_CHALLENGE, /* is_challenge */
        FAKE_POLKIT_ERROR,     /* the D-Bus error FakePolkit.error_name */
        FAKE_POLKIT_MALFORMED, /* a reply of the wrong type */
        FAKE_POLKIT_HOLD,      /* none for now: see fake_polkit_answer() */
} FakePolkitAnswer;

/* One CheckAuthorization received. */
typedef struct FakePolkitCheck {
        char *subject_kind;    /* "system-bus-name", ... */
        char *subject_name;    /* the subject's "name" detail, NULL if none */
        char *action;
        char **details;        /* key, value, key, value, ..., NULL */
        uint32_t flags;
        char *cancellation_id;
        sd_bus_message *held;  /* the call, while it waits for fake_polkit_answer() */
} FakePolkitCheck;

typedef struct FakePolkit {
        sd_bus_slot *slot;
        FakePolkitAnswer answer;   /* given to each check as it comes in */
        const char *error_name;    /* for FAKE_POLKIT_ERROR */
        FakePolkitCheck *checks;   /* every check received, in order */
        size_t n_checks, allocated;
        char **cancelled;          /* the id of each CancelCheckAuthorization received, in order */
} FakePolkit;

/* Serves org.freedesktop.PolicyKit1.Authority at its path on `bus`, answering `answer`. */
int fake_polkit_new(sd_bus *bus, FakePolkitAnswer answer, FakePolkit **ret);
FakePolkit *fake_polkit_free(FakePolkit *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(FakePolkit *, fake_polkit_free);

/* Answers the held check number `i` (in the order received): -ENOENT if it is not held. */
int fake_polkit_answer(FakePolkit *f, size_t i, FakePolkitAnswer answer);
/* How many checks are held. */
size_t fake_polkit_n_held(const FakePolkit *f);
/* The value of detail `key` of the check, or NULL. */
const char *fake_polkit_detail(const FakePolkitCheck *c, const char *key);
/* How many CancelCheckAuthorization calls named `id`. */
size_t fake_polkit_n_cancelled(const FakePolkit *f, const char *id);
