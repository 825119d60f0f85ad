//! The customers pages: the list, and a customer's page with the business context editor.
pub mod customer;
pub mod editor;
pub mod list;
