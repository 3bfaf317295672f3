/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* pkttyagent for one call. pkttyagent registers itself for its parent process (us) and closes
 * the --notify-fd once registered, so the call is only made after that: otherwise polkit could
 * look for an agent before there is one. */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "polkit-agent.h"

#define PKTTYAGENT "/usr/bin/pkttyagent"

pid_t polkit_agent_open(const char *bus_address) {
        _cleanup_close_ int rfd = -1, wfd = -1;
        int pipe_fds[2];
        char notify[16];
        pid_t parent = getpid(), pid;

        /* The daemon lets root through without asking polkit: nothing to authenticate. */
        if (geteuid() == 0 || !isatty(STDIN_FILENO))
                return 0;
        if (access(PKTTYAGENT, X_OK) < 0)
                return 0;

        if (pipe2(pipe_fds, O_CLOEXEC) < 0)
                return 0;
        rfd = pipe_fds[0];
        wfd = pipe_fds[1];

        pid = fork();
        if (pid < 0)
                return 0;
        if (pid == 0) {
                /* The agent must not outlive us, nor keep the terminal. */
                if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
                        _exit(EXIT_FAILURE);
                /* polkitd serves the bus the daemon is on. */
                if (bus_address && setenv("DBUS_SYSTEM_BUS_ADDRESS", bus_address, 1) < 0)
                        _exit(EXIT_FAILURE);
                /* The notify fd is the one fd the agent must inherit. */
                if (fcntl(wfd, F_SETFD, 0) < 0)
                        _exit(EXIT_FAILURE);
                snprintf(notify, sizeof(notify), "%d", wfd);
                execl(PKTTYAGENT, PKTTYAGENT, "--notify-fd", notify, "--fallback", (char *) NULL);
                _exit(EXIT_FAILURE);
        }

        wfd = safe_close(wfd);

        /* Wait for EOF: the agent registered, or exited. */
        for (;;) {
                struct pollfd p = { .fd = rfd, .events = POLLIN };
                char c;
                ssize_t n;

                if (poll(&p, 1, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                n = read(rfd, &c, 1);
                if (n < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (n <= 0)
                        break;
        }

        return pid;
}

pid_t polkit_agent_close(pid_t pid) {
        if (pid <= 0)
                return 0;

        (void) kill(pid, SIGTERM);
        (void) kill(pid, SIGCONT);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        return 0;
}
