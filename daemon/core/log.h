/* SPDX-License-Identifier: BSD-3-Clause */
#pragma once

#include <stdbool.h>
#include <syslog.h>

#include "macro.h"

/* Operational logging: to the journal when running under systemd (or when
 * stderr is the journal), otherwise one line per message on stderr. */
void log_setup(bool force_stderr);
bool log_to_journal(void);
void log_msg(int priority, const char *fmt, ...) _printf_(2, 3);

#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
