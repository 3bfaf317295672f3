/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Owns the per-uid counts behind the per-user quotas (uid-count.h). */

#include <errno.h>
#include <stdlib.h>

#include "uid-count.h"

struct UidCount {
        uid_t uid;
        unsigned n; /* > 0 */
        struct UidCount *next;
};

static UidCount **uid_count_find(UidCount *const *list, uid_t uid) {
        UidCount *const *i;

        for (i = list; *i; i = &(*i)->next)
                if ((*i)->uid == uid)
                        break;
        return (UidCount **) i;
}

unsigned uid_count_get(const UidCount *list, uid_t uid) {
        for (const UidCount *u = list; u; u = u->next)
                if (u->uid == uid)
                        return u->n;
        return 0;
}

int uid_count_inc(UidCount **list, uid_t uid) {
        UidCount **i = uid_count_find(list, uid), *u;

        if (*i) {
                (*i)->n++;
                return 0;
        }
        u = malloc(sizeof(UidCount));
        if (!u)
                return -ENOMEM;
        *u = (UidCount) { .uid = uid, .n = 1, .next = *list };
        *list = u;
        return 0;
}

void uid_count_dec(UidCount **list, uid_t uid) {
        UidCount **i = uid_count_find(list, uid), *u = *i;

        if (!u)
                return;
        if (--u->n == 0) {
                *i = u->next;
                free(u);
        }
}

void uid_count_free(UidCount **list) {
        for (UidCount *u = *list, *next; u; u = next) {
                next = u->next;
                free(u);
        }
        *list = NULL;
}
