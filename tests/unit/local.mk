# SPDX-License-Identifier: BSD-3-Clause
# cmocka unit tests for common/ and daemon/ (these link libacctsecd.la, which
# brings libacctsec_common.la and the daemon's libraries); included from the
# top-level Makefile.am.
# Paths are relative to the top directory (non-recursive, subdir-objects).

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_conf tests/unit/test_proto
TESTS += tests/unit/test_conf tests/unit/test_proto

tests_unit_test_conf_SOURCES = tests/unit/test_conf.c tests/unit/unit.h tests/unit/tmp_dir.h
tests_unit_test_conf_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_conf_LDADD = libacctsec_common.la $(CMOCKA_LIBS)

tests_unit_test_proto_SOURCES = tests/unit/test_proto.c tests/unit/unit.h
tests_unit_test_proto_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_proto_LDADD = libacctsec_common.la $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test_pwpolicy
TESTS += tests/unit/test_pwpolicy
tests_unit_test_pwpolicy_SOURCES = tests/unit/test_pwpolicy.c tests/unit/unit.h tests/unit/tmp_dir.h
tests_unit_test_pwpolicy_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_pwpolicy_LDADD = libacctsec_common.la $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test_totp
TESTS += tests/unit/test_totp
tests_unit_test_totp_SOURCES = tests/unit/test_totp.c tests/unit/unit.h
tests_unit_test_totp_CPPFLAGS = $(AM_CPPFLAGS) $(DAEMON_INCLUDES)
tests_unit_test_totp_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(OATH_CFLAGS) $(SODIUM_CFLAGS)
tests_unit_test_totp_LDADD = libacctsecd.la $(CMOCKA_LIBS) $(OATH_LIBS) $(SODIUM_LIBS)

check_PROGRAMS += tests/unit/test_mail
TESTS += tests/unit/test_mail
tests_unit_test_mail_SOURCES = tests/unit/test_mail.c tests/unit/unit.h tests/unit/tmp_dir.h
tests_unit_test_mail_CPPFLAGS = $(AM_CPPFLAGS) $(DAEMON_INCLUDES)
tests_unit_test_mail_CFLAGS = $(AM_CFLAGS) $(NO_FORMAT_TRUNCATION) $(CMOCKA_CFLAGS) $(SODIUM_CFLAGS) $(CURL_CFLAGS)
tests_unit_test_mail_LDADD = libacctsecd.la $(CMOCKA_LIBS) $(SODIUM_LIBS)

check_PROGRAMS += tests/unit/test_email
TESTS += tests/unit/test_email
tests_unit_test_email_SOURCES = tests/unit/test_email.c tests/unit/unit.h tests/unit/store_fixture.h
tests_unit_test_email_CPPFLAGS = $(AM_CPPFLAGS) $(DAEMON_INCLUDES)
tests_unit_test_email_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(SODIUM_CFLAGS) $(SQLITE_CFLAGS)
tests_unit_test_email_LDADD = libacctsecd.la $(CMOCKA_LIBS) $(SODIUM_LIBS) $(SQLITE_LIBS)

check_PROGRAMS += tests/unit/test_token tests/unit/test_cidr
TESTS += tests/unit/test_token tests/unit/test_cidr
tests_unit_test_token_SOURCES = tests/unit/test_token.c tests/unit/unit.h
tests_unit_test_token_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_token_LDADD = libacctsec_common.la $(CMOCKA_LIBS)
tests_unit_test_cidr_SOURCES = tests/unit/test_cidr.c tests/unit/unit.h
tests_unit_test_cidr_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_cidr_LDADD = libacctsec_common.la $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test_export
TESTS += tests/unit/test_export
tests_unit_test_export_SOURCES = tests/unit/test_export.c cli/export_format.c tests/unit/unit.h
tests_unit_test_export_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/cli
tests_unit_test_export_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_export_LDADD = $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test_eventlog
TESTS += tests/unit/test_eventlog
tests_unit_test_eventlog_SOURCES = tests/unit/test_eventlog.c tests/unit/unit.h tests/unit/store_fixture.h
tests_unit_test_eventlog_CPPFLAGS = $(AM_CPPFLAGS) $(DAEMON_INCLUDES)
tests_unit_test_eventlog_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(SQLITE_CFLAGS)
tests_unit_test_eventlog_LDADD = libacctsecd.la $(CMOCKA_LIBS) $(SQLITE_LIBS)

check_PROGRAMS += tests/unit/test_sms
TESTS += tests/unit/test_sms
tests_unit_test_sms_SOURCES = tests/unit/test_sms.c tests/unit/unit.h tests/unit/tmp_dir.h
tests_unit_test_sms_CPPFLAGS = $(AM_CPPFLAGS) $(DAEMON_INCLUDES)
tests_unit_test_sms_CFLAGS = $(AM_CFLAGS) $(NO_FORMAT_TRUNCATION) $(CMOCKA_CFLAGS)
tests_unit_test_sms_LDADD = libacctsecd.la $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test_mailcap
TESTS += tests/unit/test_mailcap
tests_unit_test_mailcap_SOURCES = tests/unit/test_mailcap.c tests/unit/unit.h tests/unit/store_fixture.h
tests_unit_test_mailcap_CPPFLAGS = $(AM_CPPFLAGS) $(DAEMON_INCLUDES)
tests_unit_test_mailcap_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(SQLITE_CFLAGS)
tests_unit_test_mailcap_LDADD = libacctsecd.la $(CMOCKA_LIBS) $(SQLITE_LIBS)

check_PROGRAMS += tests/unit/test_store
TESTS += tests/unit/test_store
tests_unit_test_store_SOURCES = tests/unit/test_store.c tests/unit/unit.h tests/unit/store_fixture.h
tests_unit_test_store_CPPFLAGS = $(AM_CPPFLAGS) $(DAEMON_INCLUDES)
tests_unit_test_store_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(SQLITE_CFLAGS)
tests_unit_test_store_LDADD = libacctsecd.la $(CMOCKA_LIBS) $(SQLITE_LIBS)

# The request table against doc/protocol.md and the integration tests.
check_PROGRAMS += tests/unit/test_requests
TESTS += tests/unit/test_requests
tests_unit_test_requests_SOURCES = tests/unit/test_requests.c tests/unit/unit.h
tests_unit_test_requests_CPPFLAGS = $(AM_CPPFLAGS) $(DAEMON_INCLUDES) -DTOP_SRCDIR='"$(abs_top_srcdir)"'
tests_unit_test_requests_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(SYSTEMD_CFLAGS)
tests_unit_test_requests_LDADD = libacctsecd.la $(CMOCKA_LIBS)
endif

# The location database wrapper, on a .mmdb the test writes (make_mmdb.pl).
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_geoip
TESTS += tests/unit/test_geoip
tests_unit_test_geoip_SOURCES = tests/unit/test_geoip.c tests/unit/unit.h tests/unit/tmp_dir.h
tests_unit_test_geoip_CPPFLAGS = $(AM_CPPFLAGS) $(DAEMON_INCLUDES) -DTOP_SRCDIR='"$(abs_top_srcdir)"'
tests_unit_test_geoip_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(MAXMINDDB_CFLAGS)
tests_unit_test_geoip_LDADD = libacctsecd.la $(CMOCKA_LIBS) $(MAXMINDDB_LIBS)
endif

# Domain tests on a real store (issue 16): mfa, allowlist, lockout.
if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_mfa tests/unit/test_allowlist tests/unit/test_lockout
TESTS += tests/unit/test_mfa tests/unit/test_allowlist tests/unit/test_lockout
tests_unit_test_mfa_SOURCES = tests/unit/test_mfa.c tests/unit/unit.h tests/unit/store_fixture.h
tests_unit_test_mfa_CPPFLAGS = $(AM_CPPFLAGS) $(DAEMON_INCLUDES)
tests_unit_test_mfa_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(SODIUM_CFLAGS) $(OATH_CFLAGS) $(SQLITE_CFLAGS)
tests_unit_test_mfa_LDADD = libacctsecd.la $(CMOCKA_LIBS) $(SODIUM_LIBS) $(OATH_LIBS) $(SQLITE_LIBS)
tests_unit_test_allowlist_SOURCES = tests/unit/test_allowlist.c tests/unit/unit.h tests/unit/store_fixture.h
tests_unit_test_allowlist_CPPFLAGS = $(AM_CPPFLAGS) $(DAEMON_INCLUDES)
tests_unit_test_allowlist_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(SQLITE_CFLAGS)
tests_unit_test_allowlist_LDADD = libacctsecd.la $(CMOCKA_LIBS) $(SQLITE_LIBS)
tests_unit_test_lockout_SOURCES = tests/unit/test_lockout.c tests/unit/unit.h tests/unit/store_fixture.h
tests_unit_test_lockout_CPPFLAGS = $(AM_CPPFLAGS) $(DAEMON_INCLUDES)
tests_unit_test_lockout_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(SQLITE_CFLAGS)
tests_unit_test_lockout_LDADD = libacctsecd.la $(CMOCKA_LIBS) $(SQLITE_LIBS)
endif

# libFuzzer targets: built and run by tests/fuzz/run.sh (clang), not by make.
EXTRA_DIST += \
	tests/fuzz/run.sh \
	tests/fuzz/fuzz_conf.c \
	tests/fuzz/fuzz_proto.c \
	tests/fuzz/fuzz_pwpolicy.c \
	tests/fuzz/fuzz_token.c \
	tests/fuzz/fuzz_cidr.c \
	tests/fuzz/fuzz_export.c \
	tests/fuzz/fuzz_pamconf.c \
	tests/fuzz/fuzz_pam.c \
	tests/fuzz/fuzz_pam_inject.h \
	tests/fuzz/fuzz_pam_shim.c \
	tests/fuzz/pam_seeds.py \
	tests/fuzz/corpus

if HAVE_CMOCKA
check_PROGRAMS += tests/unit/test_tokens tests/unit/test_sessions
TESTS += tests/unit/test_tokens tests/unit/test_sessions
tests_unit_test_tokens_SOURCES = tests/unit/test_tokens.c tests/unit/unit.h tests/unit/store_fixture.h
tests_unit_test_tokens_CPPFLAGS = $(AM_CPPFLAGS) $(DAEMON_INCLUDES)
tests_unit_test_tokens_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(SODIUM_CFLAGS) $(SQLITE_CFLAGS)
tests_unit_test_tokens_LDADD = libacctsecd.la $(CMOCKA_LIBS) $(SODIUM_LIBS) $(SQLITE_LIBS)
tests_unit_test_sessions_SOURCES = tests/unit/test_sessions.c tests/unit/unit.h tests/unit/store_fixture.h
tests_unit_test_sessions_CPPFLAGS = $(AM_CPPFLAGS) $(DAEMON_INCLUDES)
tests_unit_test_sessions_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(SQLITE_CFLAGS)
tests_unit_test_sessions_LDADD = libacctsecd.la $(CMOCKA_LIBS) $(SQLITE_LIBS)

check_PROGRAMS += tests/unit/test_relief
TESTS += tests/unit/test_relief
tests_unit_test_relief_SOURCES = tests/unit/test_relief.c tests/unit/unit.h tests/unit/store_fixture.h
tests_unit_test_relief_CPPFLAGS = $(AM_CPPFLAGS) $(DAEMON_INCLUDES)
tests_unit_test_relief_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(SQLITE_CFLAGS) $(SYSTEMD_CFLAGS)
tests_unit_test_relief_LDADD = libacctsecd.la $(CMOCKA_LIBS) $(SQLITE_LIBS)

check_PROGRAMS += tests/unit/test_notify
TESTS += tests/unit/test_notify
tests_unit_test_notify_SOURCES = tests/unit/test_notify.c tests/unit/unit.h tests/unit/store_fixture.h
tests_unit_test_notify_CPPFLAGS = $(AM_CPPFLAGS) $(DAEMON_INCLUDES)
tests_unit_test_notify_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(SQLITE_CFLAGS) $(SYSTEMD_CFLAGS)
tests_unit_test_notify_LDADD = libacctsecd.la $(CMOCKA_LIBS) $(SQLITE_LIBS)
endif
