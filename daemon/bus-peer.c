/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the identities of bus peers and the one NameOwnerChanged match (see bus-peer.h). */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus-peer.h"
#include "log.h"
#include "macro.h"
#include "string-util.h"

typedef struct Waiter {
        PeerIdentified cb;
        void *userdata;
        struct Waiter *next;
} Waiter;

typedef struct Peer {
        PeerSet *set;
        PeerIdentity id;
        char *name;
        bool known;
        sd_bus_slot *query; /* GetConnectionCredentials in flight */
        Waiter *waiters, **waiters_tail;
        unsigned n_waiters;
        struct Peer *next, *prev;
} Peer;

struct PeerSet {
        sd_bus *bus;
        sd_bus_slot *match;
        PeerGone on_gone;
        void *userdata;
        Peer *peers; /* most recently used first */
        unsigned n_peers;
};

static void peer_unlink(Peer *p) {
        PeerSet *s = p->set;

        if (p->prev)
                p->prev->next = p->next;
        else
                s->peers = p->next;
        if (p->next)
                p->next->prev = p->prev;
        p->next = p->prev = NULL;
        s->n_peers--;
}

/* Calls every waiter (with the identity, or with `error`) and frees the peer if it is unknown. */
static void peer_flush(Peer *p, int error) {
        while (p->waiters) {
                Waiter *w = p->waiters;

                p->waiters = w->next;
                p->n_waiters--;
                if (error < 0)
                        w->cb(NULL, error, w->userdata);
                else
                        w->cb(&p->id, 0, w->userdata);
                free(w);
        }
        p->waiters_tail = &p->waiters;
}

static Peer *peer_free(Peer *p) {
        if (!p)
                return NULL;
        peer_unlink(p);
        p->query = sd_bus_slot_unref(p->query);
        peer_flush(p, -ECANCELED);
        free(p->name);
        return mfree(p);
}

static void peer_link_front(PeerSet *s, Peer *p) {
        p->prev = NULL;
        p->next = s->peers;
        if (s->peers)
                s->peers->prev = p;
        s->peers = p;
        s->n_peers++;
}

/* A new peer, not yet identified, at the front of the set; NULL on OOM. */
static Peer *peer_add(PeerSet *s, const char *name) {
        Peer *p = calloc(1, sizeof(Peer));

        if (!p)
                return NULL;
        p->set = s;
        p->name = strdup(name);
        if (!p->name)
                return mfree(p);
        p->id.name = p->name;
        p->waiters_tail = &p->waiters;
        peer_link_front(s, p);
        return p;
}

static Peer *peer_find(PeerSet *s, const char *name) {
        for (Peer *p = s->peers; p; p = p->next)
                if (streq(p->name, name)) {
                        /* Move to the front: a busy caller is found at once next time. */
                        if (p != s->peers) {
                                peer_unlink(p);
                                peer_link_front(s, p);
                        }
                        return p;
                }
        return NULL;
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        PeerSet *s = userdata;
        const char *name, *old_owner, *new_owner;
        Peer *p;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        if (name[0] != ':' || !isempty_str(new_owner))
                return 0;
        p = peer_find(s, name);
        if (p) {
                p->query = sd_bus_slot_unref(p->query);
                peer_flush(p, -ESRCH);
                peer_free(p);
        }
        if (s->on_gone)
                s->on_gone(name, s->userdata);
        return 0;
}

int peer_set_new(sd_bus *bus, PeerGone on_gone, void *userdata, PeerSet **ret) {
        PeerSet *s;
        int r;

        s = calloc(1, sizeof(PeerSet));
        if (!s)
                return -ENOMEM;
        s->bus = sd_bus_ref(bus);
        s->on_gone = on_gone;
        s->userdata = userdata;
        if (sd_bus_is_bus_client(bus)) {
                r = sd_bus_add_match(bus, &s->match,
                                     "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                                     "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg2=''",
                                     on_name_owner_changed, s);
                if (r < 0) {
                        peer_set_free(s);
                        return r;
                }
        }
        *ret = s;
        return 0;
}

PeerSet *peer_set_free(PeerSet *s) {
        if (!s)
                return NULL;
        while (s->peers)
                peer_free(s->peers);
        sd_bus_slot_unref(s->match);
        sd_bus_unref(s->bus);
        return mfree(s);
}

unsigned peer_set_count(const PeerSet *s) {
        return s->n_peers;
}

/* UnixUserID and ProcessID from a GetConnectionCredentials reply. */
static int parse_credentials(sd_bus_message *reply, PeerIdentity *id) {
        bool have_uid = false;
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *key;
                uint32_t v;

                r = sd_bus_message_read(reply, "s", &key);
                if (r < 0)
                        break;
                if (streq(key, "UnixUserID") || streq(key, "ProcessID")) {
                        r = sd_bus_message_read(reply, "v", "u", &v);
                        if (r < 0)
                                break;
                        if (key[0] == 'U') {
                                id->uid = (uid_t) v;
                                have_uid = true;
                        } else
                                id->pid = (pid_t) v;
                } else {
                        r = sd_bus_message_skip(reply, "v");
                        if (r < 0)
                                break;
                }
                r = sd_bus_message_exit_container(reply);
        }
        if (r < 0)
                return r;
        return have_uid ? 0 : -EBADMSG;
}

static int on_credentials(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Peer *p = userdata;
        int r;

        p->query = sd_bus_slot_unref(p->query);
        if (sd_bus_message_is_method_error(reply, NULL)) {
                /* NameHasNoOwner: it left before we asked; its NameOwnerChanged follows. */
                r = -sd_bus_error_get_errno(sd_bus_message_get_error(reply));
                goto fail;
        }
        r = parse_credentials(reply, &p->id);
        if (r < 0) {
                log_warning_errno(r, "Malformed credentials of %s from the bus: %m", p->name);
                goto fail;
        }
        p->known = true;
        peer_flush(p, 0);
        return 0;

fail:
        peer_flush(p, r < 0 ? r : -EIO);
        peer_free(p);
        return 0;
}

/* On a direct connection the peer is the other end of the socket. */
static int identify_direct(PeerSet *s, Peer *p) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *c = NULL;
        int r;

        r = sd_bus_get_owner_creds(s->bus, SD_BUS_CREDS_EUID | SD_BUS_CREDS_PID, &c);
        if (r < 0)
                return r;
        r = sd_bus_creds_get_euid(c, &p->id.uid);
        if (r < 0)
                return r;
        (void) sd_bus_creds_get_pid(c, &p->id.pid);
        p->known = true;
        return 0;
}

/* Forgets one connection that waits for nothing (the least recently used), to make room. */
static bool evict_idle(PeerSet *s) {
        Peer *last = s->peers;

        while (last && last->next)
                last = last->next;
        for (Peer *p = last; p; p = p->prev)
                if (p->known && !p->waiters) {
                        peer_free(p);
                        return true;
                }
        return false;
}

int peer_identify(PeerSet *s, const char *name, PeerIdentified cb, void *userdata) {
        Waiter *w;
        Peer *p;
        int r;

        if (!name)
                return -EBADMSG;
        p = peer_find(s, name);
        if (p && p->known) {
                cb(&p->id, 0, userdata);
                return 1;
        }
        if (p && p->n_waiters >= PEER_WAITING_MAX)
                return -EUSERS;

        if (!p) {
                if (s->n_peers >= PEERS_MAX && !evict_idle(s))
                        return -ENOSPC;
                p = peer_add(s, name);
                if (!p)
                        return -ENOMEM;

                if (!sd_bus_is_bus_client(s->bus)) {
                        r = identify_direct(s, p);
                        if (r < 0) {
                                peer_free(p);
                                return r;
                        }
                        cb(&p->id, 0, userdata);
                        return 1;
                }
                r = sd_bus_call_method_async(s->bus, &p->query, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                             "org.freedesktop.DBus", "GetConnectionCredentials", on_credentials, p,
                                             "s", name);
                if (r < 0) {
                        peer_free(p);
                        return r;
                }
        }

        w = calloc(1, sizeof(Waiter));
        if (!w) {
                if (!p->waiters && !p->known)
                        peer_free(p);
                return -ENOMEM;
        }
        w->cb = cb;
        w->userdata = userdata;
        *p->waiters_tail = w;
        p->waiters_tail = &w->next;
        p->n_waiters++;
        return 0;
}

int peer_identify_now(PeerSet *s, const char *name, uid_t *ret_uid, pid_t *ret_pid) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        PeerIdentity id = {};
        Peer *p;
        int r;

        p = peer_find(s, name);
        if (p && p->known) {
                *ret_uid = p->id.uid;
                *ret_pid = p->id.pid;
                return 0;
        }
        if (!sd_bus_is_bus_client(s->bus))
                return -ESRCH;
        r = sd_bus_call_method(s->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "GetConnectionCredentials", &e, &reply, "s", name);
        if (r < 0)
                return sd_bus_error_has_name(&e, SD_BUS_ERROR_NAME_HAS_NO_OWNER) ? -ESRCH : r;
        r = parse_credentials(reply, &id);
        if (r < 0)
                return r;
        if (!p && s->n_peers < PEERS_MAX)
                p = peer_add(s, name); /* remembered if there is room; an OOM here loses nothing */
        if (p && !p->query) {
                p->id = (PeerIdentity) { .name = p->name, .uid = id.uid, .pid = id.pid };
                p->known = true;
        }
        *ret_uid = id.uid;
        *ret_pid = id.pid;
        return 0;
}
