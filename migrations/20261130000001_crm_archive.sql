-- CRM records are edited in the app (issue 12). Nothing with history is deleted: contacts and
-- deals are archived instead, which hides them from lists and from the AI's context while
-- keeping their activities, analyses and audit entries.
alter table contacts add column archived_at timestamptz;
alter table deals add column archived_at timestamptz;

-- The default contacts list shows only live contacts, by name.
create index contacts_live_name_idx on contacts (tenant_id, last_name, first_name, id)
  where archived_at is null;
