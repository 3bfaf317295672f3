/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A text-mode polkit agent (pkttyagent) for the duration of one call, as systemctl does, so that
 * an admin at a terminal can authenticate for an action whose default is auth_admin. */

#include <sys/types.h>

/* Starts pkttyagent if we are not root, stdin is a terminal and it is installed, and waits until it has
 * registered with polkit (or given up). bus_address: the bus the daemon (and so its polkitd) is
 * on, or NULL for the system bus. Returns its pid, or 0 if none was started. Failing to start an
 * agent is not an error: the call then fails the way it would without one. */
pid_t polkit_agent_open(const char *bus_address);

/* Stops the agent started by polkit_agent_open() (accepts 0) and reaps it. Returns 0. */
pid_t polkit_agent_close(pid_t pid);
