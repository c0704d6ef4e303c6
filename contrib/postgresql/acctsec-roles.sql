-- SPDX-License-Identifier: BSD-3-Clause
--
-- acctsec fleet mode (store = postgresql): the database and its roles, with
-- least privilege.  doc/fleet.md ("Setting up PostgreSQL") and
-- acctsec-fleet(7) explain each step.
--
-- Run with psql as a superuser, on the primary:
--
--   sudo -u postgres psql -v ON_ERROR_STOP=1 -f acctsec-roles.sql
--   sudo -u postgres psql -v ON_ERROR_STOP=1 -v host=web1 -f acctsec-roles.sql
--
-- Variables (psql -v NAME=VALUE):
--   db    the database (default: acctsec)
--   host  a host_id: also make that host's LOGIN role, acctsec_<host>
--
-- The roles:
--   acctsec_owner  NOLOGIN.  Owns the database, its public schema and every
--                  table, sequence and function in it.  Schema migrations
--                  (the first start of the fleet, upgrades) run as it.
--   acctsec_setup  LOGIN, NOINHERIT, a member of acctsec_owner: the one
--                  login that becomes the owner, with
--                  options=-crole=acctsec_owner in its connection string
--                  (without it, it may connect and do nothing else).
--                  Give it a password (\password acctsec_setup) or a
--                  certificate; ALTER ROLE acctsec_setup NOLOGIN between
--                  schema changes if you like.
--   acctsec_host   NOLOGIN, the group of the hosts: CONNECT on the database
--                  and, table by table, the SELECT, INSERT, UPDATE and
--                  DELETE that acctsecd's statements use; EXECUTE on the
--                  cap functions and the log's horizon.  No DDL, no
--                  TRUNCATE, no TEMPORARY.
--   acctsec_<host> LOGIN, IN ROLE acctsec_host: one per host of the fleet.
--
-- Idempotent: run it again (as above) once acctsecd has made the schema (the
-- tables exist then) and after every acctsec upgrade that changed it: each
-- table then gets exactly what the daemon needs.  Until then, tables made by
-- acctsec_owner get SELECT, INSERT, UPDATE, DELETE for acctsec_host (default
-- privileges), so that a host keeps working right after a migration.

\if :{?db}
\else
\set db acctsec
\endif

-- Roles (cluster-wide) ------------------------------------------------------
SELECT 'CREATE ROLE acctsec_owner NOLOGIN'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'acctsec_owner') \gexec
SELECT 'CREATE ROLE acctsec_host NOLOGIN'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'acctsec_host') \gexec
SELECT 'CREATE ROLE acctsec_setup LOGIN NOINHERIT'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'acctsec_setup') \gexec
SELECT 'GRANT acctsec_owner TO acctsec_setup'
 WHERE NOT pg_has_role('acctsec_setup', 'acctsec_owner', 'MEMBER') \gexec

\if :{?host}
SELECT format('CREATE ROLE %I LOGIN IN ROLE acctsec_host', 'acctsec_' || :'host')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'acctsec_' || :'host') \gexec
SELECT format('GRANT acctsec_host TO %I', 'acctsec_' || :'host')
 WHERE NOT pg_has_role('acctsec_' || :'host', 'acctsec_host', 'MEMBER') \gexec
\endif

-- The database ----------------------------------------------------------------
SELECT format('CREATE DATABASE %I OWNER acctsec_owner', :'db')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SELECT format('ALTER DATABASE %I OWNER TO acctsec_owner', :'db') \gexec
-- Nobody else connects; the hosts connect but make no temporary tables (the
-- owner may: acctsec fleet import stages each table in one).
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db') \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO acctsec_host, acctsec_setup', :'db') \gexec

\if :{?host}
-- Only a default for this role's own sessions (psql): acctsecd sets
-- acctsec.host_id itself on every connection, and any role may set it to
-- anything.  It pins nothing (doc/fleet.md).
SELECT format('ALTER ROLE %I IN DATABASE %I SET acctsec.host_id = %L', 'acctsec_' || :'host', :'db', :'host') \gexec
\endif

\connect :"db"

-- The schema acctsecd uses: public, the owner's alone to change.
ALTER SCHEMA public OWNER TO acctsec_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO acctsec_host;

-- What acctsec_owner makes later (the migrations): usable by the hosts.
ALTER DEFAULT PRIVILEGES FOR ROLE acctsec_owner IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO acctsec_host;
ALTER DEFAULT PRIVILEGES FOR ROLE acctsec_owner
  REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE acctsec_owner IN SCHEMA public
  GRANT EXECUTE ON FUNCTIONS TO acctsec_host;

-- Once the schema exists: each table exactly what acctsecd's statements
-- (daemon/storage/pgsql_sql.c, pgsql.c) need, nothing more.
SELECT to_regclass('public.acctsec_meta') IS NOT NULL AS acctsec_schema \gset
\if :acctsec_schema
-- the schema version and the fleet key's id: read; the id recorded by
-- the first host (INSERT ... ON CONFLICT DO NOTHING on every connection);
-- never changed or removed by a host
REVOKE ALL ON acctsec_meta FROM acctsec_host;
GRANT SELECT, INSERT ON acctsec_meta TO acctsec_host;
-- the security log: appended; purged (log_retention_days) and trimmed
-- (failures of unknown users); never rewritten
REVOKE ALL ON events FROM acctsec_host;
GRANT SELECT, INSERT, DELETE ON events TO acctsec_host;
REVOKE ALL ON lockout, mfa_totp, backup_codes, email_codes, mfa_required, tokens, sessions, known_sources,
  devices FROM acctsec_host;
GRANT SELECT, INSERT, UPDATE, DELETE
  ON lockout, mfa_totp, backup_codes, email_codes, mfa_required, tokens, sessions, known_sources, devices
  TO acctsec_host;
REVOKE ALL ON email, account, notify FROM acctsec_host;
GRANT SELECT, INSERT, UPDATE ON email, account, notify TO acctsec_host;
REVOKE ALL ON allowlist, password_history, mail_sent FROM acctsec_host;
GRANT SELECT, INSERT, DELETE ON allowlist, password_history, mail_sent TO acctsec_host;
-- phone numbers for texted codes (schema step 17): set, verified, removed
REVOKE ALL ON phone FROM acctsec_host;
GRANT SELECT, INSERT, UPDATE, DELETE ON phone TO acctsec_host;
-- the countries each user logged in from (schema step 18): added, and an
-- import (acctsecd --import-from) moves a first sighting earlier; never removed
REVOKE ALL ON known_countries FROM acctsec_host;
GRANT SELECT, INSERT, UPDATE ON known_countries TO acctsec_host;
-- each host's heartbeat (schema step 16): the sessions of a host gone for a day are ended
REVOKE ALL ON hosts FROM acctsec_host;
GRANT SELECT, INSERT, UPDATE ON hosts TO acctsec_host;
-- the identity columns' sequences need no grant of their own
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM acctsec_host;
-- the exact caps (tokens, allowlist entries, mails): counted after a lock
REVOKE ALL ON FUNCTION acctsec_token_count(text), acctsec_allowlist_count(text),
  acctsec_mail_count(text, bigint, bigint, bigint) FROM PUBLIC, acctsec_host;
GRANT EXECUTE ON FUNCTION acctsec_token_count(text), acctsec_allowlist_count(text),
  acctsec_mail_count(text, bigint, bigint, bigint) TO acctsec_host;
-- an export's horizon: waits under the log's lock (schema step 14)
REVOKE ALL ON FUNCTION acctsec_events_horizon() FROM PUBLIC, acctsec_host;
GRANT EXECUTE ON FUNCTION acctsec_events_horizon() TO acctsec_host;
-- the end of a fleet key rotation (step 15): runs with the owner's rights,
-- and records a new key id only once every TOTP secret is sealed with it
REVOKE ALL ON FUNCTION acctsec_set_fleet_key(text) FROM PUBLIC, acctsec_host;
GRANT EXECUTE ON FUNCTION acctsec_set_fleet_key(text) TO acctsec_host;
\endif
