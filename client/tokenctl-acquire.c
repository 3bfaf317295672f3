/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* vfio-tokenctl's verbs that receive a token: acquire (optionally holding the lease) and exec.
 * The token is the one secret this program handles: it goes to stdout only from acquire, to
 * a child's environment only from exec, and every buffer of ours that held it is wiped. The
 * lease lives as long as our bus connection, so --hold and exec keep the connection open (and
 * serviced, in an sd-event loop) for as long as the lease is wanted, then release it. */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "json-out.h"
#include "polkit-agent.h"
#include "tokenctl.h"
#include "vfio-token.h"

#define ENV_NAME "VFIO_VF_TOKEN="

static void token_buf_wipe(char (*t)[VFIO_TOKEN_STRING_MAX]) {
        explicit_bzero(*t, sizeof(*t));
}

DEFINE_TRIVIAL_CLEANUP_FUNC(VfioTokenLease *, vfio_token_lease_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(sd_event *, sd_event_unref);

/* Acquires with the interactive flag and a polkit agent as --no-ask-password says. Returns an
 * exit code. */
static int acquire(sd_bus *bus, const char *device, VfioTokenLease **ret_lease,
                   char ret_token[VFIO_TOKEN_STRING_MAX]) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        pid_t agent = 0;
        int r;

        if (arg_ask_password)
                agent = polkit_agent_open();
        r = vfio_token_acquire(bus, device, arg_ask_password ? VFIO_TOKEN_ALLOW_INTERACTIVE : 0, &e,
                               ret_lease, ret_token);
        agent = polkit_agent_close(agent);
        if (r < 0)
                return tokenctl_fail(r, &e, "failed to acquire the token for %s", device);
        return EXIT_OK;
}

/* Releases the lease. Not being able to is worth a warning but not a failure: the token was
 * delivered, and the lease ends anyway when our connection closes on exit. */
static void release(VfioTokenLease *lease) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        path = strdup(vfio_token_lease_path(lease));
        r = vfio_token_release(lease, &e);
        if (r < 0 && r != -ENOTCONN && r != -ECONNRESET)
                (void) tokenctl_fail(r, &e, "warning: failed to release lease %s", path ?: "");
}

static int on_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        sd_event *event = userdata;

        return sd_event_exit(event, -ECONNRESET);
}

static int on_stop_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

/* Services the bus until SIGINT or SIGTERM (0) or until the connection drops (-ECONNRESET). */
static int hold(sd_bus *bus) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return negative_errno();

        r = sd_event_new(&event);
        if (r < 0)
                return r;
        r = sd_event_add_signal(event, NULL, SIGINT, on_stop_signal, NULL);
        if (r < 0)
                return r;
        r = sd_event_add_signal(event, NULL, SIGTERM, on_stop_signal, NULL);
        if (r < 0)
                return r;
        r = sd_bus_match_signal(bus, &slot, NULL, "/org/freedesktop/DBus/Local", "org.freedesktop.DBus.Local",
                                "Disconnected", on_disconnected, event);
        if (r < 0)
                return r;
        r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;

        r = sd_event_loop(event);
        (void) sd_bus_detach_event(bus);
        return r;
}

int verb_acquire(sd_bus *bus, int argc, char **argv) {
        _cleanup_(vfio_token_lease_freep) VfioTokenLease *lease = NULL;
        _cleanup_(token_buf_wipe) char token[VFIO_TOKEN_STRING_MAX] = {};
        int r;

        r = acquire(bus, argv[1], &lease, token);
        if (r != EXIT_OK)
                return r;

        if (arg_json) {
                JsonOut j = JSON_OUT_INIT;

                json_begin_object(&j);
                json_key_string(&j, "token", token);
                json_key_string(&j, "lease", vfio_token_lease_path(lease));
                json_end_object(&j);
                r = tokenctl_json_print(&j);
        } else {
                _cleanup_(token_buf_wipe) char line[VFIO_TOKEN_STRING_MAX] = {};

                /* The token fills all but the NUL: that byte becomes the newline. */
                memcpy(line, token, VFIO_TOKEN_STRING_MAX - 1);
                line[VFIO_TOKEN_STRING_MAX - 1] = '\n';
                r = loop_write(STDOUT_FILENO, line, sizeof(line));
                r = r < 0 ? tokenctl_fail(r, NULL, "failed to write the token") : EXIT_OK;
        }
        token_buf_wipe(&token);
        if (r != EXIT_OK)
                return r;

        if (arg_hold) {
                r = hold(bus);
                if (r == -ECONNRESET)
                        return tokenctl_fail(r, NULL, "lost the bus connection, the lease has ended");
                if (r < 0)
                        return tokenctl_fail(r, NULL, "failed to hold the lease");
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
static int wait_child(sd_bus *bus, pid_t pid) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
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
        r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return r;

        r = sd_event_loop(event);
        (void) sd_bus_detach_event(bus);
        return r < 0 ? r : c.exit_code;
}

int verb_exec(sd_bus *bus, int argc, char **argv) {
        _cleanup_(vfio_token_lease_freep) VfioTokenLease *lease = NULL;
        _cleanup_(token_buf_wipe) char token[VFIO_TOKEN_STRING_MAX] = {};
        char env[STRLEN(ENV_NAME) + VFIO_TOKEN_STRING_MAX];
        char **cmd = argv + 2;
        sigset_t mask, saved_mask;
        pid_t pid;
        int r;

        r = acquire(bus, argv[1], &lease, token);
        if (r != EXIT_OK)
                return r;

        memcpy(env, ENV_NAME, STRLEN(ENV_NAME));
        memcpy(env + STRLEN(ENV_NAME), token, VFIO_TOKEN_STRING_MAX);
        token_buf_wipe(&token);

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
                if (putenv(env) != 0) {
                        fprintf(stderr, "vfio-tokenctl: failed to set VFIO_VF_TOKEN: %m\n");
                        _exit(127);
                }
                execvp(cmd[0], cmd);
                fprintf(stderr, "vfio-tokenctl: failed to execute %s: %m\n", cmd[0]);
                _exit(127);
        }

        explicit_bzero(env, sizeof(env));

        r = wait_child(bus, pid);
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
