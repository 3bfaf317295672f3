/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the polkit-authorised client: a child process that becomes the user (its connections are
 * the user's to the bus, to polkit and to the daemon, which reads the caller's identity from the
 * bus and /proc) and makes the calls the parent asks for, one request at a time through a pipe,
 * so that its calls interleave with the parent's and run while the parent's are idle. Tokens
 * stay in the child; only timings and outcomes cross the pipe. */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "fd-util.h"
#include "io-util.h"
#include "macro.h"

typedef enum RequestOp {
        REQUEST_ACQUIRE, /* one grant on the first connection, its lease kept */
        REQUEST_RELEASE, /* the kept lease ended */
        REQUEST_RUN,     /* `count` grants, CLIENTS_MAX connections with one in flight each */
        REQUEST_RELEASE_HELD, /* the leases of the last run ended */
        REQUEST_QUIT,
} RequestOp;

typedef struct Request {
        RequestOp op;
        unsigned count;
} Request;

typedef struct Reply {
        int r;
        unsigned failed;
        Outcome outcome;
        RunResult run;
} Reply;

typedef struct Hello {
        int r;
        char names[1 + CLIENTS_MAX][BUS_NAME_MAX];
} Hello;

static int become_user(const char *user) {
        struct passwd *pw = getpwnam(user);

        if (!pw)
                return -ESRCH;
        if (initgroups(user, pw->pw_gid) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
            setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
                return negative_errno();
        return 0;
}

static int child_connect(sd_event **ret_event, sd_bus *buses[], Hello *hello) {
        const char *unique;
        int r;

        r = sd_event_new(ret_event);
        if (r < 0)
                return r;
        for (size_t i = 0; i < 1 + CLIENTS_MAX; i++) {
                r = bus_connect(*ret_event, &buses[i]);
                if (r < 0)
                        return r;
                r = sd_bus_get_unique_name(buses[i], &unique);
                if (r < 0)
                        return r;
                snprintf(hello->names[i], BUS_NAME_MAX, "%s", unique);
        }
        return 0;
}

static _noreturn_ void child_main(const char *user, int in, int out) {
        sd_bus *buses[1 + CLIENTS_MAX] = {};
        Lane lanes[CLIENTS_MAX];
        char held[LEASE_PATH_MAX] = "";
        Held *run_held = NULL;
        unsigned n_run_held = 0;
        sd_event *event = NULL;
        TokenCheck tc = {};
        Hello hello = {};
        Request req;

        (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
        hello.r = become_user(user);
        if (hello.r >= 0)
                hello.r = child_connect(&event, buses, &hello);
        if (loop_write(out, &hello, sizeof hello) < 0 || hello.r < 0)
                _exit(EXIT_FAILURE);
        for (size_t i = 0; i < CLIENTS_MAX; i++)
                lanes[i] = (Lane) { .bus = buses[1 + i], .arg = arg_device };

        while (loop_read(in, &req, sizeof req) == (ssize_t) sizeof req && req.op != REQUEST_QUIT) {
                Reply reply = {};

                switch (req.op) {
                case REQUEST_ACQUIRE:
                        reply.r = call_sync(buses[0], CALL_ACQUIRE, arg_device, &tc, &reply.outcome);
                        snprintf(held, sizeof held, "%s", reply.outcome.lease);
                        break;
                case REQUEST_RELEASE:
                        reply.r = held[0] ? call_sync(buses[0], CALL_RELEASE, held, NULL, &reply.outcome)
                                          : -ENOENT;
                        held[0] = '\0';
                        break;
                case REQUEST_RUN:
                        free(run_held);
                        n_run_held = 0;
                        run_held = calloc(req.count, sizeof(Held));
                        reply.r = run_held ? run_lanes(event, CALL_ACQUIRE, lanes, CLIENTS_MAX, req.count, &tc,
                                                       run_held, &n_run_held, &reply.run)
                                           : -ENOMEM;
                        break;
                case REQUEST_RELEASE_HELD:
                        reply.failed = release_held(lanes, run_held, n_run_held, reply.outcome.error);
                        n_run_held = 0;
                        break;
                default:
                        reply.r = -EINVAL;
                }
                if (loop_write(out, &reply, sizeof reply) < 0)
                        break;
        }
        token_check_done(&tc);
        free(run_held);
        for (size_t i = 0; i < 1 + CLIENTS_MAX; i++)
                sd_bus_flush_close_unref(buses[i]);
        sd_event_unref(event);
        _exit(EXIT_SUCCESS);
}

int user_agent_start(const char *user, UserAgent *ret) {
        int to_child[2] = { -1, -1 }, to_parent[2] = { -1, -1 };
        UserAgent a = { .to_child = -1, .from_child = -1 };
        Hello hello;
        pid_t pid;

        if (pipe2(to_child, O_CLOEXEC) < 0)
                return negative_errno();
        if (pipe2(to_parent, O_CLOEXEC) < 0) {
                safe_close(to_child[0]);
                safe_close(to_child[1]);
                return negative_errno();
        }
        fflush(stdout);
        fflush(stderr);
        pid = fork();
        if (pid < 0) {
                pid = negative_errno();
                safe_close(to_child[0]);
                safe_close(to_child[1]);
                safe_close(to_parent[0]);
                safe_close(to_parent[1]);
                return pid;
        }
        if (pid == 0) {
                safe_close(to_child[1]);
                safe_close(to_parent[0]);
                child_main(user, to_child[0], to_parent[1]);
        }
        safe_close(to_child[0]);
        safe_close(to_parent[1]);
        a.pid = pid;
        a.to_child = to_child[1];
        a.from_child = to_parent[0];
        if (loop_read(a.from_child, &hello, sizeof hello) != (ssize_t) sizeof hello || hello.r < 0) {
                user_agent_stop(&a);
                return hello.r < 0 ? hello.r : -EIO;
        }
        memcpy(a.names, hello.names, sizeof a.names);
        *ret = a;
        return 0;
}

static int agent_request(UserAgent *a, RequestOp op, unsigned count, Reply *ret) {
        Request req = { .op = op, .count = count };
        int r;

        r = loop_write(a->to_child, &req, sizeof req);
        if (r < 0)
                return r;
        if (loop_read(a->from_child, ret, sizeof *ret) != (ssize_t) sizeof *ret)
                return -EIO;
        return ret->r;
}

int user_agent_call(UserAgent *a, CallKind kind, Outcome *ret) {
        Reply reply;
        int r;

        if (kind != CALL_ACQUIRE && kind != CALL_RELEASE)
                return -EINVAL;
        r = agent_request(a, kind == CALL_ACQUIRE ? REQUEST_ACQUIRE : REQUEST_RELEASE, 0, &reply);
        if (r < 0)
                return r;
        *ret = reply.outcome;
        return 0;
}

int user_agent_run(UserAgent *a, unsigned count, RunResult *ret) {
        Reply reply;
        int r;

        r = agent_request(a, REQUEST_RUN, count, &reply);
        if (r < 0)
                return r;
        *ret = reply.run;
        return 0;
}

int user_agent_release_held(UserAgent *a, unsigned *ret_failed, char first_error[ERROR_TEXT_MAX]) {
        Reply reply;
        int r;

        r = agent_request(a, REQUEST_RELEASE_HELD, 0, &reply);
        if (r < 0)
                return r;
        *ret_failed = reply.failed;
        memcpy(first_error, reply.outcome.error, ERROR_TEXT_MAX);
        return 0;
}

void user_agent_stop(UserAgent *a) {
        Request req = { .op = REQUEST_QUIT };

        if (a->pid <= 0)
                return;
        (void) loop_write(a->to_child, &req, sizeof req);
        a->to_child = safe_close(a->to_child);
        a->from_child = safe_close(a->from_child);
        (void) waitpid(a->pid, NULL, 0);
        a->pid = 0;
}
