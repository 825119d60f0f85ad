//! Importing contacts from CSV: the fields a file's columns map to, and the server functions
//! for the three steps (upload, preview, import). Reps, managers and admins import; QA may not.
use crate::{
    error::AppError,
    import::{FieldSpec, Preview, Report},
};
use leptos::prelude::*;
use leptos::server_fn::codec::{MultipartData, MultipartFormData};
use std::collections::BTreeMap;

/// The upload kind in `import_uploads`.
pub const KIND: &str = "contacts";

/// What a contacts file's columns map to. The keys are the contact form's fields, so a row's
/// errors are named like the form's.
pub const FIELDS: [FieldSpec; 8] = [
    FieldSpec {
        key: "company",
        label: "Company",
        required: true,
        hint: "The company's name as it is in SmartCRM (any case).",
        aliases: &[
            "company name",
            "account",
            "account name",
            "organization",
            "organisation",
            "customer",
        ],
    },
    FieldSpec {
        key: "first_name",
        label: "First name",
        required: true,
        hint: "Up to 100 characters.",
        aliases: &["first", "firstname", "given name"],
    },
    FieldSpec {
        key: "last_name",
        label: "Last name",
        required: true,
        hint: "Up to 100 characters.",
        aliases: &["last", "lastname", "surname", "family name"],
    },
    FieldSpec {
        key: "email",
        label: "Email",
        required: false,
        hint: "Unique in the workspace; may be empty.",
        aliases: &["e-mail", "email address", "mail"],
    },
    FieldSpec {
        key: "phone",
        label: "Phone",
        required: false,
        hint: "Digits, spaces and + - ( ) . only.",
        aliases: &["phone number", "telephone", "tel", "mobile"],
    },
    FieldSpec {
        key: "title",
        label: "Title",
        required: false,
        hint: "Their job title.",
        aliases: &["job title", "position", "role"],
    },
    FieldSpec {
        key: "lifecycle_stage",
        label: "Stage",
        required: false,
        hint: "lead, prospect, customer or churned; empty means lead.",
        aliases: &["lifecycle stage", "status"],
    },
    FieldSpec {
        key: "owner",
        label: "Owner",
        required: false,
        hint: "The owner's email address in SmartCRM; empty means you.",
        aliases: &["owner email", "contact owner"],
    },
];

/// Step 1: keeps the uploaded file (checked as CSV within the limits) for its uploader and
/// opens its preview.
#[server(endpoint = "upload_contacts_csv", input = MultipartFormData)]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn upload_contacts_csv(data: MultipartData) -> Result<String, AppError> {
    use crate::{import::store, ssr::respond};
    respond(store::accept(&super::EDITORS, KIND, data, "/contacts/import").await)
}

/// Step 2: the file's first rows and the suggested column for each field.
#[server(endpoint = "contact_import_preview")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn contact_import_preview(upload: String) -> Result<Preview, AppError> {
    use crate::{import::store, ssr::respond};
    respond(store::preview(&super::EDITORS, KIND, &upload, &FIELDS).await)
}

/// Step 3: imports every row in one transaction, or none and every bad row's reason.
/// `columns` maps a field's key to its column's index ("" for not imported).
#[server(endpoint = "import_contacts")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn import_contacts(
    upload: String,
    columns: BTreeMap<String, String>,
) -> Result<Report, AppError> {
    use crate::{auth::guard::authorize, ssr::respond};
    respond(
        async move {
            let mut auth = authorize(&super::EDITORS).await?;
            let scope = auth.scope();
            let report = super::importer::run(&mut auth.tx, scope, &upload, &columns).await?;
            auth.tx.commit().await?;
            Ok(report)
        }
        .await,
    )
}
