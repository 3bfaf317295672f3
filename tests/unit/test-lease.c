/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of daemon/lease.c alone: a LeaseRegistry without a bus (no signals), on the PF of a
 * manager on the kernel model. Ids and paths, lookup by path, the quotas per connection, per uid
 * and in all, ending one owner's leases, the counts, the order of enumeration, and leases given
 * back after a restart (their records, restored ids, ids reserved). */

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lease-file.h"
#include "lease.h"
#include "macro.h"
#include "manager.h"
#include "pf.h"
#include "string-util.h"
#include "test-util.h"
#include "vfio-token-names.h"

#define PF "0000:01:00.0"
#define VF1 "0000:01:00.1"
#define VF2 "0000:01:00.2"
#define PF_GROUP 1
#define UID_A 1000
#define UID_B 1001
#define MAX_PER_USER 3

static TestEnv env;
static Manager *manager;
static Pf *pf;
static sd_bus *no_bus; /* the registry emits on *bus: NULL, no signals */
static LeaseRegistry *reg;

static void setup(void) {
        ck_assert_int_eq(test_env_setup(&env, "test-lease", PF, PF_GROUP), 0);
        ck_assert_int_eq(test_env_manager_new(&env, "[PhysicalFunction]\nAddress=" PF "\n", &manager), 0);
        ck_assert_int_eq(manager_start(manager), 0);
        pf = manager_find_pf(manager, PF);
        ck_assert_ptr_nonnull(pf);
        ck_assert_int_eq(lease_registry_new(&no_bus, MAX_PER_USER, &reg), 0);
}

static void teardown(void) {
        /* Leases point at the PF: the registry goes first. */
        reg = lease_registry_free(reg);
        manager = manager_free(manager);
        test_env_done(&env);
}

/* ---- Helpers ------------------------------------------------------------------------------ */

static Lease *lease(const char *owner, uid_t uid) {
        Lease *l = NULL;

        ck_assert_int_eq(lease_new(reg, pf, VF1, owner, uid, 4242, &l), 0);
        ck_assert_ptr_nonnull(l);
        return l;
}

static char *lease_path(uint64_t id) {
        char *p;

        ck_assert_int_ge(asprintf(&p, VFIO_TOKEN_LEASE_PATH_PREFIX "/%llu", (unsigned long long) id), 0);
        return p;
}

static bool found(const Lease *l, uint64_t id) {
        _cleanup_free_ char *p = lease_path(id);

        return lease_registry_find_path(reg, p) == l;
}

/* ---- Ids and lookup ----------------------------------------------------------------------- */

START_TEST(test_new_fields) {
        Lease *l = NULL;

        ck_assert_int_eq(lease_new(reg, pf, VF2, ":1.5", UID_A, 777, &l), 0);
        ck_assert_uint_eq(l->id, 1);
        ck_assert_str_eq(l->path, VFIO_TOKEN_LEASE_PATH_PREFIX "/1");
        ck_assert_ptr_eq(l->pf, pf);
        ck_assert_ptr_eq(l->registry, reg);
        ck_assert_str_eq(l->device, VF2);
        ck_assert_str_eq(lease_owner_name(l), ":1.5");
        ck_assert_uint_eq(l->uid, UID_A);
        ck_assert_int_eq(l->pid, 777);
        ck_assert_uint_gt(l->acquired_usec, 0);
        ck_assert_uint_eq(lease_registry_count(reg), 1);
        ck_assert_uint_eq(pf_n_leases(pf), 1);

        lease_end(l, "test");
        ck_assert_uint_eq(lease_registry_count(reg), 0);
        ck_assert_uint_eq(pf_n_leases(pf), 0);
}
END_TEST

START_TEST(test_ids_grow_never_reused) {
        Lease *a = lease(":1.1", UID_A), *b = lease(":1.1", UID_A), *c = lease(":1.2", UID_B), *d, *e;

        ck_assert_uint_eq(a->id, 1);
        ck_assert_uint_eq(b->id, 2);
        ck_assert_uint_eq(c->id, 3);

        /* The highest and a middle one end: their ids stay used. */
        lease_end(c, "test");
        lease_end(b, "test");
        d = lease(":1.2", UID_B);
        ck_assert_uint_eq(d->id, 4);
        ck_assert_str_eq(d->path, VFIO_TOKEN_LEASE_PATH_PREFIX "/4");

        lease_end(a, "test");
        lease_end(d, "test");
        ck_assert_uint_eq(lease_registry_count(reg), 0);
        e = lease(":1.1", UID_A);
        ck_assert_uint_eq(e->id, 5);
        /* Freed (teardown's way) rather than ended: the id stays used all the same. */
        lease_free(e);
        ck_assert_uint_eq(lease(":1.1", UID_A)->id, 6);
}
END_TEST

START_TEST(test_find_path) {
        static const char *const invalid[] = {
                VFIO_TOKEN_LEASE_PATH_PREFIX,
                VFIO_TOKEN_LEASE_PATH_PREFIX "/",
                VFIO_TOKEN_LEASE_PATH_PREFIX "/0",
                VFIO_TOKEN_LEASE_PATH_PREFIX "/01",
                VFIO_TOKEN_LEASE_PATH_PREFIX "/+1",
                VFIO_TOKEN_LEASE_PATH_PREFIX "/-1",
                VFIO_TOKEN_LEASE_PATH_PREFIX "/1x",
                VFIO_TOKEN_LEASE_PATH_PREFIX "/1/2",
                VFIO_TOKEN_LEASE_PATH_PREFIX "/ 1",
                VFIO_TOKEN_LEASE_PATH_PREFIX "/18446744073709551617",
                VFIO_TOKEN_LEASE_PATH_PREFIX "/99999999999999999999999999",
                VFIO_TOKEN_LEASE_PATH_PREFIX "x/1",
                "/org/vfio/Tokend1/pf/1",
                "/1",
                "",
        };
        Lease *a = lease(":1.1", UID_A), *b = lease(":1.1", UID_A), *c = lease(":1.2", UID_B);

        ck_assert(found(a, 1));
        ck_assert(found(b, 2));
        ck_assert(found(c, 3));
        ck_assert(found(NULL, 4));
        ck_assert_ptr_eq(lease_registry_find_path(reg, a->path), a);
        for (size_t i = 0; i < ELEMENTSOF(invalid); i++)
                ck_assert_msg(!lease_registry_find_path(reg, invalid[i]), "found %s", invalid[i]);

        /* Ended: gone from the index, the others still found. */
        lease_end(b, "test");
        ck_assert(found(NULL, 2));
        ck_assert(found(a, 1));
        ck_assert(found(c, 3));
        lease_end(a, "test");
        ck_assert(found(NULL, 1));
        ck_assert(found(c, 3));
}
END_TEST

/* ---- Quotas ------------------------------------------------------------------------------- */

START_TEST(test_quota_per_owner) {
        Lease *l = NULL, *first;

        lease_registry_set_max_per_user(reg, LEASES_PER_OWNER_MAX * 2);
        first = lease(":1.1", UID_A);
        for (unsigned i = 1; i < LEASES_PER_OWNER_MAX; i++)
                lease(":1.1", UID_A);
        ck_assert_uint_eq(lease_registry_count_owner(reg, ":1.1"), LEASES_PER_OWNER_MAX);
        ck_assert_int_eq(lease_registry_check_quota(reg, ":1.1", UID_A), -EDQUOT);
        ck_assert_int_eq(lease_new(reg, pf, VF1, ":1.1", UID_A, 1, &l), -EDQUOT);
        ck_assert_ptr_null(l);
        ck_assert_uint_eq(lease_registry_count(reg), LEASES_PER_OWNER_MAX);

        /* Another connection of the same uid may. */
        ck_assert_int_eq(lease_registry_check_quota(reg, ":1.2", UID_A), 0);
        lease(":1.2", UID_A);

        /* One ends: room again. */
        lease_end(first, "test");
        ck_assert_int_eq(lease_registry_check_quota(reg, ":1.1", UID_A), 0);
        lease(":1.1", UID_A);
        ck_assert_int_eq(lease_registry_check_quota(reg, ":1.1", UID_A), -EDQUOT);
}
END_TEST

START_TEST(test_quota_per_uid) {
        Lease *l = NULL, *first;

        ck_assert_uint_eq(lease_registry_max_per_user(reg), MAX_PER_USER);
        /* Each from another connection: the quota is the uid's. */
        first = lease(":1.1", UID_A);
        lease(":1.2", UID_A);
        lease(":1.3", UID_A);
        ck_assert_uint_eq(lease_registry_count_uid(reg, UID_A), MAX_PER_USER);
        ck_assert_int_eq(lease_registry_check_quota(reg, ":1.4", UID_A), -EUSERS);
        ck_assert_int_eq(lease_new(reg, pf, VF1, ":1.4", UID_A, 1, &l), -EUSERS);
        ck_assert_ptr_null(l);
        ck_assert_uint_eq(lease_registry_count_owner(reg, ":1.4"), 0);

        /* Another uid has its own. */
        lease(":1.4", UID_B);
        ck_assert_uint_eq(lease_registry_count_uid(reg, UID_B), 1);

        lease_end(first, "test");
        ck_assert_uint_eq(lease_registry_count_uid(reg, UID_A), MAX_PER_USER - 1);
        lease(":1.4", UID_A);
        ck_assert_int_eq(lease_registry_check_quota(reg, ":1.5", UID_A), -EUSERS);

        /* A new maximum applies at once. */
        lease_registry_set_max_per_user(reg, MAX_PER_USER + 1);
        ck_assert_int_eq(lease_registry_check_quota(reg, ":1.5", UID_A), 0);
        lease_registry_set_max_per_user(reg, 1);
        ck_assert_int_eq(lease_registry_check_quota(reg, ":1.5", UID_B), -EUSERS);
}
END_TEST

START_TEST(test_quota_in_all) {
        char owner[32];
        Lease *l = NULL, *last = NULL;

        lease_registry_set_max_per_user(reg, LEASES_MAX + 1);
        for (unsigned i = 0; i < LEASES_MAX; i++) {
                snprintf(owner, sizeof owner, ":1.%u", i / LEASES_PER_OWNER_MAX);
                last = lease(owner, UID_A + i % 2);
        }
        ck_assert_uint_eq(lease_registry_count(reg), LEASES_MAX);
        ck_assert_int_eq(lease_registry_check_quota(reg, ":2.1", UID_B + 5), -ENOSPC);
        ck_assert_int_eq(lease_new(reg, pf, VF1, ":2.1", UID_B + 5, 1, &l), -ENOSPC);
        ck_assert_ptr_null(l);
        ck_assert_uint_eq(lease_registry_count_uid(reg, UID_B + 5), 0);

        lease_end(last, "test");
        lease(":2.1", UID_B + 5);
        ck_assert_uint_eq(lease_registry_count(reg), LEASES_MAX);
}
END_TEST

/* ---- Owners, counts, order ---------------------------------------------------------------- */

START_TEST(test_end_owner) {
        Lease *b, *c;

        lease_registry_set_max_per_user(reg, 100);
        lease(":1.1", UID_A);
        b = lease(":1.2", UID_A);
        lease(":1.1", UID_A);
        c = lease(":1.3", UID_B);
        lease(":1.1", UID_B); /* one connection, whatever the uid */
        ck_assert_uint_eq(lease_registry_count_owner(reg, ":1.1"), 3);
        ck_assert_uint_eq(pf_n_leases(pf), 5);

        ck_assert_uint_eq(lease_registry_end_owner(reg, ":1.1", "owner left"), 3);
        ck_assert_uint_eq(lease_registry_count(reg), 2);
        ck_assert_uint_eq(lease_registry_count_owner(reg, ":1.1"), 0);
        ck_assert_uint_eq(lease_registry_count_owner(reg, ":1.2"), 1);
        ck_assert_uint_eq(lease_registry_count_owner(reg, ":1.3"), 1);
        ck_assert_uint_eq(lease_registry_count_uid(reg, UID_A), 1);
        ck_assert_uint_eq(lease_registry_count_uid(reg, UID_B), 1);
        ck_assert_uint_eq(pf_n_leases(pf), 2);
        for (uint64_t id = 1; id <= 5; id++)
                ck_assert(found(id == 2 ? b : id == 4 ? c : NULL, id));
        ck_assert_str_eq(lease_owner_name(b), ":1.2");

        /* Again, or for a name with no leases: nothing. */
        ck_assert_uint_eq(lease_registry_end_owner(reg, ":1.1", "owner left"), 0);
        ck_assert_uint_eq(lease_registry_end_owner(reg, ":1.99", "owner left"), 0);
        ck_assert_uint_eq(lease_registry_count(reg), 2);

        /* The owner may come back (a new lease under the same name starts from zero). */
        lease(":1.1", UID_A);
        ck_assert_uint_eq(lease_registry_count_owner(reg, ":1.1"), 1);
        ck_assert_uint_eq(lease_registry_end_owner(reg, ":1.2", "owner left"), 1);
        ck_assert_uint_eq(lease_registry_end_owner(reg, ":1.3", "owner left"), 1);
        ck_assert_uint_eq(lease_registry_end_owner(reg, ":1.1", "owner left"), 1);
        ck_assert_uint_eq(lease_registry_count(reg), 0);
        ck_assert_uint_eq(pf_n_leases(pf), 0);
}
END_TEST

START_TEST(test_counts_per_uid) {
        Lease *a1, *a2, *b1;

        ck_assert_uint_eq(lease_registry_count_uid(reg, UID_A), 0);
        a1 = lease(":1.1", UID_A);
        a2 = lease(":1.2", UID_A);
        b1 = lease(":1.2", UID_B);
        ck_assert_uint_eq(lease_registry_count_uid(reg, UID_A), 2);
        ck_assert_uint_eq(lease_registry_count_uid(reg, UID_B), 1);
        ck_assert_uint_eq(lease_registry_count_owner(reg, ":1.2"), 2);

        lease_end(a2, "test");
        ck_assert_uint_eq(lease_registry_count_uid(reg, UID_A), 1);
        ck_assert_uint_eq(lease_registry_count_owner(reg, ":1.2"), 1);
        lease_end(a1, "test");
        lease_end(b1, "test");
        ck_assert_uint_eq(lease_registry_count_uid(reg, UID_A), 0);
        ck_assert_uint_eq(lease_registry_count_uid(reg, UID_B), 0);
        ck_assert_uint_eq(lease_registry_count_owner(reg, ":1.1"), 0);
        ck_assert_uint_eq(lease_registry_count_owner(reg, ":1.2"), 0);
        ck_assert_uint_eq(lease_registry_count(reg), 0);

        /* The whole quota is there again. */
        for (unsigned i = 0; i < MAX_PER_USER; i++)
                lease(":1.3", UID_A);
        ck_assert_int_eq(lease_registry_check_quota(reg, ":1.3", UID_A), -EUSERS);
}
END_TEST

START_TEST(test_enumeration_order) {
        Lease *l[8];
        uint64_t expect[8];
        size_t n = 0;

        ck_assert_ptr_null(lease_registry_first(reg));
        lease_registry_set_max_per_user(reg, 100);
        for (size_t i = 0; i < ELEMENTSOF(l); i++)
                l[i] = lease(i % 2 ? ":1.1" : ":1.2", UID_A + i % 3);
        /* Take out the first, the last and some in between. */
        lease_end(l[0], "test");
        lease_end(l[3], "test");
        lease_end(l[4], "test");
        lease_end(l[7], "test");
        lease(":1.3", UID_B); /* id 9 */

        for (Lease *x = lease_registry_first(reg); x; x = lease_registry_next(x)) {
                ck_assert_uint_lt(n, ELEMENTSOF(expect));
                expect[n++] = x->id;
        }
        ck_assert_uint_eq(n, 5);
        ck_assert_uint_eq(n, lease_registry_count(reg));
        ck_assert_uint_eq(expect[0], 2);
        ck_assert_uint_eq(expect[1], 3);
        ck_assert_uint_eq(expect[2], 6);
        ck_assert_uint_eq(expect[3], 7);
        ck_assert_uint_eq(expect[4], 9);
}
END_TEST

/* ---- Restart: records and restored leases ------------------------------------------------- */

static Lease *restore(uint64_t id, const char *owner, uid_t uid) {
        LeaseRecord rec = { .id = id, .uid = uid, .pid = 99, .acquired_usec = 1234 };
        Lease *l = NULL;

        snprintf(rec.pf, sizeof rec.pf, "%s", PF);
        snprintf(rec.device, sizeof rec.device, "%s", VF2);
        snprintf(rec.owner, sizeof rec.owner, "%s", owner);
        ck_assert_int_eq(lease_restore(reg, pf, &rec, &l), 0);
        ck_assert_ptr_nonnull(l);
        return l;
}

START_TEST(test_restore) {
        LeaseRecord rec = { .id = 5 };
        uint64_t ids[8];
        size_t n = 0;
        Lease *l = NULL, *x, *three, *four, *five;

        /* Out of order, beyond the per-uid quota (granted within it before the restart). */
        x = restore(7, ":1.7", UID_A);
        three = restore(3, ":1.3", UID_A);
        five = restore(5, ":1.5", UID_A);
        four = restore(4, ":1.5", UID_A);
        ck_assert_uint_eq(lease_registry_count(reg), 4);
        ck_assert_uint_eq(lease_registry_count_uid(reg, UID_A), 4);
        ck_assert_uint_eq(lease_registry_count_owner(reg, ":1.5"), 2);
        ck_assert_uint_eq(pf_n_leases(pf), 4);
        ck_assert_str_eq(x->path, VFIO_TOKEN_LEASE_PATH_PREFIX "/7");
        ck_assert_str_eq(x->device, VF2);
        ck_assert_str_eq(lease_owner_name(x), ":1.7");
        ck_assert_int_eq(x->pid, 99);
        ck_assert_uint_eq(x->acquired_usec, 1234);
        ck_assert(found(NULL, 6));

        /* Enumerated and found by path, whatever the order they came back in. */
        for (Lease *i = lease_registry_first(reg); i; i = lease_registry_next(i)) {
                ck_assert_uint_lt(n, ELEMENTSOF(ids));
                ids[n++] = i->id;
        }
        ck_assert_uint_eq(n, 4);
        ck_assert_uint_eq(ids[0], 3);
        ck_assert_uint_eq(ids[1], 4);
        ck_assert_uint_eq(ids[2], 5);
        ck_assert_uint_eq(ids[3], 7);
        ck_assert(found(three, 3));
        ck_assert(found(four, 4));
        ck_assert(found(five, 5));
        ck_assert(found(x, 7));

        /* An id taken, or none. */
        ck_assert_int_eq(lease_restore(reg, pf, &rec, &l), -EEXIST);
        rec.id = 0;
        ck_assert_int_eq(lease_restore(reg, pf, &rec, &l), -EINVAL);
        ck_assert_ptr_null(l);
        ck_assert_uint_eq(lease_registry_count(reg), 4);

        /* New ids go on after the largest restored. */
        ck_assert_uint_eq(lease(":1.9", UID_B)->id, 8);
}
END_TEST

START_TEST(test_reserve_ids) {
        /* The file's next id wins when larger (leases that had ended before the restart). */
        lease_registry_reserve_ids(reg, 20);
        ck_assert_uint_eq(lease(":1.1", UID_A)->id, 20);
        /* Never backwards. */
        lease_registry_reserve_ids(reg, 10);
        lease_registry_reserve_ids(reg, 0);
        ck_assert_uint_eq(lease(":1.1", UID_A)->id, 21);
        restore(15, ":1.2", UID_B);
        ck_assert_uint_eq(lease(":1.1", UID_A)->id, 22);
}
END_TEST

START_TEST(test_records) {
        _cleanup_(lease_records_done) LeaseRecords none = {}, recs = {};
        Lease *a, *b;

        ck_assert_int_eq(lease_registry_records(reg, &none), 0);
        ck_assert_uint_eq(none.n, 0);
        ck_assert_uint_eq(none.next_id, 1);

        a = lease(":1.1", UID_A);
        b = lease(":1.2", UID_B);
        lease_end(lease(":1.1", UID_A), "test");
        ck_assert_int_eq(lease_registry_records(reg, &recs), 0);
        ck_assert_uint_eq(recs.n, 2);
        ck_assert_uint_eq(recs.next_id, 4); /* 3 ended: still used */
        ck_assert_uint_eq(recs.records[0].id, a->id);
        ck_assert_str_eq(recs.records[0].pf, PF);
        ck_assert_str_eq(recs.records[0].device, VF1);
        ck_assert_str_eq(recs.records[0].owner, ":1.1");
        ck_assert_uint_eq(recs.records[0].uid, UID_A);
        ck_assert_int_eq(recs.records[0].pid, 4242);
        ck_assert_uint_eq(recs.records[0].acquired_usec, a->acquired_usec);
        ck_assert_uint_eq(recs.records[1].id, b->id);
        ck_assert_str_eq(recs.records[1].owner, ":1.2");
        ck_assert_uint_eq(recs.records[1].uid, UID_B);
}
END_TEST

static Suite *lease_suite(void) {
        Suite *s = suite_create("lease");
        TCase *tc;

        tc = tcase_create("ids");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_new_fields);
        tcase_add_test(tc, test_ids_grow_never_reused);
        tcase_add_test(tc, test_find_path);
        suite_add_tcase(s, tc);

        tc = tcase_create("quota");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_quota_per_owner);
        tcase_add_test(tc, test_quota_per_uid);
        tcase_add_test(tc, test_quota_in_all);
        suite_add_tcase(s, tc);

        tc = tcase_create("registry");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_end_owner);
        tcase_add_test(tc, test_counts_per_uid);
        tcase_add_test(tc, test_enumeration_order);
        suite_add_tcase(s, tc);

        tc = tcase_create("restart");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_restore);
        tcase_add_test(tc, test_reserve_ids);
        tcase_add_test(tc, test_records);
        suite_add_tcase(s, tc);
        return s;
}

DEFINE_TEST_MAIN(lease_suite)
