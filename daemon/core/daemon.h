/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <stdbool.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "child.h"
#include "keyfile.h"
#include "mfa.h"
#include "policy.h"
#include "proto.h"
#include "store.h"
#include "worker.h"

struct server;
struct pending_reply;

struct daemon {
        struct store store;
        struct policy policy;
        uint8_t key[KEYFILE_KEY_SIZE]; /* master key: seals TOTP secrets */
        char key_id[KEYFILE_ID_SIZE];  /* store = postgresql: the fleet key's id */
        uint8_t prev_key[KEYFILE_KEY_SIZE]; /* fleet_key_previous (a rotation), if set */
        char prev_key_id[KEYFILE_ID_SIZE];  /* its id, "" when none */
        struct mfa mfa;
        struct server *srv;
        sd_event *event;
        struct child_pool pwpool; /* argon2id children (pwhistory.h) */
        sd_event_source *maint_src; /* maintenance.h */
        bool maint_more;            /* the last tick left a batch to purge */
        bool wake_queued;           /* maintenance_wake's unit waits for its turn */
        struct worker worker;       /* the store's work, one unit at a time */
        struct store_options store_options;
};

/* A handler that answers later returns HANDLE_DEFERRED after server_defer()
 * gave it a pending reply, and then calls server_reply() exactly once (from
 * the event loop), whether or not the client is still there. */
#define HANDLE_DEFERRED 1
struct pending_reply *server_defer(struct server *s);
void server_reply(struct pending_reply *p, struct acctsec_frame *f);

/* Handle one request from a peer known by SO_PEERCRED; always fills reply
 * (OK or ERROR).  Returns 0, or <0 when the connection should close. */
int handle_request(struct daemon *d, const struct ucred *peer, const struct acctsec_msg *req,
                   struct acctsec_frame *reply);
