/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <string.h>
#include <time.h>

#include "eventlog.h"
#include "handlers.h"
#include "log.h"
#include "mailcap.h"
#include "maintenance.h"
#include "relief.h"
#include "sessions.h"
#include "txn.h"

/* Each job is a transaction of its own (txn_begin() before it): a failed
 * one rolls back alone.  Its result, or the commit's error. */
static int job_end(struct daemon *d, int r) {
        int c = txn_end(&d->store, r >= 0);
        return r < 0 ? r : c < 0 ? c : r;
}

/* A batch of sessions per transaction. */
static int reconcile(struct daemon *d, int64_t now) {
        int r;
        do {
                txn_begin(&d->store);
                r = job_end(d, sessions_reconcile(&d->store, now));
        } while (r == 1);
        return r;
}

static void purge(struct daemon *d, int64_t now, unsigned days);

/* One tick: a unit of work of the store's worker (worker.h); the timer is
 * armed again when it ended. */
static void tick(void *userdata) {
        struct daemon *d = userdata;
        unsigned days = d->policy.global.log_retention_days;
        txn_begin(&d->store);
        int64_t now = store_now(&d->store);
        if (d->store.txn_error) { /* the database is away (logged by the engine): next time */
                (void) txn_end(&d->store, false);
                d->maint_more = false;
                return;
        }
        (void) txn_end(&d->store, true);

        int r = reconcile(d, now);
        if (r < 0)
                log_warning("closing sessions whose processes are gone failed: %s", strerror(-r));
        txn_begin(&d->store);
        if ((r = job_end(d, sessions_host_seen(&d->store, now))) < 0)
                log_warning("recording this host as alive failed: %s", strerror(-r));
        int64_t lead = 0;
        if (store_get_int(&d->store, Q_MAINTENANCE_LEAD, STORE_NO_ARGS, &lead) > 0 && lead)
                purge(d, now, days);
        else
                d->maint_more = false; /* another host of the fleet purges */
}

/* Ended sessions, mail counts, expired remembered devices and old events, and the sessions of hosts
 * gone for good: the fleet's, by one host. */
static void purge(struct daemon *d, int64_t now, unsigned days) {
        int r;
        do {
                txn_begin(&d->store);
                r = job_end(d, sessions_end_hosts_gone(&d->store, now));
        } while (r == 1);
        if (r < 0)
                log_warning("ending the sessions of hosts not seen for a day failed: %s", strerror(-r));
        txn_begin(&d->store);
        r = job_end(d, sessions_purge(&d->store, now, days));
        if (r < 0)
                log_warning("purging ended sessions older than %u days failed: %s", days, strerror(-r));
        txn_begin(&d->store);
        r = job_end(d, mailcap_purge(&d->store, now));
        if (r < 0)
                log_warning("purging the mail counts older than an hour failed: %s", strerror(-r));
        txn_begin(&d->store);
        r = job_end(d, relief_purge(&d->store, now));
        if (r < 0)
                log_warning("purging expired remembered devices failed: %s", strerror(-r));
        /* One batch of events per tick, so a large purge never holds up logins. */
        txn_begin(&d->store);
        r = job_end(d, eventlog_purge(&d->store, now, days));
        if (r < 0)
                log_warning("purging events older than %u days failed: %s", days, strerror(-r));
        d->maint_more = r == 1;
}

static void tick_done(void *userdata) {
        struct daemon *d = userdata;
        if (!d->maint_src)
                return;
        sd_event_source_set_time_relative(d->maint_src,
                                          d->maint_more ? MAINTENANCE_BATCH_GAP_USEC : MAINTENANCE_INTERVAL_USEC);
        sd_event_source_set_enabled(d->maint_src, SD_EVENT_ONESHOT);
}

static int on_tick(sd_event_source *src, uint64_t usec, void *userdata) {
        struct daemon *d = userdata;
        int r = worker_run(&d->worker, tick, tick_done, d);
        if (r < 0) {
                log_warning("maintenance skipped: %s", strerror(-r));
                d->maint_more = false;
                tick_done(d);
        }
        return 0;
}

/* What a fleet asks of this host (sessions to end), as a unit of work. */
static void end_requested(void *userdata) {
        struct daemon *d = userdata;
        d->wake_queued = false; /* a notification from now on queues another */
        txn_begin(&d->store);
        sessions_end_requested(d);
        (void) txn_end(&d->store, true);
}

void maintenance_wake(void *userdata) {
        struct daemon *d = userdata;
        if (d->wake_queued)
                return;
        d->wake_queued = true;
        if (worker_run(&d->worker, end_requested, NULL, d) < 0)
                d->wake_queued = false;
}

int maintenance_start(struct daemon *d) {
        return sd_event_add_time_relative(d->event, &d->maint_src, CLOCK_MONOTONIC, 0, 0, on_tick, d);
}

void maintenance_stop(struct daemon *d) {
        d->maint_src = sd_event_source_disable_unref(d->maint_src);
}
