//! HTTP-level tests: the real router on port 0 against a fresh migrated database per test.
mod ai;
mod auth;
mod health;
mod local_ai;
mod helpers;
mod pages;
mod roles;
