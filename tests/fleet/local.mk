# SPDX-License-Identifier: BSD-3-Clause
# The fleet tier: the PostgreSQL storage dialect against a private
# PostgreSQL cluster (tests/fleet/pgcluster.py).  The check program is built
# by `make check`; tests/fleet/test_*.py run it
# (scripts/test.sh, step "fleet") and skip without PostgreSQL's binaries.
# Included from the top-level Makefile.am.
EXTRA_DIST += tests/fleet/pgcluster.py tests/fleet/test_pg_catalogue.py tests/fleet/test_fleet.py \
	tests/fleet/test_import.py tests/fleet/test_roles.py

if HAVE_PQ
check_PROGRAMS += tests/fleet/pg_catalogue_check
tests_fleet_pg_catalogue_check_SOURCES = tests/fleet/pg_catalogue_check.c \
	daemon/storage/pgsql_sql.c daemon/storage/pgsql_sql.h
tests_fleet_pg_catalogue_check_CPPFLAGS = $(AM_CPPFLAGS) $(DAEMON_INCLUDES)
tests_fleet_pg_catalogue_check_CFLAGS = $(AM_CFLAGS) $(PQ_CFLAGS)
tests_fleet_pg_catalogue_check_LDADD = $(PQ_LIBS)
endif
