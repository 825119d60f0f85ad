-- Sign-in throttling by key: one row per (email, client address) pair and one per client
-- address. Every attempt is counted before its password is checked, in one statement, so a
-- parallel burst cannot get more checks than the limit. See README "Sign-in throttling".
create table sign_in_attempts (
  key text primary key,
  attempts integer not null,
  -- the limit this key had when last counted (pairs and addresses have different limits)
  max_attempts integer not null,
  window_started_at timestamptz not null default now(),
  locked_until timestamptz
);
create index sign_in_attempts_window_idx on sign_in_attempts (window_started_at);

grant select, insert, update, delete on sign_in_attempts to smartcrm_app;

drop table sign_in_throttle;
