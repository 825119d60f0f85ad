//! Importing an uploaded contacts file: each row through the contact form's own parser, the
//! company found by name and the owner by email, emails unique in the file and the workspace;
//! then all rows in one statement and one audit entry, or none and every problem by row.
use super::{
    db,
    form::{ContactForm, ContactInput},
    import::{FIELDS, KIND},
};
use crate::{
    error::{AppError, OnConstraint},
    import::{
        store,
        table::{by_name, Problems},
        Report,
    },
    ssr::tenancy::{Scope, Tx},
};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

pub async fn run(
    tx: &mut Tx,
    scope: Scope,
    upload: &str,
    columns: &BTreeMap<String, String>,
) -> Result<Report, AppError> {
    let tenant = scope.tenant_id;
    let opened = store::open(tx, scope, KIND, upload, columns, &FIELDS).await?;
    let companies = crate::crm::db::customers_by_name(tx, tenant).await?;
    let owners: HashMap<String, Uuid> =
        db::owners_by_email(tx, tenant).await?.into_iter().collect();

    let mut problems = Problems::default();
    let mut rows: Vec<ContactInput> = Vec::with_capacity(opened.file.rows.len());
    let mut first_with_email: HashMap<String, usize> = HashMap::new();
    for (row, record) in &opened.file.rows {
        let row = *row;
        let get = |key: &str| opened.cell(record, key);
        let customer = match by_name(&companies, get("company"), "company") {
            Ok(None) => Err("Enter the company's name.".to_owned()),
            found => found,
        };
        let owner = match get("owner") {
            "" => Ok(scope.user_id),
            email => owners.get(&email.to_lowercase()).copied().ok_or_else(|| {
                format!("No member who can own contacts has the email \"{email}\".")
            }),
        };
        let form = ContactForm {
            customer_id: customer
                .clone()
                .ok()
                .flatten()
                .unwrap_or_default()
                .to_string(),
            owner_user_id: owner.clone().unwrap_or(scope.user_id).to_string(),
            first_name: get("first_name").to_owned(),
            last_name: get("last_name").to_owned(),
            email: get("email").to_owned(),
            phone: get("phone").to_owned(),
            title: get("title").to_owned(),
            lifecycle_stage: get("lifecycle_stage").to_lowercase(),
            ..ContactForm::default()
        };
        if let Err(why) = &customer {
            problems.add(row, "Company", why.clone());
        }
        if let Err(why) = &owner {
            problems.add(row, "Owner", why.clone());
        }
        match form.parse() {
            Ok(input) if customer.is_ok() && owner.is_ok() => {
                if let Some(email) = &input.email {
                    if let Some(first) = first_with_email.get(email) {
                        problems.add(
                            row,
                            "Email",
                            format!("Row {first} has the same email address."),
                        );
                    } else {
                        first_with_email.insert(email.clone(), row);
                    }
                }
                rows.push(input);
            }
            Ok(_) => {}
            Err(errors) => problems.add_fields(row, &FIELDS, errors),
        }
    }
    let emails: Vec<String> = first_with_email.keys().cloned().collect();
    for email in db::taken_emails(tx, tenant, &emails).await? {
        if let Some(row) = first_with_email.get(&email) {
            problems.add(
                *row,
                "Email",
                "A contact in this workspace already has this email address (perhaps archived).",
            );
        }
    }
    if !problems.is_empty() {
        return Ok(problems.report(opened.file.rows.len()));
    }
    let imported = db::insert_contacts(tx, tenant, &rows)
        .await
        .on_constraint(|c| {
            (c == "contacts_email_unique").then(|| {
                AppError::validation(
                    "",
                    "Another contact with one of these emails was saved meanwhile. Import the file again to see which.",
                )
            })
        })?;
    opened
        .finish(
            tx,
            scope,
            "contacts.imported",
            imported as usize,
            "They are in the contacts list now, owned as the file said (or by you).",
        )
        .await
}
