//! The contacts feature: the searchable list and a contact's page, over the CRM records in
//! `crm`. The contact page leaves a place for the AI panel, which the root fills.
pub mod pages;
pub mod server_fns;
