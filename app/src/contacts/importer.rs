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
    let mut companies: HashMap<String, Vec<Uuid>> = HashMap::new();
    for (name, id) in crate::crm::db::customers_by_name(tx, tenant).await? {
        companies.entry(name).or_default().push(id);
    }
    let owners: HashMap<String, Uuid> =
        db::owners_by_email(tx, tenant).await?.into_iter().collect();

    let mut problems = Problems::default();
    let mut rows: Vec<(usize, ContactInput)> = Vec::with_capacity(file.rows.len());
    let mut first_with_email: HashMap<String, usize> = HashMap::new();
    for (row, record) in &file.rows {
        let row = *row;
        let get = |key: &str| table::cell(record, column(key));
        let company = get("company");
        let customer = match companies.get(&company.to_lowercase()).map(Vec::as_slice) {
            _ if company.is_empty() => Err("Enter the company's name.".to_owned()),
            Some([one]) => Ok(*one),
            Some(_) => Err(format!("Several companies are named \"{company}\"; rename one so each name says which.")),
            None => Err(format!("No company is named \"{company}\" in this workspace. Add it first, or correct the name.")),
        };
        let owner = match get("owner") {
            "" => Ok(scope.user_id),
            email => owners.get(&email.to_lowercase()).copied().ok_or_else(|| {
                format!("No member who can own contacts has the email \"{email}\".")
            }),
        };
        let form = ContactForm {
            customer_id: customer.as_ref().map_or(Uuid::nil(), |c| *c).to_string(),
            owner_user_id: owner.as_ref().map_or(scope.user_id, |o| *o).to_string(),
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
                rows.push((row, input));
            }
            Ok(_) => {}
            Err(errors) => problems.add_fields(row, &FIELDS, errors),
        }
    }
    let emails: Vec<String> = first_with_email.keys().cloned().collect();
    let taken = db::taken_emails(tx, tenant, &emails).await?;
    for email in taken {
        if let Some(row) = first_with_email.get(&email) {
            problems.add(
                *row,
                "Email",
                "A contact in this workspace already has this email address (perhaps archived).",
            );
        }
    }
    if !problems.is_empty() {
        return Ok(problems.report(file.rows.len()));
    }
    let inputs: Vec<ContactInput> = rows.into_iter().map(|(_, c)| c).collect();
    let imported = db::insert_contacts(tx, tenant, &inputs)
        .await
        .on_constraint(|c| {
            (c == "contacts_email_unique").then(|| {
                AppError::validation(
                    "",
                    "Another contact with one of these emails was saved meanwhile. Import the file again to see which.",
                )
            })
        })?;
    let label = format!("{} contacts from {filename}", thousands(imported as usize));
    audit::record(
        tx,
        tenant,
        Some(scope.user_id),
        "contacts.imported",
        Some(&label),
    )
    .await?;
    store::remove(tx, tenant, id).await?;
    Ok(Report {
        imported: imported as usize,
        errors: Vec::new(),
        total_errors: 0,
        bad_rows: 0,
        total_rows: file.rows.len(),
        note: "They are in the contacts list now, owned as the file said (or by you).".into(),
    })
}
