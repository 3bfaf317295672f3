/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Direct D-Bus connections and a fake polkit authority for the unit tests (see test-bus-util.h). */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd-util.h"
#include "string-util.h"
#include "strv.h"
#include "test-bus-util.h"
#include "vfio-token-names.h"

/* Enough for every test's traffic; a loop that still has work after this many rounds is stuck. */
#define LOOP_ITERATIONS_MAX 200000

#define POLKIT_PATH "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_INTERFACE "org.freedesktop.PolicyKit1.Authority"
#define POLKIT_ERROR_FAILED "org.freedesktop.PolicyKit1.Error.Failed"

/* ---- The connection ----------------------------------------------------------------------- */

/* Makes the socketpair as `uid`: the kernel records the creator's euid as each end's peer. */
static int socketpair_as(uid_t uid, int fds[2]) {
        const int type = SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK;
        uid_t saved = geteuid();
        int r = 0;

        if (uid == (uid_t) -1 || uid == saved)
                return socketpair(AF_UNIX, type, 0, fds) < 0 ? -errno : 0;
        if (saved != 0)
                return -EPERM;
        if (seteuid(uid) < 0)
                return -errno;
        if (socketpair(AF_UNIX, type, 0, fds) < 0)
                r = -errno;
        if (seteuid(saved) < 0)
                abort(); /* a test process left running as someone else would be worse than none */
        return r;
}

/* One end on `fd`, which it takes: closed on failure. */
static int bus_end_new(sd_event *e, int fd, bool server, sd_bus **ret) {
        _cleanup_(sd_bus_close_unrefp) sd_bus *bus = NULL;
        sd_id128_t id;
        int r;

        r = sd_bus_new(&bus);
        if (r >= 0)
                r = sd_bus_set_fd(bus, fd, fd);
        if (r < 0) {
                safe_close(fd);
                return r;
        }
        /* The bus owns the fd from here. */
        if (server) {
                r = sd_id128_randomize(&id);
                if (r < 0)
                        return r;
                r = sd_bus_set_server(bus, 1, id);
                if (r < 0)
                        return r;
                r = sd_bus_set_anonymous(bus, 1);
                if (r < 0)
                        return r;
        }
        r = sd_bus_start(bus);
        if (r < 0)
                return r;
        r = sd_bus_attach_event(bus, e, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(bus);
        return 0;
}

int test_bus_pair_new(sd_event *e, uid_t peer_uid, sd_bus **ret_server, sd_bus **ret_client) {
        _cleanup_(sd_bus_close_unrefp) sd_bus *server = NULL;
        sd_bus *client = NULL;
        int fds[2], r;

        r = socketpair_as(peer_uid, fds);
        if (r < 0)
                return r;
        r = bus_end_new(e, fds[0], true, &server);
        if (r < 0) {
                safe_close(fds[1]);
                return r;
        }
        r = bus_end_new(e, fds[1], false, &client);
        if (r < 0)
                return r;
        *ret_server = TAKE_PTR(server);
        *ret_client = client;
        return 0;
}

int test_bus_new_call(sd_bus *bus, const char *sender, const char *path, const char *interface,
                      const char *member, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        /* The destination is the daemon's name, as on the system bus; a direct connection
         * delivers the call to its peer whatever it names. */
        r = sd_bus_message_new_method_call(bus, &m, VFIO_TOKEN_BUS_NAME, path, interface, member);
        if (r < 0)
                return r;
        if (sender) {
                r = sd_bus_message_set_sender(m, sender);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(m);
        return 0;
}

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        sd_bus_message **reply = userdata;

        *reply = sd_bus_message_ref(m);
        return 0;
}

int test_bus_call(sd_event *e, sd_bus_message *m, sd_bus_message **ret_reply) {
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_async(sd_bus_message_get_bus(m), &slot, m, on_reply, &reply, 0);
        if (r < 0)
                return r;
        for (unsigned i = 0; !reply && i < LOOP_ITERATIONS_MAX; i++) {
                r = sd_event_run(e, 0);
                if (r <= 0)
                        break;
        }
        if (!reply)
                return r < 0 ? r : -ETIMEDOUT;
        *ret_reply = reply;
        return 0;
}

int test_bus_settle(sd_event *e) {
        for (unsigned i = 0; i < LOOP_ITERATIONS_MAX; i++) {
                int r = sd_event_run(e, 0);

                if (r <= 0)
                        return r;
        }
        return -EBUSY;
}

int test_bus_message_contains(sd_bus_message *m, const char *text) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;
        int r;

        f = open_memstream(&buf, &size);
        if (!f)
                return -errno;
        r = sd_bus_message_dump(m, f, SD_BUS_MESSAGE_DUMP_WITH_HEADER);
        if (fclose(f) != 0 && r >= 0)
                r = -errno;
        if (r < 0)
                return r;
        r = sd_bus_message_rewind(m, true);
        if (r < 0)
                return r;
        return buf && strstr(buf, text) ? 1 : 0;
}

/* ---- A fake polkit authority ---------------------------------------------------------------- */

static void check_done(FakePolkitCheck *c) {
        free(c->subject_kind);
        free(c->subject_name);
        free(c->action);
        strv_free(c->details);
        free(c->cancellation_id);
        sd_bus_message_unref(c->held);
}

FakePolkit *fake_polkit_free(FakePolkit *f) {
        if (!f)
                return NULL;
        sd_bus_slot_unref(f->slot);
        for (size_t i = 0; i < f->n_checks; i++)
                check_done(&f->checks[i]);
        free(f->checks);
        strv_free(f->cancelled);
        return mfree(f);
}

static int strv_push(char ***l, const char *s) {
        size_t n = strv_length(*l);
        char **b;

        b = realloc(*l, (n + 2) * sizeof(char *));
        if (!b)
                return -ENOMEM;
        *l = b;
        b[n] = strdup(s);
        b[n + 1] = NULL;
        return b[n] ? 0 : -ENOMEM;
}

static int reply(sd_bus_message *call, FakePolkit *f, FakePolkitAnswer answer) {
        switch (answer) {
        case FAKE_POLKIT_ALLOW:
        case FAKE_POLKIT_DENY:
        case FAKE_POLKIT_CHALLENGE:
                return sd_bus_reply_method_return(call, "(bba{ss})", answer == FAKE_POLKIT_ALLOW,
                                                  answer == FAKE_POLKIT_CHALLENGE, 0);
        case FAKE_POLKIT_ERROR:
                return sd_bus_reply_method_errorf(call, f->error_name ?: POLKIT_ERROR_FAILED,
                                                  "The fake authority fails as told.");
        case FAKE_POLKIT_MALFORMED:
                return sd_bus_reply_method_return(call, "s", "not a verdict");
        default:
                return -EINVAL;
        }
}

/* Reads CheckAuthorization((sa{sv}) subject, s action, a{ss} details, u flags, s id). */
static int read_check(sd_bus_message *m, FakePolkitCheck *c) {
        const char *s, *k, *v;
        int r;

        r = sd_bus_message_enter_container(m, 'r', "sa{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "s", &s);
        if (r < 0)
                return r;
        c->subject_kind = strdup(s);
        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &k);
                if (r < 0)
                        return r;
                if (streq(k, "name")) {
                        r = sd_bus_message_read(m, "v", "s", &s);
                        if (r < 0)
                                return r;
                        free(c->subject_name);
                        c->subject_name = strdup(s);
                } else {
                        r = sd_bus_message_skip(m, "v");
                        if (r < 0)
                                return r;
                }
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r >= 0)
                r = sd_bus_message_read(m, "s", &s);
        if (r < 0)
                return r;
        c->action = strdup(s);
        r = sd_bus_message_enter_container(m, 'a', "{ss}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "{ss}", &k, &v)) > 0)
                if (strv_push(&c->details, k) < 0 || strv_push(&c->details, v) < 0)
                        return -ENOMEM;
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r >= 0)
                r = sd_bus_message_read(m, "us", &c->flags, &s);
        if (r < 0)
                return r;
        c->cancellation_id = strdup(s);
        return c->subject_kind && c->action && c->cancellation_id ? 0 : -ENOMEM;
}

static int method_check(sd_bus_message *m, FakePolkit *f) {
        FakePolkitCheck *c;
        int r;

        if (f->n_checks == f->allocated) {
                size_t a = f->allocated ? f->allocated * 2 : 16;
                FakePolkitCheck *b = realloc(f->checks, a * sizeof(FakePolkitCheck));

                if (!b)
                        return -ENOMEM;
                f->checks = b;
                f->allocated = a;
        }
        c = &f->checks[f->n_checks++];
        *c = (FakePolkitCheck) {};
        r = read_check(m, c);
        if (r < 0)
                return r;
        if (f->answer == FAKE_POLKIT_HOLD) {
                c->held = sd_bus_message_ref(m);
                return 0;
        }
        return reply(m, f, f->answer);
}

static int method_cancel(sd_bus_message *m, FakePolkit *f) {
        const char *id;
        int r;

        r = sd_bus_message_read(m, "s", &id);
        if (r < 0)
                return r;
        r = strv_push(&f->cancelled, id);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(m, NULL);
}

/* A filter rather than an object: sd-bus would hold the replies of an object's method to its
 * declared type (no malformed answers) and let only a privileged peer call it (the daemon's end
 * may be made as another user). The types of the calls are checked here instead. */
static int on_message(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        FakePolkit *f = userdata;
        int r;

        if (!streq_ptr(sd_bus_message_get_path(m), POLKIT_PATH))
                return 0;
        if (sd_bus_message_is_method_call(m, POLKIT_INTERFACE, "CheckAuthorization"))
                r = sd_bus_message_has_signature(m, "(sa{sv})sa{ss}us") ? method_check(m, f) : -EINVAL;
        else if (sd_bus_message_is_method_call(m, POLKIT_INTERFACE, "CancelCheckAuthorization"))
                r = sd_bus_message_has_signature(m, "s") ? method_cancel(m, f) : -EINVAL;
        else
                return 0;
        if (r < 0)
                (void) sd_bus_reply_method_errnof(m, -r, "The fake authority could not take this call: %m");
        return 1;
}

int fake_polkit_new(sd_bus *bus, FakePolkitAnswer answer, FakePolkit **ret) {
        _cleanup_(fake_polkit_freep) FakePolkit *f = NULL;
        int r;

        f = calloc(1, sizeof(FakePolkit));
        if (!f)
                return -ENOMEM;
        f->answer = answer;
        r = sd_bus_add_filter(bus, &f->slot, on_message, f);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(f);
        return 0;
}

int fake_polkit_answer(FakePolkit *f, size_t i, FakePolkitAnswer answer) {
        int r;

        if (i >= f->n_checks || !f->checks[i].held)
                return -ENOENT;
        r = reply(f->checks[i].held, f, answer);
        f->checks[i].held = sd_bus_message_unref(f->checks[i].held);
        return r < 0 ? r : 0;
}

size_t fake_polkit_n_held(const FakePolkit *f) {
        size_t n = 0;

        for (size_t i = 0; i < f->n_checks; i++)
                n += !!f->checks[i].held;
        return n;
}

const char *fake_polkit_detail(const FakePolkitCheck *c, const char *key) {
        for (char **d = c->details; d && d[0] && d[1]; d += 2)
                if (streq(d[0], key))
                        return d[1];
        return NULL;
}

size_t fake_polkit_n_cancelled(const FakePolkit *f, const char *id) {
        size_t n = 0;

        for (char **i = f->cancelled; i && *i; i++)
                n += streq(*i, id);
        return n;
}
