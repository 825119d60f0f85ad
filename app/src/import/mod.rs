//! CSV import, shared by the features that import (contacts, examples): the limits, what a
//! preview and a report carry, the page's parts (upload, column mapping, report), and on the
//! server the parsing (`table`) and the upload's storage (`store`). A feature names its fields,
//! checks each row with its own form parser and writes the rows in one transaction.
#[cfg(feature = "ssr")]
pub mod store;
#[cfg(feature = "ssr")]
pub mod table;
mod view;

pub use view::{ImportSteps, Importer};

use serde::{Deserialize, Serialize};

/// Rows one import takes. A file with more is refused as a whole, saying how many it has.
pub const MAX_ROWS: usize = 10_000;
/// The largest file: 8 MiB (the request guard lets uploads this large through, and no more).
pub const MAX_FILE_BYTES: usize = 8 << 20;
/// Columns a file may have.
pub const MAX_COLUMNS: usize = 60;
/// Rows the preview shows.
pub const PREVIEW_ROWS: usize = 5;
/// Row errors a report lists; it counts the rest.
pub const MAX_REPORTED_ERRORS: usize = 200;
/// How long an upload waits to be imported.
pub const UPLOAD_TTL_MINUTES: i64 = 60;

/// What the limits are, in the words the upload form shows.
pub fn limits_text() -> String {
    format!(
        "A file may have up to {} rows and {} MiB. A larger one is refused as a whole: split it and import each part.",
        thousands(MAX_ROWS),
        MAX_FILE_BYTES >> 20
    )
}

/// 10000 → "10,000".
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One field an import fills, as the mapping step shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    pub key: String,
    pub label: String,
    pub required: bool,
    /// What the cells should hold.
    pub hint: String,
}

/// A feature's definition of one field: `aliases` are header names that map to it.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    pub key: &'static str,
    pub label: &'static str,
    pub required: bool,
    pub hint: &'static str,
    pub aliases: &'static [&'static str],
}

impl FieldSpec {
    pub fn field(&self) -> Field {
        Field {
            key: self.key.to_owned(),
            label: self.label.to_owned(),
            required: self.required,
            hint: self.hint.to_owned(),
        }
    }
}

/// An uploaded file, before it is imported: its header, its first rows and the column the
/// server suggests for each field (by header name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preview {
    pub upload: String,
    pub filename: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub total_rows: usize,
    pub fields: Vec<Field>,
    /// Per field (same order), the suggested column's index.
    pub suggested: Vec<Option<usize>>,
}

/// One bad row's problem. `row` counts the header as row 1, as a spreadsheet shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    pub row: usize,
    pub field: String,
    pub message: String,
}

/// What an import did: either every row imported, or none and the reasons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub imported: usize,
    /// The first `MAX_REPORTED_ERRORS` problems, by row.
    pub errors: Vec<RowError>,
    pub total_errors: usize,
    pub bad_rows: usize,
    pub total_rows: usize,
    /// What happens next (examples are embedded in the background).
    pub note: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_stated_with_their_numbers() {
        assert_eq!(thousands(10_000), "10,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert!(limits_text().contains("10,000 rows and 8 MiB"));
    }
}
