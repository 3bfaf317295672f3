/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Between the scenario runner (scenarios.c) and the stories (scenario-stories.c): what a story
 * gets to run with, and how it reports its checks. */

#include <linux/vfio.h>

#include "scenarios.h"
#include "token.h"

typedef struct ScenarioCtx {
        const ScenarioEnv *env;
        const ScenarioOps *ops;
        ScenarioRun *run;
        FILE *out;
        const char *story;
        Token t[6]; /* t[0] stays all-zero; the others are random */
} ScenarioCtx;

/* Records a check's result and prints its line; with `step`, a failed setup step of the story
 * `name` instead. */
void scenario_record(ScenarioCtx *c, const char *name, int result, const char *step);

typedef enum StoryNeeds {
        NEEDS_PF = 0,
        NEEDS_OTHER_VF = 1 << 0,
        NEEDS_PLAIN = 1 << 1,
        NEEDS_CDEV = 1 << 2,
} StoryNeeds;

typedef struct ScenarioStory {
        const char *name;
        int (*run)(ScenarioCtx *c);
        unsigned needs;           /* StoryNeeds */
        const char *first, *last; /* its checks, a range of the expected table */
} ScenarioStory;

extern const ScenarioStory scenario_stories[];

#define SCENARIO_ABORT 1 /* a story stops; its lines so far stand */

#define F_TOKEN VFIO_DEVICE_FEATURE_PCI_VF_TOKEN
#define F_GET VFIO_DEVICE_FEATURE_GET
#define F_SET VFIO_DEVICE_FEATURE_SET
#define F_PROBE VFIO_DEVICE_FEATURE_PROBE
#define FEATURE_ARGSZ (8 + TOKEN_SIZE) /* sizeof(struct vfio_device_feature) + the token */

/* The fds of one opener: container, group, device. */
typedef struct StoryHandle {
        const ScenarioOps *ops;
        int container, group, device;
} StoryHandle;

/* A setup step: its failure ends the story with a SETUP line. */
#define SETUP(c, step, expr)                                    \
        ({                                                      \
                int _r = (expr);                                \
                if (_r < 0)                                     \
                        return story_setup_failed((c), (step), _r); \
                _r;                                             \
        })

/* A check: one output line. */
#define CHECK(c, name, expr)                                    \
        ({                                                      \
                int _r = (expr);                                \
                if (_r == SCENARIO_ABORT)                       \
                        return _r;                              \
                scenario_record((c), (name), _r, NULL);         \
                _r;                                             \
        })

/* A check the rest of the story depends on. */
#define REQUIRE(c, name, expr)                                  \
        ({                                                      \
                int _q = CHECK(c, name, expr);                  \
                if (_q < 0)                                     \
                        return SCENARIO_ABORT;                  \
                _q;                                             \
        })

/* scenario-stories.c's helpers, for the stories of other files (scenario-cdev.c). Each returns
 * 0, -errno of the step a check is about, or SCENARIO_ABORT after a failed setup step. */
StoryHandle story_handle_init(ScenarioCtx *c);
void story_handle_close(StoryHandle *h);
int story_setup_failed(ScenarioCtx *c, const char *step, int r);
int story_group_of(ScenarioCtx *c, const char *address);
const char *story_token_option(const Token *t, char buf[static 64]);
/* Container + group + IOMMU, then the device as "ADDRESS" or "ADDRESS OPTIONS". */
int story_handle_open(ScenarioCtx *c, StoryHandle *h, const char *address, const char *options);
int story_try_open_token(ScenarioCtx *c, const char *address, const Token *t);
int story_feature(ScenarioCtx *c, int fd, uint32_t flags, uint32_t argsz, const Token *t);
/* Sets the PF's token through the group API with nothing else open. */
int story_reset_token(ScenarioCtx *c, const Token *t);

/* scenario-cdev.c: the stories of the iommufd cdev API, in the order they run (after the
 * group API's). */
int story_cdev_pf(ScenarioCtx *c);
int story_cdev_pf_token_bind(ScenarioCtx *c);
int story_cdev_second_bind(ScenarioCtx *c);
int story_group_pf_cdev_vf(ScenarioCtx *c);
extern const size_t scenario_n_stories;
