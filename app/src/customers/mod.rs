//! Feature: the customers we write for. A searchable list, and a customer's page with its
//! business context editor (what every analysis and draft is written from), its projects,
//! tasks and delivered content. Managers and admins edit; QA reads.
#[cfg(feature = "ssr")]
pub mod db;
pub mod form;
pub mod pages;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod service;

use crate::crm::Customer;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

pub const PAGE_SIZE: i64 = 25;
/// Tasks and delivered pieces shown on a customer's page (newest first).
pub const RECENT_ROWS: i64 = 20;

/// One row of the customers list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerRow {
    pub id: Uuid,
    pub name: String,
    pub industry: String,
    pub contacts: i64,
    pub open_tasks: i64,
    pub is_vip: bool,
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomersPage {
    pub rows: Vec<CustomerRow>,
    /// The cursor for the next page, when there is one.
    pub next_after: Option<Uuid>,
    /// Every industry in the workspace, for the filter.
    pub industries: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectRow {
    pub id: Uuid,
    pub name: String,
    pub tasks: i64,
    pub open_tasks: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRow {
    pub id: Uuid,
    pub title: String,
    pub project: String,
    pub state: String,
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveredRow {
    pub task_id: Uuid,
    pub title: String,
    /// The delivered text (a reviewer's edit when there was one), clipped for the list.
    pub excerpt: String,
    pub delivered_at: OffsetDateTime,
}

/// A customer's page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerDetail {
    pub customer: Customer,
    pub projects: Vec<ProjectRow>,
    pub tasks: Vec<TaskRow>,
    pub delivered: Vec<DeliveredRow>,
    /// Whether the viewer may edit the business context.
    pub can_edit: bool,
}

/// What a save did: the fields it changed (none when nothing did) and the customer's new
/// version, which the form sends with its next save.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    pub changed: Vec<String>,
    pub version: String,
}

/// The version a form was opened at: the customer's `updated_at` in nanoseconds. A save made
/// against an older version is refused instead of overwriting someone else's change.
pub fn version_of(customer: &Customer) -> String {
    crate::error::form_version(customer.updated_at)
}
