//! The contacts feature: the searchable list, a contact's page, and the forms that create and
//! edit contacts and their deals, log activities and archive, over the CRM records in `crm`.
//! The contact page leaves a place for the AI panel, which the root fills.
#[cfg(feature = "ssr")]
mod db;
pub mod form;
pub mod import;
#[cfg(feature = "ssr")]
mod importer;
pub mod pages;
pub mod records;
pub mod server_fns;
#[cfg(feature = "ssr")]
mod service;

use crate::{crm::ContactContext, domain::Role};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Who may add and edit contacts, deals and activities, and archive them. QA reads.
pub const EDITORS: [Role; 3] = [Role::Admin, Role::Manager, Role::Rep];

/// A contact's page: its context and what the reader may do with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactDetail {
    pub context: ContactContext,
    pub can_edit: bool,
}

/// A choice in the contact form's pickers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub id: Uuid,
    pub label: String,
}

/// What the contact form offers: the workspace's customers and the members who can own a
/// contact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactChoices {
    pub customers: Vec<Choice>,
    pub owners: Vec<Choice>,
    /// The reader, the default owner of a new contact.
    pub me: Uuid,
}

/// The answer to a save: what changed, for the note the form shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordSaved {
    pub id: Uuid,
    pub changed: Vec<String>,
}

pub use crate::error::form_version as version_of;
