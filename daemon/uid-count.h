/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Owns a count per uid (the leases a user holds, the checks a user has waiting), for the
 * per-user quotas. A list that holds only the uids whose count is above zero: a host has few
 * users, and a user with nothing held costs nothing. */

#include <sys/types.h>

typedef struct UidCount UidCount;

unsigned uid_count_get(const UidCount *list, uid_t uid);
/* One more for uid: 0, or -ENOMEM (nothing changed). */
int uid_count_inc(UidCount **list, uid_t uid);
/* One fewer for uid; a uid at zero is forgotten. A uid not counted is left alone. */
void uid_count_dec(UidCount **list, uid_t uid);
void uid_count_free(UidCount **list);
