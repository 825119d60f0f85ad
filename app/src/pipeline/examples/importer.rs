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
        table::{self, Problems},
        thousands, Report,
    },
    ssr::{
        audit,
        tenancy::{Scope, Tx},
    },
};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

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
    let tenant = scope.tenant_id;
    let (id, filename, file) = store::load(tx, tenant, scope.user_id, KIND, upload).await?;
    let chosen = table::mapping(columns, &FIELDS, &file.headers)?;
    let column = |key: &str| {
        FIELDS
            .iter()
            .position(|f| f.key == key)
            .and_then(|i| chosen[i])
    };
    let mut customers: HashMap<String, Vec<Uuid>> = HashMap::new();
    for (name, id) in crate::crm::db::customers_by_name(tx, tenant).await? {
        customers.entry(name).or_default().push(id);
    }

    let mut problems = Problems::default();
    let mut rows: Vec<ExampleInput> = Vec::with_capacity(file.rows.len());
    for (row, record) in &file.rows {
        let get = |key: &str| table::cell(record, column(key));
        let name = get("customer");
        let customer = match customers.get(&name.to_lowercase()).map(Vec::as_slice) {
            _ if name.is_empty() => Ok(None),
            Some([one]) => Ok(Some(*one)),
            Some(_) => Err(format!("Several customers are named \"{name}\"; rename one so each name says which.")),
            None => Err(format!("No customer is named \"{name}\" in this workspace. Correct the name, or leave it empty for everyone.")),
        };
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
        return Ok(problems.report(file.rows.len()));
    }
    let imported = db::insert_many(tx, tenant, scope.user_id, &rows).await? as usize;
    let label = format!("{} examples from {filename}", thousands(imported));
    audit::record(
        tx,
        tenant,
        Some(scope.user_id),
        "examples.imported",
        Some(&label),
    )
    .await?;
    store::remove(tx, tenant, id).await?;
    Ok(Report {
        imported,
        errors: Vec::new(),
        total_errors: 0,
        bad_rows: 0,
        total_rows: file.rows.len(),
        note: "Their vectors are made in the background within a minute; until then, drafts and Find similar do not use them.".into(),
    })
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
