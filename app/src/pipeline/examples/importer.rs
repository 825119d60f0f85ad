//! Importing an uploaded examples file: each row through the example form's own parser (good
//! and bad read as positive and negative), the customer found by name; then all rows in one
//! statement and one audit entry, or none and every problem by row.
use super::{
    db,
    form::{ExampleForm, ExampleInput},
    import::{FIELDS, KIND},
};
use crate::{
    error::AppError,
    import::{
        store,
        table::{by_name, Problems},
        Report,
    },
    ssr::tenancy::{Scope, Tx},
};
use std::collections::BTreeMap;

/// A polarity cell as the form takes it: "good" is positive, "bad" negative, any case.
fn polarity(cell: &str) -> String {
    match cell.to_lowercase().as_str() {
        "good" | "+" => "positive".to_owned(),
        "bad" | "-" => "negative".to_owned(),
        other => other.to_owned(),
    }
}

pub async fn run(
    tx: &mut Tx,
    scope: Scope,
    upload: &str,
    columns: &BTreeMap<String, String>,
) -> Result<Report, AppError> {
    let opened = store::open(tx, scope, KIND, upload, columns, &FIELDS).await?;
    let customers = crate::crm::db::customers_by_name(tx, scope.tenant_id).await?;

    let mut problems = Problems::default();
    let mut rows: Vec<ExampleInput> = Vec::with_capacity(opened.file.rows.len());
    for (row, record) in &opened.file.rows {
        let get = |key: &str| opened.cell(record, key);
        let customer = by_name(&customers, get("customer"), "customer");
        let form = ExampleForm {
            polarity: polarity(get("polarity")),
            output_type: get("output_type").to_lowercase(),
            industry: get("industry").to_owned(),
            purpose: get("purpose").to_lowercase(),
            customer_id: customer
                .clone()
                .ok()
                .flatten()
                .map(|c| c.to_string())
                .unwrap_or_default(),
            content: get("content").to_owned(),
            annotation: get("annotation").to_owned(),
            takeaways: get("takeaways").to_owned(),
            ..ExampleForm::default()
        };
        if let Err(why) = &customer {
            problems.add(*row, "Customer", why.clone());
        }
        match form.parse() {
            Ok(input) if customer.is_ok() => rows.push(input),
            Ok(_) => {}
            Err(errors) => problems.add_fields(*row, &FIELDS, errors),
        }
    }
    if !problems.is_empty() {
        return Ok(problems.report(opened.file.rows.len()));
    }
    let imported = db::insert_many(tx, scope.tenant_id, scope.user_id, &rows).await?;
    opened
        .finish(
            tx,
            scope,
            "examples.imported",
            imported as usize,
            "Their vectors are made in the background within a minute; until then, drafts and Find similar do not use them.",
        )
        .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn good_and_bad_read_as_polarities() {
        assert_eq!(super::polarity("Good"), "positive");
        assert_eq!(super::polarity("BAD"), "negative");
        assert_eq!(super::polarity("Negative"), "negative");
        assert_eq!(super::polarity("meh"), "meh");
    }
}
