//! Reading a CSV file (BurntSushi's `csv`: quoted cells, line breaks inside cells) into a
//! header and rows, within the limits; the column suggested for each field; the user's mapping
//! checked; and the problems of bad rows gathered into a report.
use super::{
    thousands, FieldSpec, Preview, Report, RowError, MAX_COLUMNS, MAX_REPORTED_ERRORS, MAX_ROWS,
    PREVIEW_ROWS,
};
use crate::error::{AppError, FieldError};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use uuid::Uuid;

/// A parsed file: trimmed header names and the rows with their spreadsheet row numbers (the
/// header is row 1). Rows whose every cell is blank are left out.
#[derive(Debug)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<(usize, csv::StringRecord)>,
}

fn refuse(message: impl Into<String>) -> AppError {
    AppError::validation("file", message)
}

/// The separator: the one of `,` `;` tab seen most in the header line (Excel writes `;` in
/// some locales), comma on a tie.
fn delimiter(text: &str) -> u8 {
    let first = text.lines().next().unwrap_or_default();
    let count = |c: char| first.matches(c).count();
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| (count(char::from(*d)), *d == b','))
        .unwrap_or(b',')
}

/// Parses `bytes` as a CSV file with a header row.
pub fn parse(bytes: &[u8]) -> Result<Table, AppError> {
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(refuse(
            "This is a spreadsheet workbook, not a CSV file. Save it as CSV (File → Save as → CSV UTF-8) and upload that.",
        ));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count() + 1;
        refuse(format!(
            "The file is not UTF-8 text (line {line}). Save it as \"CSV UTF-8\" and upload it again."
        ))
    })?;
    if text.trim().is_empty() {
        return Err(refuse("The file is empty."));
    }
    if let Some(at) = text.find('\0') {
        let line = text[..at].matches('\n').count() + 1;
        return Err(refuse(format!(
            "The file has a NUL character on line {line}; it does not look like a CSV file."
        )));
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter(text))
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| refuse(format!("The header row could not be read: {e}")))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    check_headers(&headers)?;
    let mut rows = Vec::new();
    let mut count = 0usize;
    for (i, record) in reader.records().enumerate() {
        let row = i + 2;
        let record = record.map_err(|e| match e.kind() {
            csv::ErrorKind::UnequalLengths { len, .. } => refuse(format!(
                "Row {row} has {len} cells where the header has {}. Check that row for an unquoted separator.",
                headers.len()
            )),
            _ => refuse(format!("Row {row} could not be read: {e}")),
        })?;
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        count += 1;
        if count <= MAX_ROWS {
            rows.push((row, record));
        }
    }
    if count > MAX_ROWS {
        return Err(refuse(format!(
            "This file has {} rows; an import takes at most {}. Split it into files of {} rows or fewer and import each one.",
            thousands(count),
            thousands(MAX_ROWS),
            thousands(MAX_ROWS)
        )));
    }
    if rows.is_empty() {
        return Err(refuse("The file has a header row but no rows to import."));
    }
    Ok(Table { headers, rows })
}

fn check_headers(headers: &[String]) -> Result<(), AppError> {
    if headers.len() > MAX_COLUMNS {
        return Err(refuse(format!(
            "The file has {} columns; an import reads at most {MAX_COLUMNS}. Remove the columns you do not import.",
            headers.len()
        )));
    }
    if let Some(i) = headers.iter().position(|h| h.is_empty()) {
        return Err(refuse(format!(
            "Column {} has no name in the header row. The first row must name every column.",
            i + 1
        )));
    }
    for (i, h) in headers.iter().enumerate() {
        if h.chars().count() > 200 {
            return Err(refuse(format!(
                "Column {}'s name is over 200 characters; is the first row a header?",
                i + 1
            )));
        }
        if headers[..i].iter().any(|o| o.eq_ignore_ascii_case(h)) {
            return Err(refuse(format!(
                "Two columns are named \"{h}\". Name each column once."
            )));
        }
    }
    Ok(())
}

fn normal(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Per field, the first column whose name matches its key, label or an alias (ignoring case,
/// spaces and punctuation), each column used once.
pub fn suggest(headers: &[String], specs: &[FieldSpec]) -> Vec<Option<usize>> {
    let names: Vec<String> = headers.iter().map(|h| normal(h)).collect();
    let mut used = vec![false; headers.len()];
    specs
        .iter()
        .map(|spec| {
            let wanted: Vec<String> = [spec.key, spec.label]
                .iter()
                .chain(spec.aliases)
                .map(|n| normal(n))
                .collect();
            let found = names
                .iter()
                .enumerate()
                .position(|(i, n)| !used[i] && wanted.contains(n))?;
            used[found] = true;
            Some(found)
        })
        .collect()
}

/// The preview of an upload.
pub fn preview(upload: String, filename: String, table: &Table, specs: &[FieldSpec]) -> Preview {
    Preview {
        upload,
        filename,
        suggested: suggest(&table.headers, specs),
        headers: table.headers.clone(),
        rows: table
            .rows
            .iter()
            .take(PREVIEW_ROWS)
            .map(|(_, r)| r.iter().map(|c| clip(c, 120)).collect())
            .collect(),
        total_rows: table.rows.len(),
        fields: specs.iter().map(FieldSpec::field).collect(),
    }
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        s.chars().take(max).chain(std::iter::once('…')).collect()
    }
}

/// The user's mapping (field key → column index as text, "" for "not imported") checked
/// against the fields and the file: per field, its column.
pub fn mapping(
    columns: &BTreeMap<String, String>,
    specs: &[FieldSpec],
    headers: &[String],
) -> Result<Vec<Option<usize>>, AppError> {
    if columns.len() > specs.len() {
        return Err(AppError::validation(
            "",
            "The mapping names unknown fields.",
        ));
    }
    if let Some(key) = columns.keys().find(|k| !specs.iter().any(|s| s.key == *k)) {
        return Err(AppError::validation(
            "",
            format!("The mapping names an unknown field, \"{}\".", clip(key, 40)),
        ));
    }
    let mut errors = Vec::new();
    let mut chosen: Vec<Option<usize>> = Vec::with_capacity(specs.len());
    for spec in specs {
        let column = match columns.get(spec.key).map(|v| v.trim()).unwrap_or_default() {
            "" => None,
            raw => match raw.parse::<usize>() {
                Ok(c) if c < headers.len() => Some(c),
                _ => {
                    errors.push(FieldError::new(spec.key, "Choose a column from the file."));
                    None
                }
            },
        };
        if spec.required && column.is_none() && !errors.iter().any(|e| e.field == spec.key) {
            errors.push(FieldError::new(
                spec.key,
                format!(
                    "Choose the column that holds the {}.",
                    spec.label.to_lowercase()
                ),
            ));
        }
        if let Some(c) = column {
            if let Some(other) = chosen.iter().position(|o| *o == Some(c)) {
                errors.push(FieldError::new(
                    spec.key,
                    format!(
                        "The column \"{}\" is already chosen for {}.",
                        headers[c], specs[other].label
                    ),
                ));
            }
        }
        chosen.push(column);
    }
    FieldError::all(errors)?;
    Ok(chosen)
}

/// A row's reference to a record by name, any case (`names` by lower-cased name): none for an
/// empty cell, the record when exactly one has the name, or why not.
pub fn by_name(
    names: &HashMap<String, Vec<Uuid>>,
    name: &str,
    what: &str,
) -> Result<Option<Uuid>, String> {
    match names.get(&name.to_lowercase()).map(Vec::as_slice) {
        _ if name.is_empty() => Ok(None),
        Some([one]) => Ok(Some(*one)),
        Some(_) => Err(format!(
            "More than one {what} is named \"{name}\"; rename one so each name says which."
        )),
        None => Err(format!(
            "No {what} is named \"{name}\" in this workspace. Correct the name, or add the {what} first."
        )),
    }
}

/// A row's cell for a field, trimmed; empty when the field is not mapped.
pub fn cell(record: &csv::StringRecord, column: Option<usize>) -> &str {
    column
        .and_then(|c| record.get(c))
        .map(str::trim)
        .unwrap_or_default()
}

/// The bad rows' problems, as a report lists them.
#[derive(Debug, Default)]
pub struct Problems {
    errors: Vec<RowError>,
    total: usize,
    rows: BTreeSet<usize>,
}

impl Problems {
    pub fn add(&mut self, row: usize, field: &str, message: impl Into<String>) {
        self.total += 1;
        self.rows.insert(row);
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(RowError {
                row,
                field: field.to_owned(),
                message: message.into(),
            });
        }
    }

    /// Adds a form parser's field errors for `row`, naming each field by its label.
    pub fn add_fields(&mut self, row: usize, specs: &[FieldSpec], errors: Vec<FieldError>) {
        for e in errors {
            let label = specs
                .iter()
                .find(|s| s.key == e.field)
                .map_or(e.field.as_str(), |s| s.label);
            let label = label.to_owned();
            self.add(row, &label, e.message);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The report of an import refused for these problems: nothing was imported.
    pub fn report(mut self, total_rows: usize) -> Report {
        self.errors.sort_by_key(|e| e.row);
        Report {
            imported: 0,
            total_errors: self.total,
            bad_rows: self.rows.len(),
            total_rows,
            errors: self.errors,
            note: "Nothing was imported. Fix these rows in the file and upload it again.".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: [FieldSpec; 3] = [
        FieldSpec {
            key: "first_name",
            label: "First name",
            required: true,
            hint: "",
            aliases: &["given name"],
        },
        FieldSpec {
            key: "email",
            label: "Email",
            required: false,
            hint: "",
            aliases: &["e-mail", "email address"],
        },
        FieldSpec {
            key: "company",
            label: "Company",
            required: true,
            hint: "",
            aliases: &["account"],
        },
    ];

    fn message(err: AppError) -> String {
        err.to_string()
    }

    #[test]
    fn quoted_cells_a_bom_and_blank_rows_are_read() {
        let t = parse(
            b"\xEF\xBB\xBFName,Notes\r\nAda,\"Line one\nline two, with a comma\"\r\n,\r\nBob,x\r\n",
        )
        .expect("parses");
        assert_eq!(t.headers, ["Name", "Notes"]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0].1.get(1), Some("Line one\nline two, with a comma"));
        // The blank row is left out but still counted: Bob is the fourth row.
        assert_eq!(t.rows[1].0, 4);
    }

    #[test]
    fn semicolons_are_recognised() {
        let t = parse(b"a;b\n1;2\n").expect("parses");
        assert_eq!(t.headers, ["a", "b"]);
        assert_eq!(t.rows[0].1.get(1), Some("2"));
    }

    #[test]
    fn a_ragged_row_is_named_by_its_number() {
        let err = message(parse(b"a,b\n1,2\n1,2,3\n").expect_err("ragged"));
        assert!(
            err.contains("Row 3 has 3 cells where the header has 2"),
            "{err}"
        );
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        assert!(message(parse(b"").expect_err("empty")).contains("empty"));
        assert!(message(parse(b"a,b\n").expect_err("no rows")).contains("no rows"));
        assert!(
            message(parse(b"a,b\n\xff,1\n").expect_err("latin1")).contains("UTF-8 text (line 2)")
        );
        assert!(message(parse(b"PK\x03\x04....").expect_err("xlsx")).contains("workbook"));
        assert!(message(parse(b"a,\n1,2\n").expect_err("unnamed")).contains("Column 2 has no name"));
        assert!(message(parse(b"a,A\n1,2\n").expect_err("twice")).contains("Two columns"));
        assert!(message(parse(b"a\n1\0\n").expect_err("nul")).contains("NUL character on line 2"));
    }

    #[test]
    fn more_rows_than_allowed_is_refused_with_the_count() {
        let mut file = String::from("n\n");
        for i in 0..MAX_ROWS + 5 {
            file.push_str(&format!("{i}\n"));
        }
        let err = message(parse(file.as_bytes()).expect_err("too many"));
        assert!(
            err.contains("This file has 10,005 rows; an import takes at most 10,000"),
            "{err}"
        );
        let ok = parse(
            file.lines()
                .take(MAX_ROWS + 1)
                .collect::<Vec<_>>()
                .join("\n")
                .as_bytes(),
        )
        .expect("exactly the limit");
        assert_eq!(ok.rows.len(), MAX_ROWS);
    }

    #[test]
    fn columns_are_suggested_by_name_alias_or_label() {
        let headers: Vec<String> = ["E-mail", "Given Name", "Account", "Email address"]
            .map(String::from)
            .to_vec();
        assert_eq!(suggest(&headers, &SPECS), [Some(1), Some(0), Some(2)]);
    }

    #[test]
    fn a_mapping_needs_the_required_fields_each_column_once() {
        let headers: Vec<String> = ["a", "b"].map(String::from).to_vec();
        let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let ok = mapping(
            &map(&[("first_name", "0"), ("company", "1")]),
            &SPECS,
            &headers,
        )
        .expect("valid");
        assert_eq!(ok, [Some(0), None, Some(1)]);
        let Err(AppError::Fields { errors }) = mapping(
            &map(&[("first_name", "0"), ("email", "0"), ("company", "9")]),
            &SPECS,
            &headers,
        ) else {
            panic!("invalid mapping accepted")
        };
        let got: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "email",
                    "The column \"a\" is already chosen for First name."
                ),
                ("company", "Choose a column from the file."),
            ]
        );
        assert!(mapping(&map(&[("nope", "0")]), &SPECS, &headers).is_err());
    }

    #[test]
    fn a_name_finds_one_record_in_any_case_or_says_why_not() {
        let (a, b, c) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let names: HashMap<String, Vec<Uuid>> = [
            ("acme".to_owned(), vec![a]),
            ("twin".to_owned(), vec![b, c]),
        ]
        .into();
        assert_eq!(by_name(&names, "ACME", "company"), Ok(Some(a)));
        assert_eq!(by_name(&names, "", "company"), Ok(None));
        let twice = by_name(&names, "Twin", "company").expect_err("ambiguous");
        assert!(
            twice.starts_with("More than one company is named \"Twin\""),
            "{twice}"
        );
        let none = by_name(&names, "Nowhere", "company").expect_err("unknown");
        assert!(
            none.starts_with("No company is named \"Nowhere\""),
            "{none}"
        );
    }

    #[test]
    fn problems_count_rows_and_errors_and_keep_the_first_ones() {
        let mut p = Problems::default();
        p.add(3, "Email", "bad");
        p.add(7, "Email", "bad");
        p.add(3, "First name", "missing");
        let r = p.report(10);
        assert_eq!((r.imported, r.total_errors, r.bad_rows), (0, 3, 2));
        assert_eq!(r.errors[2].row, 7);
    }
}
