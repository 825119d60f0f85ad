//! Annotated examples under management: a filtered list, create and edit with the annotation
//! (why it is good or bad, what to copy or avoid), archive, promotion of a delivered draft,
//! embeddings made on save and kept current by a background job (an admin can ask for all of
//! them again, with progress), and "find similar" over the HNSW index.
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod embedder;
pub mod form;
pub mod import;
#[cfg(feature = "ssr")]
mod importer;
pub mod server_fns;
#[cfg(feature = "ssr")]
pub mod service;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Who writes examples (and imports them). QA reads and searches.
pub const EDITORS: [crate::domain::Role; 2] =
    [crate::domain::Role::Admin, crate::domain::Role::Manager];
pub const PAGE_SIZE: i64 = 25;
pub const POLARITIES: [&str; 2] = ["positive", "negative"];
/// Nearest examples "find similar" shows.
pub const SIMILAR_K: i64 = 10;
/// Longest text "find similar" embeds.
pub const MAX_QUERY_CHARS: usize = 2_000;
/// Characters of an example the list shows.
pub const EXCERPT_CHARS: i32 = 240;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExampleRow {
    pub id: Uuid,
    pub polarity: String,
    pub output_type: String,
    pub industry: String,
    pub purpose: String,
    pub customer: Option<String>,
    pub excerpt: String,
    pub annotation: String,
    /// The model that made its vector, if any.
    pub embedding_model: Option<String>,
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExampleFilter {
    pub polarity: Option<String>,
    pub output_type: Option<String>,
    pub industry: Option<String>,
    pub purpose: Option<String>,
    pub after: Option<Uuid>,
}

/// How far an admin's "embed everything again" has got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunProgress {
    pub requested_at: OffsetDateTime,
    pub total: i32,
    pub done: i64,
    pub finished_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
}

/// The workspace's examples and their vectors against the model in use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingStatus {
    pub model: String,
    pub total: i64,
    /// Embedded by `model` (and, during a run, since it started).
    pub current: i64,
    pub run: Option<RunProgress>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExamplesPage {
    pub rows: Vec<ExampleRow>,
    pub next_after: Option<Uuid>,
    pub industries: Vec<String>,
    pub can_edit: bool,
    pub can_reembed: bool,
    pub status: EmbeddingStatus,
}

/// The editor's data: the form, where the vector stands, and the customers to pick from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExampleDetail {
    pub form: form::ExampleForm,
    pub embedding_model: Option<String>,
    pub embedded_at: Option<OffsetDateTime>,
    /// The task whose delivered draft it was promoted from.
    pub from_task: Option<Uuid>,
    pub customers: Vec<crate::pipeline::model::CustomerOption>,
    pub can_edit: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExampleSaved {
    pub id: Uuid,
    /// The model that embedded it, or why it is not embedded yet (the background job retries).
    pub embedded_with: Option<String>,
    pub embed_error: Option<String>,
}

/// A neighbour found by "find similar": cosine distance, 0 the same direction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimilarExample {
    pub id: Uuid,
    pub polarity: String,
    pub output_type: String,
    pub industry: String,
    pub excerpt: String,
    pub distance: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimilarResult {
    pub model: String,
    pub found: Vec<SimilarExample>,
}

pub use crate::error::form_version as version_of;
