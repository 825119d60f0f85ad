-- An annotated example may belong to one customer. The worker prefers a customer's own examples,
-- then its industry's, then any, so a draft does not borrow another business's copy.
alter table content_examples add column customer_id uuid;
alter table content_examples add constraint content_examples_customer_fk
  foreign key (tenant_id, customer_id) references customers (tenant_id, id) on delete set null (customer_id);
create index content_examples_customer_idx on content_examples (customer_id) where customer_id is not null;
