-- The tally database's privileges, part 2 (docs/operations.md "PostgreSQL"). Run as tally_owner after
-- `tally-admin … init` made the schema, and again after every upgrade of tally-server:
--   psql -v ON_ERROR_STOP=1 'postgresql://tally_owner@/tally?host=/run/postgresql' -f grants.sql
-- What tally-server writes, and nothing more: ingest (ratings, roll-ups, receipts, the device's counters), the
-- writer's health probe, and the dashboard's sessions, sign-in failures and audit trail. No DELETE on ratings,
-- no TRUNCATE, no DDL: the server's role cannot lose what kiosks sent.
GRANT SELECT ON ALL TABLES IN SCHEMA public TO tally_server;
GRANT INSERT, UPDATE (body, batch) ON ratings TO tally_server;
GRANT INSERT, UPDATE ON daily, monthly, reasons_daily, reasons_monthly, hours_daily, hours_monthly, health
  TO tally_server;
-- A rating's cell moves when a newer copy gains answers; an emptied cell is removed.
GRANT INSERT, UPDATE, DELETE ON daily_sat, monthly_sat TO tally_server;
GRANT INSERT ON receipts, audit TO tally_server;
GRANT UPDATE (last_seen, last_skew_s, received, max_seq, quarantined) ON devices TO tally_server;
GRANT INSERT, UPDATE, DELETE ON sessions, login_failures TO tally_server;
