/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vfio-tokenctl's verbs that receive a token: acquire (optionally holding the lease) and exec.
 * The token is the one secret this program handles: it goes to stdout (or --token-fd) only from
 * acquire, to a child's environment (or a pipe on its --token-fd) only from exec, and every
 * buffer of ours that held it is wiped. The
 * lease lives as long as our bus connection, so --hold and exec keep the connection open (and
 * serviced, in an sd-event loop) for as long as the lease is wanted, then release it. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "fd-util.h"
#include "io-util.h"
#include "json-out.h"
#include "macro.h"
#include "polkit-agent.h"
#include "string-util.h"
#include "tokenctl.h"
#include "vfio-token.h"

#define ENV_NAME "VFIO_VF_TOKEN="

static void token_buf_wipe(char (*t)[VFIO_TOKEN_STRING_MAX]) {
        explicit_bzero(*t, sizeof(*t));
}

DEFINE_TRIVIAL_CLEANUP_FUNC(VfioTokenLease *, vfio_token_lease_free);

/* Acquires with the interactive flag and a polkit agent as --no-ask-password says. Returns an
 * exit code. */
static int acquire(sd_bus *bus, const char *device, VfioTokenLease **ret_lease,
                   char ret_token[VFIO_TOKEN_STRING_MAX]) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        pid_t agent = 0;
        int r;

        if (arg_ask_password)
                agent = polkit_agent_open(arg_address);
        r = vfio_token_acquire(bus, device, arg_ask_password ? VFIO_TOKEN_ALLOW_INTERACTIVE : 0, &e,
                               ret_lease, ret_token);
        agent = polkit_agent_close(agent);
        if (r < 0)
                return tokenctl_fail(r, &e, "failed to acquire the token for %s", device);
        return EXIT_OK;
}

/* Writes the token and a newline to fd, from a buffer of its own that is wiped. */
static int write_token(int fd, const char token[VFIO_TOKEN_STRING_MAX]) {
        _cleanup_(token_buf_wipe) char line[VFIO_TOKEN_STRING_MAX] = {};

        /* The token fills all but the NUL: that byte becomes the newline. */
        memcpy(line, token, VFIO_TOKEN_STRING_MAX - 1);
        line[VFIO_TOKEN_STRING_MAX - 1] = '\n';
        if (fd == STDOUT_FILENO)
                fflush(stdout);
        return loop_write(fd, line, sizeof(line));
}

/* Releases the lease. Not being able to is worth a warning but not a failure: the token was
 * delivered, and the lease ends anyway when our connection closes on exit. A lease already gone
 * (released by root, the daemon or the connection gone) is what we wanted: no warning. */
static bool lease_already_gone(int r) {
        switch (-r) {
        case ENOTCONN:
        case ECONNRESET:
        case ENOENT:
        case EHOSTUNREACH:
                return true;
        default:
                return false;
        }
}

static void release(VfioTokenLease *lease) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        path = strdup(vfio_token_lease_path(lease));
        r = vfio_token_release(lease, &e);
        if (r < 0 && !lease_already_gone(r) && !arg_quiet)
                (void) tokenctl_fail(r, &e, "warning: failed to release lease %s", path ?: "");
}

/* Keeps a lease across restarts of the daemon. The daemon gives a lease back after a restart
 * when its owner is still connected, so usually there is nothing to do; if it comes back
 * without ours (it was down when we asked, its record was lost), say so and acquire again, so
 * that the daemon knows who depends on the token. Departures of the daemon are not our
 * business: the VM keeps running, and so do we. */
typedef struct Keeper {
        sd_bus *bus;
        const char *device;
        VfioTokenLease **lease;
} Keeper;

static bool lease_exists(sd_bus *bus, const char *path) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call_method(bus, VFIO_TOKEN_BUS_NAME, path, "org.freedesktop.DBus.Properties", "Get", &e,
                               &reply, "ss", VFIO_TOKEN_LEASE_INTERFACE, "Owner");
        return r >= 0 || !sd_bus_error_has_names(&e, SD_BUS_ERROR_UNKNOWN_OBJECT, SD_BUS_ERROR_UNKNOWN_INTERFACE);
}

/* NameOwnerChanged of the daemon's name: on its arrival, is our lease still there? */
static int keeper_daemon_changed(Keeper *k, sd_bus_message *m) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(token_buf_wipe) char token[VFIO_TOKEN_STRING_MAX] = {};
        const char *name, *old_owner, *new_owner, *path;
        VfioTokenLease *fresh = NULL;
        int r;

        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || !*new_owner || !*k->lease)
                return 0;
        path = vfio_token_lease_path(*k->lease);
        if (lease_exists(k->bus, path))
                return 0; /* given back by the restarted daemon: nothing changed for us */
        if (!arg_quiet)
                fprintf(stderr, "vfio-tokenctl: vfio-tokend came back without lease %s; acquiring again.\n", path);
        r = vfio_token_acquire(k->bus, k->device, 0, &e, &fresh, token);
        if (r < 0) {
                (void) tokenctl_fail(r, &e, "warning: failed to acquire %s again (the open VFs keep working)",
                                     k->device);
                return 0;
        }
        (void) vfio_token_lease_free(*k->lease); /* the daemon has forgotten it already */
        *k->lease = fresh;
        if (!arg_quiet)
                fprintf(stderr, "vfio-tokenctl: holding lease %s now.\n", vfio_token_lease_path(fresh));
        return 1;
}

static int keeper_watch(sd_bus *bus, Keeper *k, sd_bus_message_handler_t handler, void *userdata,
                        sd_bus_slot **ret_slot) {
        k->bus = bus;
        return sd_bus_add_match(bus, ret_slot,
                                "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                                "interface='org.freedesktop.DBus',member='NameOwnerChanged',"
                                "arg0='" VFIO_TOKEN_BUS_NAME "'",
                                handler, userdata);
}

/* What --hold watches: our connection, the daemon's presence and the lease object itself. */
typedef struct Hold {
        sd_bus *bus;
        sd_event *event;
        const char *lease_path; /* NULL until granted */
        Keeper keeper;
        sd_bus_slot *slots[4];
} Hold;

static void hold_done(Hold *h) {
        for (size_t i = 0; i < ELEMENTSOF(h->slots); i++)
                h->slots[i] = sd_bus_slot_unref(h->slots[i]);
        h->event = sd_event_unref(h->event);
}

static int on_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Hold *h = userdata;

        return sd_event_exit(h->event, -ECONNRESET);
}

static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Hold *h = userdata;

        /* The daemon restarting is not the end of the hold: it gives the lease back, or we
         * acquire again (and then hold the new lease). */
        if (h->lease_path && keeper_daemon_changed(&h->keeper, m) > 0)
                h->lease_path = vfio_token_lease_path(*h->keeper.lease);
        return 0;
}

/* A PF's properties (its Leases) changed or an object went away: see whether ours still exists.
 * Such events are rare, so asking beats tracking the daemon's state here. */
static int on_maybe_ended(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        Hold *h = userdata;
        int r;

        if (!h->lease_path)
                return 0;

        r = sd_bus_call_method(h->bus, VFIO_TOKEN_BUS_NAME, h->lease_path, "org.freedesktop.DBus.Properties",
                               "Get", &e, &reply, "ss", VFIO_TOKEN_LEASE_INTERFACE, "Owner");
        if (r < 0 && sd_bus_error_has_names(&e, SD_BUS_ERROR_UNKNOWN_OBJECT, SD_BUS_ERROR_UNKNOWN_INTERFACE))
                return sd_event_exit(h->event, -ESTALE);
        return 0;
}

/* Set up before the grant, so that no sign of the lease's end can slip between the grant and the
 * watch: messages that arrive during the AcquireToken call are queued and seen by the loop. */
static int hold_watch(sd_bus *bus, Hold *h) {
        int r;

        h->bus = bus;
        r = sd_event_new(&h->event);
        if (r < 0)
                return r;

        r = sd_bus_match_signal(bus, &h->slots[0], NULL, "/org/freedesktop/DBus/Local",
                                "org.freedesktop.DBus.Local", "Disconnected", on_disconnected, h);
        if (r < 0)
                return r;
        r = sd_bus_add_match(bus, &h->slots[1],
                             "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                             "interface='org.freedesktop.DBus',member='NameOwnerChanged',"
                             "arg0='" VFIO_TOKEN_BUS_NAME "'",
                             on_owner_changed, h);
        if (r < 0)
                return r;
        r = sd_bus_add_match(bus, &h->slots[2],
                             "type='signal',sender='" VFIO_TOKEN_BUS_NAME "',"
                             "interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"
                             "path_namespace='" VFIO_TOKEN_MANAGER_PATH "'",
                             on_maybe_ended, h);
        if (r < 0)
                return r;
        return sd_bus_add_match(bus, &h->slots[3],
                                "type='signal',sender='" VFIO_TOKEN_BUS_NAME "',"
                                "interface='org.freedesktop.DBus.ObjectManager',member='InterfacesRemoved'",
                                on_maybe_ended, h);
}

static int on_stop_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

/* Blocks SIGINT and SIGTERM for hold_run() to take through sd-event. Done once the lease is
 * granted (before, Ctrl-C must still stop a password prompt, and the polkit agent must not
 * inherit the mask) and before the token is out: whoever reads it may stop us at once, and that
 * must end the hold as in the loop, not kill us before the loop runs. */
static int hold_block_signals(void) {
        sigset_t mask;

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        return sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ? negative_errno() : 0;
}

/* Services the bus until SIGINT or SIGTERM (0), the lease ends (-ESTALE), the daemon leaves the
 * bus (-EHOSTUNREACH) or our connection drops (-ECONNRESET). */
static int hold_run(Hold *h) {
        int r;

        r = sd_event_add_signal(h->event, NULL, SIGINT, on_stop_signal, NULL);
        if (r < 0)
                return r;
        r = sd_event_add_signal(h->event, NULL, SIGTERM, on_stop_signal, NULL);
        if (r < 0)
                return r;
        /* The lease must outlive the loop: we call Release() on this connection afterwards. */
        r = sd_bus_set_close_on_exit(h->bus, false);
        if (r < 0)
                return r;
        r = sd_bus_attach_event(h->bus, h->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;

        r = sd_event_loop(h->event);
        (void) sd_bus_detach_event(h->bus);
        return r;
}

int verb_acquire(sd_bus *bus, int argc, char **argv) {
        _cleanup_(vfio_token_lease_freep) VfioTokenLease *lease = NULL;
        _cleanup_(token_buf_wipe) char token[VFIO_TOKEN_STRING_MAX] = {};
        _cleanup_(hold_done) Hold h = {};
        int r;

        if (arg_hold) {
                r = hold_watch(bus, &h);
                if (r < 0)
                        return tokenctl_fail(r, NULL, "failed to watch the lease");
        }

        r = acquire(bus, argv[1], &lease, token);
        if (r != EXIT_OK)
                return r;
        h.keeper = (Keeper) { .bus = bus, .device = argv[1], .lease = &lease };
        if (arg_hold) {
                r = hold_block_signals();
                if (r < 0)
                        return tokenctl_fail(r, NULL, "failed to block signals");
        }

        if (arg_token_fd >= 0) {
                r = write_token(arg_token_fd, token);
                if (r < 0)
                        return tokenctl_fail(r, NULL, "failed to write the token to fd %d", arg_token_fd);
                /* Its reader sees the end of the token as end of file, even while --hold goes on;
                 * the standard streams stay ours. */
                if (arg_token_fd > STDERR_FILENO)
                        (void) safe_close(arg_token_fd);
        }
        if (arg_json) {
                JsonOut j = JSON_OUT_INIT;

                json_begin_object(&j);
                json_key_string(&j, "device", argv[1]);
                if (arg_token_fd < 0)
                        json_key_string(&j, "token", token);
                json_key_string(&j, "lease", vfio_token_lease_path(lease));
                json_end_object(&j);
                r = tokenctl_json_print(&j);
        } else if (arg_token_fd < 0) {
                r = write_token(STDOUT_FILENO, token);
                r = r < 0 ? tokenctl_fail(r, NULL, "failed to write the token") : EXIT_OK;
        }
        token_buf_wipe(&token);
        if (r != EXIT_OK)
                return r;

        if (arg_hold) {
                h.lease_path = vfio_token_lease_path(lease);
                r = hold_run(&h);
                switch (r) {
                case 0:
                        break;
                case -ESTALE:
                        return tokenctl_error(EXIT_FAIL, "lease %s has ended", h.lease_path);
                case -EHOSTUNREACH:
                        return tokenctl_error(EXIT_UNREACHABLE, "the daemon left the bus, lease %s has ended",
                                              h.lease_path);
                case -ECONNRESET:
                        return tokenctl_error(EXIT_UNREACHABLE, "lost the bus connection, lease %s has ended",
                                              h.lease_path);
                default:
                        return tokenctl_fail(r, NULL, "failed to hold lease %s", h.lease_path);
                }
        }

        release(TAKE_PTR(lease));
        return EXIT_OK;
}

typedef struct ExecContext {
        pid_t pid;
        int exit_code;
} ExecContext;

static int on_child_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        ExecContext *c = userdata;

        if (si->si_code == CLD_EXITED)
                c->exit_code = si->si_status;
        else
                c->exit_code = 128 + si->si_status;
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int on_forward_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        ExecContext *c = userdata;

        /* A signal the terminal raised (Ctrl-C) went to the whole foreground process group,
         * the child included: sending it again would make it a second Ctrl-C. */
        if (si->ssi_code == SI_KERNEL)
                return 0;
        (void) kill(c->pid, (int) si->ssi_signo);
        return 0;
}

static int on_disconnected_ignore(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        /* The lease has ended with the connection; the child keeps its token and runs on. */
        return 0;
}

/* Runs the child to its end with the bus serviced and signals forwarded. Returns the exit code
 * the child's end gives, or -errno. */
static int on_exec_daemon_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        (void) keeper_daemon_changed(userdata, m);
        return 0;
}

static int wait_child(sd_bus *bus, pid_t pid, Keeper *keeper) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL, *daemon_slot = NULL;
        ExecContext c = { .pid = pid, .exit_code = EXIT_FAIL };
        int r;

        r = sd_event_new(&event);
        if (r < 0)
                return r;
        r = sd_event_add_child(event, NULL, pid, WEXITED, on_child_exit, &c);
        if (r < 0)
                return r;
        r = sd_event_add_signal(event, NULL, SIGINT, on_forward_signal, &c);
        if (r < 0)
                return r;
        r = sd_event_add_signal(event, NULL, SIGTERM, on_forward_signal, &c);
        if (r < 0)
                return r;
        r = sd_bus_match_signal(bus, &slot, NULL, "/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local",
                                "Disconnected", on_disconnected_ignore, NULL);
        if (r < 0)
                return r;
        /* The command runs on while the daemon restarts; the lease is kept or taken again. */
        r = keeper_watch(bus, keeper, on_exec_daemon_changed, keeper, &daemon_slot);
        if (r < 0)
                return r;
        r = sd_bus_set_close_on_exit(bus, false);
        if (r < 0)
                return r;
        r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;

        r = sd_event_loop(event);
        (void) sd_bus_detach_event(bus);
        return r < 0 ? r : c.exit_code;
}

/* A pipe holding the token and a newline, for the command to read on its --token-fd: the token
 * leaves no copy behind once read. Returns the read end (O_CLOEXEC) or -errno. */
static int token_pipe(const char token[VFIO_TOKEN_STRING_MAX]) {
        _cleanup_close_ int rfd = -1, wfd = -1;
        int fds[2], r;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return negative_errno();
        rfd = fds[0];
        wfd = fds[1];
        /* 37 bytes into an empty pipe: never blocks. */
        r = write_token(wfd, token);
        if (r < 0)
                return r;
        return TAKE_FD(rfd);
}

/* In the child: the token on fd `target` (clearing O_CLOEXEC) or in the environment. */
static int hand_over(int pipe_fd, int target, char *env) {
        if (pipe_fd < 0)
                return putenv(env) == 0 ? 0 : negative_errno();
        if (pipe_fd == target)
                return fcntl(pipe_fd, F_SETFD, 0) < 0 ? negative_errno() : 0;
        return dup2(pipe_fd, target) < 0 ? negative_errno() : 0;
}

int verb_exec(sd_bus *bus, int argc, char **argv) {
        _cleanup_(vfio_token_lease_freep) VfioTokenLease *lease = NULL;
        _cleanup_(token_buf_wipe) char token[VFIO_TOKEN_STRING_MAX] = {};
        _cleanup_close_ int pipe_fd = -1;
        char env[STRLEN(ENV_NAME) + VFIO_TOKEN_STRING_MAX] = {};
        char **cmd = argv + 2;
        sigset_t mask, saved_mask;
        pid_t pid;
        int r;

        r = acquire(bus, argv[1], &lease, token);
        if (r != EXIT_OK)
                return r;

        if (arg_token_fd >= 0) {
                pipe_fd = token_pipe(token);
                token_buf_wipe(&token);
                if (pipe_fd < 0)
                        return tokenctl_fail(pipe_fd, NULL, "failed to pass the token on fd %d", arg_token_fd);
        } else {
                memcpy(env, ENV_NAME, STRLEN(ENV_NAME));
                memcpy(env + STRLEN(ENV_NAME), token, VFIO_TOKEN_STRING_MAX);
                token_buf_wipe(&token);
        }

        /* Blocked before the fork, so that no signal or child exit can slip past the event
         * loop; the child gets the original mask back before exec. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &mask, &saved_mask) < 0) {
                r = negative_errno();
                explicit_bzero(env, sizeof(env));
                return tokenctl_fail(r, NULL, "failed to block signals");
        }

        fflush(stdout);
        fflush(stderr);
        pid = fork();
        if (pid < 0) {
                r = negative_errno();
                explicit_bzero(env, sizeof(env));
                return tokenctl_fail(r, NULL, "failed to fork");
        }
        if (pid == 0) {
                /* The bus connection's fd is O_CLOEXEC: the lease stays with the parent. */
                (void) sigprocmask(SIG_SETMASK, &saved_mask, NULL);
                r = hand_over(pipe_fd, arg_token_fd, env);
                if (r < 0) {
                        fprintf(stderr, "vfio-tokenctl: failed to pass the token to %s: %s\n", cmd[0],
                                strerror(-r));
                        _exit(127);
                }
                execvp(cmd[0], cmd);
                fprintf(stderr, "vfio-tokenctl: failed to execute %s: %m\n", cmd[0]);
                _exit(127);
        }

        explicit_bzero(env, sizeof(env));
        /* The token is the child's alone now: an unread pipe must not stay open here. */
        pipe_fd = safe_close(pipe_fd);

        r = wait_child(bus, pid, &(Keeper) { .bus = bus, .device = argv[1], .lease = &lease });
        if (r < 0) {
                /* Without the loop we can still wait for the child, just not forward signals. */
                int status;

                (void) tokenctl_fail(r, NULL, "failed to watch %s", cmd[0]);
                while (waitpid(pid, &status, 0) < 0)
                        if (errno != EINTR) {
                                status = -1;
                                break;
                        }
                if (status == -1)
                        r = EXIT_FAIL;
                else if (WIFEXITED(status))
                        r = WEXITSTATUS(status);
                else
                        r = 128 + WTERMSIG(status);
        }

        release(TAKE_PTR(lease));
        return r;
}
