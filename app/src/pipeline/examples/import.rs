//! Importing annotated examples from CSV: the fields a file's columns map to, and the server
//! functions for the three steps (upload, preview, import). Managers and admins import.
use crate::{
    error::AppError,
    import::{FieldSpec, Preview, Report},
};
use leptos::prelude::*;
use leptos::server_fn::codec::{MultipartData, MultipartFormData};
use std::collections::BTreeMap;

/// The upload kind in `import_uploads`.
pub const KIND: &str = "examples";

/// What an examples file's columns map to; the keys are the example form's fields.
pub const FIELDS: [FieldSpec; 8] = [
    FieldSpec {
        key: "polarity",
        label: "Polarity",
        required: true,
        hint: "positive or good (copy it), negative or bad (avoid it).",
        aliases: &["good or bad", "label", "kind"],
    },
    FieldSpec {
        key: "output_type",
        label: "Type",
        required: true,
        hint: "email, social_post, blog_post, sms, ad_copy or landing_page.",
        aliases: &["output type", "content type", "format", "channel"],
    },
    FieldSpec {
        key: "industry",
        label: "Industry",
        required: false,
        hint: "Empty means any industry.",
        aliases: &["sector", "vertical"],
    },
    FieldSpec {
        key: "purpose",
        label: "Purpose",
        required: false,
        hint: "promotion, follow_up, announcement, education…; may be empty.",
        aliases: &["goal", "intent"],
    },
    FieldSpec {
        key: "customer",
        label: "Customer",
        required: false,
        hint: "A customer's name, for an example that is theirs; empty for everyone.",
        aliases: &["company", "customer name", "account"],
    },
    FieldSpec {
        key: "content",
        label: "Content",
        required: true,
        hint: "The example's text, up to 20,000 characters.",
        aliases: &["text", "body", "example", "copy"],
    },
    FieldSpec {
        key: "annotation",
        label: "Why",
        required: true,
        hint: "Why it is good or bad.",
        aliases: &["reason", "annotation", "notes", "comment"],
    },
    FieldSpec {
        key: "takeaways",
        label: "Copy or avoid",
        required: false,
        hint: "What to copy, or what to avoid.",
        aliases: &["takeaway", "lesson", "lessons"],
    },
];

/// Step 1: keeps the uploaded file for its uploader and opens its preview.
#[server(endpoint = "upload_examples_csv", input = MultipartFormData)]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn upload_examples_csv(data: MultipartData) -> Result<String, AppError> {
    use crate::{import::store, ssr::respond};
    respond(store::accept(&super::EDITORS, KIND, data, "/examples/import").await)
}

/// Step 2: the file's first rows and the suggested column for each field.
#[server(endpoint = "example_import_preview")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn example_import_preview(upload: String) -> Result<Preview, AppError> {
    use crate::{import::store, ssr::respond};
    respond(store::preview(&super::EDITORS, KIND, &upload, &FIELDS).await)
}

/// Step 3: imports every row in one transaction, or none and every bad row's reason. The
/// background pass embeds the new examples.
#[server(endpoint = "import_examples")]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn import_examples(
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
