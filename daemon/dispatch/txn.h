/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The unit of work: one transaction per request, owned by the dispatcher
 * (dispatch.c) and by the event loop's own jobs (a deferred reply's
 * completion, maintenance).  Domain code never begins or commits.
 */
#pragma once

#include <stdbool.h>

#include "store.h"

/* Arm the store: the first write opens the transaction. */
void txn_begin(struct store *s);
/* Commit (0, or <0 and rolled back) or roll back; the events it logged go
 * to the journal only when it committed. */
int txn_end(struct store *s, bool commit);
/* Make what was written so far durable, the work going on (before a
 * deferred reply hands work to a child). */
int txn_commit_now(struct store *s);
