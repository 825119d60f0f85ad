//! HTTP-level tests: the real router on port 0 against a fresh migrated database per test.
mod ai;
mod auth;
mod customers;
mod database;
mod examples;
mod faults;
mod health;
mod helpers;
mod limits;
mod local_ai;
mod pages;
mod pipeline;
mod pipeline_faults;
mod records;
mod roles;
mod stopping;
mod templates;
