# Tier 3: PAM stacks through pam_wrapper with a real daemon.  In TESTS, so
# `make check` runs them (scripts/test.sh builds with TESTS= and runs them
# itself).  They need root, pam_wrapper and nss_wrapper, and exit 77 (a
# skip) without them; the harness finds acctsecd, the CLI, pam_acctsec.so
# and tests/tools/pam_login through ACCTSEC_BUILD_DIR.  They run one at a
# time even under make -j (the harness takes a lock: see harness.c).
if HAVE_PAMTEST
if HAVE_CMOCKA
PAM_TESTS = tests/pam/test_pam_lockout tests/pam/test_pam_concurrency tests/pam/test_pam_mfa tests/pam/test_pam_email \
	tests/pam/test_pam_account tests/pam/test_pam_password tests/pam/test_pam_tokens tests/pam/test_pam_session \
	tests/pam/test_pam_faults tests/pam/test_pam_hygiene tests/pam/test_pam_prompts tests/pam/test_pam_relief
check_PROGRAMS += $(PAM_TESTS)
TESTS += $(PAM_TESTS)
AM_TESTS_ENVIRONMENT += ACCTSEC_BUILD_DIR='$(abs_top_builddir)'; export ACCTSEC_BUILD_DIR;

# The harness (and TOTP enrolment) built once, linked by every program.
check_LTLIBRARIES = tests/pam/libpamharness.la
tests_pam_libpamharness_la_SOURCES = tests/pam/harness.c tests/pam/harness.h \
	tests/pam/totp_enrol.c tests/pam/totp_enrol.h
tests_pam_libpamharness_la_CFLAGS = $(AM_CFLAGS) $(NO_FORMAT_TRUNCATION) $(CMOCKA_CFLAGS) $(PAMTEST_CFLAGS) \
	$(SQLITE_CFLAGS) $(OATH_CFLAGS)
tests_pam_libpamharness_la_LIBADD = $(CMOCKA_LIBS) $(PAMTEST_LIBS) $(SQLITE_LIBS) $(OATH_LIBS) $(PAM_LIBS)

PAM_TEST_CFLAGS = $(AM_CFLAGS) $(NO_FORMAT_TRUNCATION) $(CMOCKA_CFLAGS) $(PAMTEST_CFLAGS)
PAM_TEST_LIBS = tests/pam/libpamharness.la $(CMOCKA_LIBS) $(PAMTEST_LIBS) $(PAM_LIBS)
tests_pam_test_pam_lockout_SOURCES = tests/pam/test_pam_lockout.c
tests_pam_test_pam_lockout_CFLAGS = $(PAM_TEST_CFLAGS)
tests_pam_test_pam_lockout_LDADD = $(PAM_TEST_LIBS)
tests_pam_test_pam_concurrency_SOURCES = tests/pam/test_pam_concurrency.c
tests_pam_test_pam_concurrency_CFLAGS = $(PAM_TEST_CFLAGS)
tests_pam_test_pam_concurrency_LDADD = $(PAM_TEST_LIBS)
tests_pam_test_pam_relief_SOURCES = tests/pam/test_pam_relief.c
tests_pam_test_pam_relief_CFLAGS = $(PAM_TEST_CFLAGS) $(OATH_CFLAGS)
tests_pam_test_pam_relief_LDADD = $(PAM_TEST_LIBS) $(OATH_LIBS)
tests_pam_test_pam_mfa_SOURCES = tests/pam/test_pam_mfa.c
tests_pam_test_pam_mfa_CFLAGS = $(PAM_TEST_CFLAGS) $(OATH_CFLAGS)
tests_pam_test_pam_mfa_LDADD = $(PAM_TEST_LIBS) $(OATH_LIBS)
tests_pam_test_pam_account_SOURCES = tests/pam/test_pam_account.c
tests_pam_test_pam_account_CFLAGS = $(PAM_TEST_CFLAGS)
tests_pam_test_pam_account_LDADD = $(PAM_TEST_LIBS)
tests_pam_test_pam_password_SOURCES = tests/pam/test_pam_password.c
tests_pam_test_pam_password_CFLAGS = $(PAM_TEST_CFLAGS)
tests_pam_test_pam_password_LDADD = $(PAM_TEST_LIBS)
tests_pam_test_pam_tokens_SOURCES = tests/pam/test_pam_tokens.c
tests_pam_test_pam_tokens_CFLAGS = $(PAM_TEST_CFLAGS)
tests_pam_test_pam_tokens_LDADD = $(PAM_TEST_LIBS)
tests_pam_test_pam_session_SOURCES = tests/pam/test_pam_session.c
tests_pam_test_pam_session_CFLAGS = $(PAM_TEST_CFLAGS)
tests_pam_test_pam_session_LDADD = $(PAM_TEST_LIBS)
tests_pam_test_pam_email_SOURCES = tests/pam/test_pam_email.c
tests_pam_test_pam_email_CFLAGS = $(PAM_TEST_CFLAGS)
tests_pam_test_pam_email_LDADD = $(PAM_TEST_LIBS)
tests_pam_test_pam_faults_SOURCES = tests/pam/test_pam_faults.c
tests_pam_test_pam_faults_CFLAGS = $(PAM_TEST_CFLAGS)
tests_pam_test_pam_faults_LDADD = $(PAM_TEST_LIBS)
tests_pam_test_pam_prompts_SOURCES = tests/pam/test_pam_prompts.c
tests_pam_test_pam_prompts_CFLAGS = $(PAM_TEST_CFLAGS) $(OATH_CFLAGS)
tests_pam_test_pam_prompts_LDADD = $(PAM_TEST_LIBS) $(OATH_LIBS)
tests_pam_test_pam_hygiene_SOURCES = tests/pam/test_pam_hygiene.c
tests_pam_test_pam_hygiene_CFLAGS = $(PAM_TEST_CFLAGS)
tests_pam_test_pam_hygiene_LDADD = $(PAM_TEST_LIBS)
endif
endif
