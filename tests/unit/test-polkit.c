/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of daemon/polkit.c against a fake polkit authority served in-process on the other end of
 * a direct connection (tests/common/test-bus-util.h): the verdicts, what a check sends (the
 * system-bus-name subject, the details, the interactive flag, a unique cancellation id), the
 * quotas per uid and in all and that an ended check frees its place, checks of a caller that
 * left (never answered, cancelled with the check's own id if they were sent), at most
 * POLKIT_MAX_IN_FLIGHT checks sent at once with the rest going out in order as answers come,
 * and errors from polkit. No bus daemon and no root needed.
 *
 * The timeout (VFIO_TOKEN_AUTH_TIMEOUT_USEC, 25 s) is not waited for: the timer is sd-bus's
 * own. What the daemon does when it fires is tested: sd-bus turns it into a NoReply error
 * reply, which the fake sends in its place. */

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "polkit.h"
#include "string-util.h"
#include "strv.h"
#include "test-bus-util.h"
#include "test-util.h"
#include "vfio-token-names.h"

#define PF "0000:01:00.0"
#define VF "0000:01:00.1"
#define UID_A 1000
#define UID_B 1001
#define MAX_PER_USER 4

/* What one check's callbacks saw. Every Outcome is static: polkit_free() in teardown frees the
 * checks still pending, also those of a test that failed half-way. */
typedef struct Outcome {
        sd_bus_message *call; /* the call given, for comparison only */
        unsigned n_done, n_freed;
        int verdict;
        char error[128];
} Outcome;

static struct {
        sd_event *event;
        sd_bus *daemon, *peer;
        Polkit *polkit;
        FakePolkit *fake;
} t;

static void setup(void) {
        log_set_target_journal(0);
        ck_assert_int_ge(sd_event_new(&t.event), 0);
        ck_assert_int_eq(test_bus_pair_new(t.event, (uid_t) -1, &t.daemon, &t.peer), 0);
        ck_assert_int_eq(polkit_new(t.daemon, MAX_PER_USER, &t.polkit), 0);
        ck_assert_int_eq(fake_polkit_new(t.peer, FAKE_POLKIT_ALLOW, &t.fake), 0);
}

static void teardown(void) {
        t.polkit = polkit_free(t.polkit);
        t.fake = fake_polkit_free(t.fake);
        t.daemon = sd_bus_close_unref(t.daemon);
        t.peer = sd_bus_close_unref(t.peer);
        t.event = sd_event_unref(t.event);
}

/* ---- Helpers ------------------------------------------------------------------------------ */

static void on_done(sd_bus_message *call, int verdict, const sd_bus_error *error, void *userdata) {
        Outcome *o = userdata;

        ck_assert_ptr_eq(call, o->call);
        o->n_done++;
        o->verdict = verdict;
        snprintf(o->error, sizeof o->error, "%s", error && error->name ? error->name : "");
}

static void on_free(void *userdata) {
        Outcome *o = userdata;

        o->n_freed++;
}

/* Starts a check of AcquireToken for `sender` (NULL: a call without one) with uid `uid`. */
static int check_full(const char *sender, uid_t uid, bool interactive, Outcome *o) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        const char *const details[] = { "pf", PF, "device", VF, NULL };

        int r;

        r = test_bus_new_call(t.daemon, sender, VFIO_TOKEN_MANAGER_PATH, VFIO_TOKEN_MANAGER_INTERFACE,
                              "AcquireToken", &call);
        ck_assert_int_eq(r, 0);
        if (interactive)
                ck_assert_int_ge(sd_bus_message_set_allow_interactive_authorization(call, 1), 0);
        *o = (Outcome) { .call = call, .verdict = 12345 };
        return polkit_check_async(t.polkit, call, uid, VFIO_TOKEN_ACTION_ACQUIRE, details, on_done, o,
                                  on_free);
}

static int check(const char *sender, uid_t uid, Outcome *o) {
        return check_full(sender, uid, false, o);
}

/* ":1.<n>", a unique name as the bus daemon hands them out. */
static const char *name(unsigned n) {
        static char buf[8][32];
        static unsigned next;
        char *b = buf[next++ % ELEMENTSOF(buf)];

        snprintf(b, sizeof buf[0], ":1.%u", n);
        return b;
}

static void settle(void) {
        ck_assert_int_eq(test_bus_settle(t.event), 0);
}

/* The check the fake received from `sender`; exactly one must have come. */
static const FakePolkitCheck *received_from(const char *sender) {
        const FakePolkitCheck *found = NULL;

        for (size_t i = 0; i < t.fake->n_checks; i++)
                if (streq_ptr(t.fake->checks[i].subject_name, sender)) {
                        ck_assert_ptr_null(found);
                        found = &t.fake->checks[i];
                }
        ck_assert_ptr_nonnull(found);
        return found;
}

/* Answers the oldest held check, if any: true if there was one. */
static bool answer_oldest(FakePolkitAnswer answer) {
        for (size_t i = 0; i < t.fake->n_checks; i++)
                if (t.fake->checks[i].held) {
                        ck_assert_int_eq(fake_polkit_answer(t.fake, i, answer), 0);
                        return true;
                }
        return false;
}

/* ---- Verdicts and what is sent ------------------------------------------------------------ */

START_TEST(test_verdicts) {
        static const struct {
                FakePolkitAnswer answer;
                int verdict;
        } cases[] = {
                { FAKE_POLKIT_ALLOW, POLKIT_ALLOWED },
                { FAKE_POLKIT_DENY, POLKIT_DENIED },
                { FAKE_POLKIT_CHALLENGE, POLKIT_CHALLENGE },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                static Outcome o;

                t.fake->answer = cases[i].answer;
                ck_assert_int_eq(check(name(1), UID_A, &o), 0);
                ck_assert_uint_eq(polkit_pending(t.polkit), 1);
                ck_assert_uint_eq(polkit_pending_uid(t.polkit, UID_A), 1);
                settle();
                ck_assert_uint_eq(o.n_done, 1);
                ck_assert_int_eq(o.verdict, cases[i].verdict);
                ck_assert_str_eq(o.error, "");
                ck_assert_uint_eq(o.n_freed, 1);
                ck_assert_uint_eq(polkit_pending(t.polkit), 0);
                ck_assert_uint_eq(polkit_pending_uid(t.polkit, UID_A), 0);
        }
        ck_assert_uint_eq(t.fake->n_checks, ELEMENTSOF(cases));
        ck_assert_ptr_null(t.fake->cancelled);
}
END_TEST

START_TEST(test_request_content) {
        const FakePolkitCheck *c;
        static Outcome o, oi;

        ck_assert_int_eq(check(name(7), UID_A, &o), 0);
        ck_assert_int_eq(check_full(name(8), UID_A, true, &oi), 0);
        settle();
        ck_assert_uint_eq(o.n_done, 1);
        ck_assert_uint_eq(oi.n_done, 1);
        ck_assert_uint_eq(t.fake->n_checks, 2);

        c = received_from(name(7));
        ck_assert_str_eq(c->subject_kind, "system-bus-name");
        ck_assert_str_eq(c->action, VFIO_TOKEN_ACTION_ACQUIRE);
        ck_assert_uint_eq(strv_length(c->details), 4);
        ck_assert_str_eq(fake_polkit_detail(c, "pf"), PF);
        ck_assert_str_eq(fake_polkit_detail(c, "device"), VF);
        ck_assert_uint_eq(c->flags, 0); /* no AllowUserInteraction: the caller did not allow it */
        ck_assert_str_ne(c->cancellation_id, "");

        c = received_from(name(8));
        ck_assert_str_eq(c->subject_kind, "system-bus-name");
        ck_assert_uint_eq(c->flags, 1);
        ck_assert_str_ne(c->cancellation_id, t.fake->checks[0].cancellation_id);
}
END_TEST

START_TEST(test_no_sender) {
        static Outcome o;

        ck_assert_int_eq(check(NULL, UID_A, &o), -EBADMSG);
        ck_assert_uint_eq(o.n_done, 0);
        ck_assert_uint_eq(o.n_freed, 0); /* refused: the caller keeps its userdata */
        ck_assert_uint_eq(polkit_pending(t.polkit), 0);
        settle();
        ck_assert_uint_eq(t.fake->n_checks, 0);
}
END_TEST

/* ---- Quotas ------------------------------------------------------------------------------- */

START_TEST(test_quota_per_uid) {
        static Outcome a[MAX_PER_USER + 1], b, again;

        t.fake->answer = FAKE_POLKIT_HOLD;
        for (unsigned i = 0; i < MAX_PER_USER; i++)
                ck_assert_int_eq(check(name(10 + i), UID_A, &a[i]), 0);
        ck_assert_int_eq(check(name(20), UID_A, &a[MAX_PER_USER]), -EUSERS);
        ck_assert_uint_eq(a[MAX_PER_USER].n_freed, 0);
        /* Another uid has its own quota. */
        ck_assert_int_eq(check(name(21), UID_B, &b), 0);
        ck_assert_uint_eq(polkit_pending_uid(t.polkit, UID_A), MAX_PER_USER);
        ck_assert_uint_eq(polkit_pending_uid(t.polkit, UID_B), 1);
        ck_assert_uint_eq(polkit_pending(t.polkit), MAX_PER_USER + 1);
        settle();
        ck_assert_uint_eq(t.fake->n_checks, MAX_PER_USER + 1);

        /* An answered check frees its place. */
        ck_assert_int_eq(fake_polkit_answer(t.fake, 0, FAKE_POLKIT_DENY), 0);
        settle();
        ck_assert_uint_eq(a[0].n_done, 1);
        ck_assert_int_eq(a[0].verdict, POLKIT_DENIED);
        ck_assert_uint_eq(polkit_pending_uid(t.polkit, UID_A), MAX_PER_USER - 1);
        ck_assert_int_eq(check(name(22), UID_A, &again), 0);
        ck_assert_int_eq(check(name(23), UID_A, &a[MAX_PER_USER]), -EUSERS);

        /* So does one whose caller left. */
        polkit_forget_sender(t.polkit, name(11));
        ck_assert_uint_eq(a[1].n_freed, 1);
        ck_assert_int_eq(check(name(23), UID_A, &a[MAX_PER_USER]), 0);
        ck_assert_uint_eq(polkit_pending_uid(t.polkit, UID_A), MAX_PER_USER);

        polkit_set_max_per_user(t.polkit, MAX_PER_USER + 1);
        ck_assert_int_eq(check(name(24), UID_A, &a[1]), 0);
}
END_TEST

START_TEST(test_quota_in_all) {
        static Outcome o[POLKIT_MAX_PENDING + 1];

        t.fake->answer = FAKE_POLKIT_HOLD;
        polkit_set_max_per_user(t.polkit, POLKIT_MAX_PENDING * 2);
        for (unsigned i = 0; i < POLKIT_MAX_PENDING; i++)
                ck_assert_int_eq(check(name(100 + i), UID_A + i % 3, &o[i]), 0);
        ck_assert_int_eq(check(name(99), UID_B + 7, &o[POLKIT_MAX_PENDING]), -ENOSPC);
        ck_assert_uint_eq(o[POLKIT_MAX_PENDING].n_freed, 0);
        settle();

        ck_assert(answer_oldest(FAKE_POLKIT_ALLOW));
        settle();
        ck_assert_uint_eq(o[0].n_done, 1);
        ck_assert_int_eq(check(name(99), UID_B + 7, &o[POLKIT_MAX_PENDING]), 0);
        ck_assert_uint_eq(polkit_pending(t.polkit), POLKIT_MAX_PENDING);
}
END_TEST

/* ---- Callers that leave ------------------------------------------------------------------- */

START_TEST(test_forget_sender) {
        const FakePolkitCheck *ca, *cb;
        static Outcome a1, a2, b;

        t.fake->answer = FAKE_POLKIT_HOLD;
        ck_assert_int_eq(check(name(30), UID_A, &a1), 0);
        ck_assert_int_eq(check(name(31), UID_A, &b), 0);
        ck_assert_int_eq(check(name(30), UID_A, &a2), 0);
        settle();
        ck_assert_uint_eq(t.fake->n_checks, 3);

        polkit_forget_sender(t.polkit, name(30));
        ck_assert_uint_eq(a1.n_done + a2.n_done, 0);
        ck_assert_uint_eq(a1.n_freed, 1);
        ck_assert_uint_eq(a2.n_freed, 1);
        ck_assert_uint_eq(polkit_pending(t.polkit), 1);
        ck_assert_uint_eq(polkit_pending_uid(t.polkit, UID_A), 1);
        settle();

        /* Each check of the caller is cancelled, with its own id; the other caller's is not. */
        ck_assert_uint_eq(strv_length(t.fake->cancelled), 2);
        ca = &t.fake->checks[0];
        ck_assert_str_eq(ca->subject_name, name(30));
        ck_assert_uint_eq(fake_polkit_n_cancelled(t.fake, ca->cancellation_id), 1);
        ca = &t.fake->checks[2];
        ck_assert_str_eq(ca->subject_name, name(30));
        ck_assert_uint_eq(fake_polkit_n_cancelled(t.fake, ca->cancellation_id), 1);
        cb = received_from(name(31));
        ck_assert_uint_eq(fake_polkit_n_cancelled(t.fake, cb->cancellation_id), 0);

        /* polkitd answering the cancelled checks anyway reaches nobody. */
        ck_assert_int_eq(fake_polkit_answer(t.fake, 0, FAKE_POLKIT_ALLOW), 0);
        ck_assert_int_eq(fake_polkit_answer(t.fake, 2, FAKE_POLKIT_ALLOW), 0);
        ck_assert_int_eq(fake_polkit_answer(t.fake, 1, FAKE_POLKIT_ALLOW), 0);
        settle();
        ck_assert_uint_eq(a1.n_done + a2.n_done, 0);
        ck_assert_uint_eq(a1.n_freed + a2.n_freed, 2);
        ck_assert_uint_eq(b.n_done, 1);
        ck_assert_int_eq(b.verdict, POLKIT_ALLOWED);
        ck_assert_uint_eq(polkit_pending(t.polkit), 0);

        /* A name that has no checks changes nothing. */
        polkit_forget_sender(t.polkit, name(77));
        polkit_forget_sender(NULL, name(77));
}
END_TEST

START_TEST(test_forget_sender_queued) {
        static Outcome o[POLKIT_MAX_IN_FLIGHT];
        static Outcome a;

        t.fake->answer = FAKE_POLKIT_HOLD;
        polkit_set_max_per_user(t.polkit, POLKIT_MAX_IN_FLIGHT * 2);
        for (unsigned i = 0; i < POLKIT_MAX_IN_FLIGHT; i++)
                ck_assert_int_eq(check(name(200 + i), UID_B, &o[i]), 0);
        ck_assert_int_eq(check(name(40), UID_A, &a), 0);
        settle();
        ck_assert_uint_eq(t.fake->n_checks, POLKIT_MAX_IN_FLIGHT);

        /* Never sent, so nothing to cancel. */
        polkit_forget_sender(t.polkit, name(40));
        ck_assert_uint_eq(a.n_done, 0);
        ck_assert_uint_eq(a.n_freed, 1);
        ck_assert_uint_eq(polkit_pending_uid(t.polkit, UID_A), 0);
        settle();
        ck_assert_ptr_null(t.fake->cancelled);

        /* And it does not go out later either. */
        ck_assert(answer_oldest(FAKE_POLKIT_ALLOW));
        settle();
        ck_assert_uint_eq(t.fake->n_checks, POLKIT_MAX_IN_FLIGHT);
        ck_assert_uint_eq(a.n_done, 0);
}
END_TEST

START_TEST(test_free_cancels) {
        static Outcome o[POLKIT_MAX_IN_FLIGHT + 2];

        t.fake->answer = FAKE_POLKIT_HOLD;
        polkit_set_max_per_user(t.polkit, ELEMENTSOF(o));
        for (unsigned i = 0; i < ELEMENTSOF(o); i++)
                ck_assert_int_eq(check(name(300 + i), UID_A, &o[i]), 0);
        settle();
        ck_assert_uint_eq(t.fake->n_checks, POLKIT_MAX_IN_FLIGHT);

        t.polkit = polkit_free(t.polkit);
        for (unsigned i = 0; i < ELEMENTSOF(o); i++) {
                ck_assert_uint_eq(o[i].n_done, 0);
                ck_assert_uint_eq(o[i].n_freed, 1);
        }
        settle();
        /* Those sent are cancelled, each once. */
        ck_assert_uint_eq(strv_length(t.fake->cancelled), POLKIT_MAX_IN_FLIGHT);
        for (size_t i = 0; i < t.fake->n_checks; i++)
                ck_assert_uint_eq(fake_polkit_n_cancelled(t.fake, t.fake->checks[i].cancellation_id), 1);
}
END_TEST

/* ---- Many checks -------------------------------------------------------------------------- */

START_TEST(test_unique_cancellation_ids) {
        static Outcome o[300];

        polkit_set_max_per_user(t.polkit, ELEMENTSOF(o));
        for (unsigned i = 0; i < ELEMENTSOF(o); i++)
                ck_assert_int_eq(check(name(i % 5), UID_A, &o[i]), 0);
        settle();
        ck_assert_uint_eq(t.fake->n_checks, ELEMENTSOF(o));
        for (size_t i = 0; i < t.fake->n_checks; i++) {
                const char *id = t.fake->checks[i].cancellation_id;

                ck_assert_uint_eq(o[i].n_done, 1);
                for (size_t j = 0; j < i; j++)
                        ck_assert_str_ne(id, t.fake->checks[j].cancellation_id);
        }
}
END_TEST

START_TEST(test_in_flight_bound) {
        enum { N = POLKIT_MAX_IN_FLIGHT + 4 };
        static Outcome o[N];

        t.fake->answer = FAKE_POLKIT_HOLD;
        polkit_set_max_per_user(t.polkit, N);
        for (unsigned i = 0; i < N; i++)
                ck_assert_int_eq(check(name(1000 + i), UID_A, &o[i]), 0);
        settle();
        ck_assert_uint_eq(polkit_pending(t.polkit), N);
        ck_assert_uint_eq(t.fake->n_checks, POLKIT_MAX_IN_FLIGHT);
        for (unsigned i = 0; i < POLKIT_MAX_IN_FLIGHT; i++)
                ck_assert_str_eq(t.fake->checks[i].subject_name, name(1000 + i));

        /* Each answer lets the next queued check go, in the order they came. */
        for (unsigned answered = 0; answer_oldest(FAKE_POLKIT_ALLOW); answered++) {
                unsigned sent = MIN((unsigned) N, POLKIT_MAX_IN_FLIGHT + answered + 1);

                settle();
                ck_assert_uint_le(fake_polkit_n_held(t.fake), POLKIT_MAX_IN_FLIGHT);
                ck_assert_uint_eq(t.fake->n_checks, sent);
                ck_assert_str_eq(t.fake->checks[sent - 1].subject_name, name(1000 + sent - 1));
                ck_assert_uint_eq(o[answered].n_done, 1);
        }
        for (unsigned i = 0; i < N; i++) {
                ck_assert_uint_eq(o[i].n_done, 1);
                ck_assert_int_eq(o[i].verdict, POLKIT_ALLOWED);
                ck_assert_uint_eq(o[i].n_freed, 1);
        }
        ck_assert_uint_eq(polkit_pending(t.polkit), 0);
}
END_TEST

/* ---- Failures ----------------------------------------------------------------------------- */

START_TEST(test_error_reply) {
        static Outcome o;

        t.fake->answer = FAKE_POLKIT_ERROR;
        t.fake->error_name = "org.freedesktop.PolicyKit1.Error.Failed";
        ck_assert_int_eq(check(name(50), UID_A, &o), 0);
        settle();
        ck_assert_uint_eq(o.n_done, 1);
        ck_assert_int_lt(o.verdict, 0);
        ck_assert_str_eq(o.error, "org.freedesktop.PolicyKit1.Error.Failed");
        ck_assert_uint_eq(o.n_freed, 1);

        t.fake->error_name = SD_BUS_ERROR_ACCESS_DENIED; /* the bus refusing us, not a verdict */
        ck_assert_int_eq(check(name(50), UID_A, &o), 0);
        settle();
        ck_assert_uint_eq(o.n_done, 1);
        ck_assert_int_eq(o.verdict, -EACCES);
        ck_assert_str_eq(o.error, SD_BUS_ERROR_ACCESS_DENIED);

        /* An answer that is not one. */
        t.fake->answer = FAKE_POLKIT_MALFORMED;
        ck_assert_int_eq(check(name(50), UID_A, &o), 0);
        settle();
        ck_assert_uint_eq(o.n_done, 1);
        ck_assert_int_eq(o.verdict, -EBADMSG);

        /* No authority at all. */
        t.fake->slot = sd_bus_slot_unref(t.fake->slot);
        ck_assert_int_eq(check(name(50), UID_A, &o), 0);
        settle();
        ck_assert_uint_eq(o.n_done, 1);
        ck_assert_int_lt(o.verdict, 0);
        ck_assert_str_ne(o.error, "");
        ck_assert_uint_eq(polkit_pending(t.polkit), 0);
        ck_assert_ptr_null(t.fake->cancelled);
}
END_TEST

/* What sd-bus answers itself when the timeout passes: the check is given up and cancelled. */
START_TEST(test_timeout_reply) {
        const char *names[] = { SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_TIMEOUT };

        t.fake->answer = FAKE_POLKIT_ERROR;
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                static Outcome o;

                t.fake->error_name = names[i];
                ck_assert_int_eq(check(name(60), UID_A, &o), 0);
                settle();
                ck_assert_uint_eq(o.n_done, 1);
                ck_assert_int_eq(o.verdict, -ETIMEDOUT);
                ck_assert_str_eq(o.error, names[i]);
                ck_assert_uint_eq(o.n_freed, 1);
                ck_assert_uint_eq(fake_polkit_n_cancelled(t.fake, t.fake->checks[i].cancellation_id), 1);
        }
        ck_assert_uint_eq(strv_length(t.fake->cancelled), ELEMENTSOF(names));
}
END_TEST

static Suite *polkit_suite(void) {
        Suite *s = suite_create("polkit");
        TCase *tc;

        tc = tcase_create("check");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_verdicts);
        tcase_add_test(tc, test_request_content);
        tcase_add_test(tc, test_no_sender);
        suite_add_tcase(s, tc);

        tc = tcase_create("quota");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_quota_per_uid);
        tcase_add_test(tc, test_quota_in_all);
        suite_add_tcase(s, tc);

        tc = tcase_create("cancel");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_forget_sender);
        tcase_add_test(tc, test_forget_sender_queued);
        tcase_add_test(tc, test_free_cancels);
        suite_add_tcase(s, tc);

        tc = tcase_create("flow");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_unique_cancellation_ids);
        tcase_add_test(tc, test_in_flight_bound);
        suite_add_tcase(s, tc);

        tc = tcase_create("failure");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_error_reply);
        tcase_add_test(tc, test_timeout_reply);
        suite_add_tcase(s, tc);
        return s;
}

DEFINE_TEST_MAIN(polkit_suite)
