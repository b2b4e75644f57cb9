-- The tally database's privileges, part 1 (docs/operations.md "PostgreSQL"). Run once as a superuser in the
-- new database, after
--   createuser tally_owner; createuser tally_server
--   createdb -O tally_owner -E UTF8 -T template0 tally
-- with: psql -v ON_ERROR_STOP=1 -d tally -f roles.sql
-- tally_owner owns the database and its schema: tally-admin runs as it (init, migrate, units, devices, viewers,
-- targets). tally_server is what tally-server connects as: it reads everything and writes only what ingest and
-- the dashboard write (grants.sql); it cannot create, alter, drop or truncate anything.
DO $$
BEGIN
  EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO tally_server', current_database());
END $$;
-- PostgreSQL 15 already gives PUBLIC no CREATE on schema public; nor anything else, here.
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO tally_server;
-- Tables a later tally-admin migration adds are readable by the server at once; writes stay explicit (grants.sql).
ALTER DEFAULT PRIVILEGES FOR ROLE tally_owner IN SCHEMA public GRANT SELECT ON TABLES TO tally_server;
