//! Where an upload waits between its preview and its import: the file read from the multipart
//! form (within `MAX_FILE_BYTES`), checked by parsing, then kept for its uploader for an hour.
use super::{table, thousands, FieldSpec, Preview, Report, MAX_FILE_BYTES, UPLOAD_TTL_MINUTES};
use crate::{
    auth::guard::authorize,
    domain::Role,
    error::AppError,
    ssr::{
        audit,
        tenancy::{Scope, Tx},
    },
};
use leptos::server_fn::codec::MultipartData;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Step 1 of an import, for the server function of a feature whose `allowed` roles import
/// `kind`: keeps the uploaded file for its uploader, then opens `page?upload=<id>`.
pub async fn accept(
    allowed: &[Role],
    kind: &str,
    data: MultipartData,
    page: &str,
) -> Result<String, AppError> {
    let mut auth = authorize(allowed).await?;
    let upload = read(data).await?;
    let (tenant, user) = (auth.user.tenant_id, auth.user.user_id);
    let id = keep(&mut auth.tx, tenant, user, kind, upload).await?;
    auth.tx.commit().await?;
    leptos_axum::redirect(&format!("{page}?upload={id}"));
    Ok(id.to_string())
}

/// Step 2: the uploader's file's first rows and the column suggested for each of `fields`.
pub async fn preview(
    allowed: &[Role],
    kind: &str,
    upload: &str,
    fields: &[FieldSpec],
) -> Result<Preview, AppError> {
    let mut auth = authorize(allowed).await?;
    let (tenant, user) = (auth.user.tenant_id, auth.user.user_id);
    let (id, filename, file) = load(&mut auth.tx, tenant, user, kind, upload).await?;
    auth.tx.commit().await?;
    Ok(table::preview(id.to_string(), filename, &file, fields))
}

/// Uploads a user keeps at once; an older one goes when a newer one comes.
const KEPT_PER_USER: i64 = 5;

/// A file as uploaded.
pub struct Upload {
    pub filename: String,
    pub bytes: Vec<u8>,
}

fn unreadable(e: impl std::fmt::Display) -> AppError {
    AppError::validation("file", format!("The upload could not be read: {e}"))
}

/// The name a file is shown by: its last path part, without control characters, at most 255
/// characters.
fn file_name(raw: Option<&str>) -> String {
    let name: String = raw
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(255)
        .collect();
    match name.trim() {
        "" => "upload.csv".to_owned(),
        n => n.to_owned(),
    }
}

/// The `file` part of a multipart form.
pub async fn read(data: MultipartData) -> Result<Upload, AppError> {
    let mut form = data
        .into_inner()
        .ok_or_else(|| unreadable("it is not a multipart form"))?;
    while let Some(mut field) = form.next_field().await.map_err(unreadable)? {
        if field.name() != Some("file") {
            continue;
        }
        let filename = file_name(field.file_name());
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
            if bytes.len() + chunk.len() > MAX_FILE_BYTES {
                return Err(AppError::validation(
                    "file",
                    format!(
                        "The file is over {} MiB, the most an import takes. Split it and import each part.",
                        MAX_FILE_BYTES >> 20
                    ),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        if bytes.is_empty() {
            return Err(AppError::validation("file", "Choose a CSV file to upload."));
        }
        return Ok(Upload { filename, bytes });
    }
    Err(AppError::validation("file", "Choose a CSV file to upload."))
}

/// Checks the file (a CSV within the limits) and keeps it for the uploader; its id.
pub async fn keep(
    tx: &mut Tx,
    tenant: Uuid,
    user: Uuid,
    kind: &str,
    upload: Upload,
) -> Result<Uuid, AppError> {
    table::parse(&upload.bytes)?;
    // parse() accepted it as UTF-8 (a leading BOM aside).
    let text = String::from_utf8_lossy(&upload.bytes);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    sqlx::query!(
        "delete from import_uploads
         where tenant_id = $1 and uploaded_by = $2
           and (created_at < now() - make_interval(mins => $3::int)
                or id not in (select id from import_uploads where tenant_id = $1 and uploaded_by = $2
                              order by created_at desc limit $4))",
        tenant,
        user,
        UPLOAD_TTL_MINUTES as i32,
        KEPT_PER_USER - 1
    )
    .execute(&mut **tx)
    .await?;
    let id = sqlx::query_scalar!(
        "insert into import_uploads (tenant_id, uploaded_by, kind, filename, content)
         values ($1, $2, $3, $4, $5) returning id",
        tenant,
        user,
        kind,
        upload.filename,
        text
    )
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

/// The uploader's own file of `kind`, parsed, while it has not expired.
pub async fn load(
    tx: &mut Tx,
    tenant: Uuid,
    user: Uuid,
    kind: &str,
    raw_id: &str,
) -> Result<(Uuid, String, table::Table), AppError> {
    let gone = || {
        AppError::validation(
            "upload",
            format!(
                "This upload is no longer here: uploads wait {UPLOAD_TTL_MINUTES} minutes, and an imported one is removed. Upload the file again."
            ),
        )
    };
    let id: Uuid = raw_id.trim().parse().map_err(|_| gone())?;
    let row = sqlx::query!(
        "select filename, content from import_uploads
         where tenant_id = $1 and id = $2 and uploaded_by = $3 and kind = $4
           and created_at >= now() - make_interval(mins => $5::int)",
        tenant,
        id,
        user,
        kind,
        UPLOAD_TTL_MINUTES as i32
    )
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(gone)?;
    let table = table::parse(row.content.as_bytes())?;
    Ok((id, row.filename, table))
}

/// An upload opened for step 3: the file and, per field, the column the user chose.
pub struct Opened {
    pub id: Uuid,
    pub filename: String,
    pub file: table::Table,
    fields: &'static [FieldSpec],
    columns: Vec<Option<usize>>,
}

impl Opened {
    /// A row's cell for the field `key`, trimmed; empty when the field is not imported.
    pub fn cell<'r>(&self, record: &'r csv::StringRecord, key: &str) -> &'r str {
        let column = self
            .fields
            .iter()
            .position(|f| f.key == key)
            .and_then(|i| self.columns[i]);
        table::cell(record, column)
    }

    /// Ends an import that wrote `imported` rows: one audit entry (`action`, naming the count
    /// and the file), the upload removed, and the report.
    pub async fn finish(
        self,
        tx: &mut Tx,
        scope: Scope,
        action: &str,
        imported: usize,
        note: &str,
    ) -> Result<Report, AppError> {
        let noun = action.split('.').next().unwrap_or_default();
        let label = format!("{} {noun} from {}", thousands(imported), self.filename);
        audit::record(
            tx,
            scope.tenant_id,
            Some(scope.user_id),
            action,
            Some(&label),
        )
        .await?;
        remove(tx, scope.tenant_id, self.id).await?;
        Ok(Report {
            imported,
            errors: Vec::new(),
            total_errors: 0,
            bad_rows: 0,
            total_rows: self.file.rows.len(),
            note: note.to_owned(),
        })
    }
}

/// Opens the uploader's file of `kind` with the user's mapping (field key → column index),
/// checked against `fields`.
pub async fn open(
    tx: &mut Tx,
    scope: Scope,
    kind: &str,
    upload: &str,
    columns: &BTreeMap<String, String>,
    fields: &'static [FieldSpec],
) -> Result<Opened, AppError> {
    let (id, filename, file) = load(tx, scope.tenant_id, scope.user_id, kind, upload).await?;
    let columns = table::mapping(columns, fields, &file.headers)?;
    Ok(Opened {
        id,
        filename,
        file,
        fields,
        columns,
    })
}

/// Removes an upload once it is imported.
pub async fn remove(tx: &mut Tx, tenant: Uuid, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "delete from import_uploads where tenant_id = $1 and id = $2",
        tenant,
        id
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_shown_by_its_own_name() {
        assert_eq!(file_name(Some("C:\\Users\\ada\\leads.csv")), "leads.csv");
        assert_eq!(file_name(Some("../../etc/x.csv")), "x.csv");
        assert_eq!(file_name(Some("a\u{7}b.csv")), "ab.csv");
        assert_eq!(file_name(None), "upload.csv");
        assert_eq!(file_name(Some(&"n".repeat(400))).len(), 255);
    }
}
