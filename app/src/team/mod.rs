//! The team page: who belongs to the workspace and with which role (admins only).
pub mod components;
#[cfg(feature = "ssr")]
pub mod db;
pub mod server_fns;

use crate::domain::Role;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub user_id: Uuid,
    pub display_name: String,
    pub email: String,
    pub role: Role,
    pub joined_at: OffsetDateTime,
}
