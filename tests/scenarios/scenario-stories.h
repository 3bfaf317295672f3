/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Between the scenario runner (scenarios.c) and the stories (scenario-stories.c): what a story
 * gets to run with, and how it reports its checks. */

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
} StoryNeeds;

typedef struct ScenarioStory {
        const char *name;
        int (*run)(ScenarioCtx *c);
        unsigned needs;           /* StoryNeeds */
        const char *first, *last; /* its checks, a range of the expected table */
} ScenarioStory;

extern const ScenarioStory scenario_stories[];
extern const size_t scenario_n_stories;
