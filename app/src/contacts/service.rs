//! Saving CRM records: the checks that need the database (the company and owner belong to the
//! workspace, nobody saved in between), the write, and its audit entry, all in the caller's
//! transaction.
use super::{
    db,
    form::{ActivityInput, ContactInput, DealInput},
    RecordSaved,
};
use crate::{
    crm,
    error::{AppError, OnConstraint},
    ssr::{
        audit::{self, Change, Target},
        tenancy::{Scope, Tx},
    },
};
use time::OffsetDateTime;
use uuid::Uuid;

const SAVED_IN_BETWEEN: &str = "Someone else saved this after you opened it. Reload the page to see their changes, then make yours again.";

fn email_taken(constraint: &str) -> Option<AppError> {
    match constraint {
        "contacts_email_unique" => Some(AppError::validation(
            "email",
            "Another contact in this workspace has this email address.",
        )),
        "contacts_customer_fk" => Some(AppError::validation(
            "customer_id",
            "Choose the company from the list.",
        )),
        _ => None,
    }
}

/// The owner's name, or a field error when they cannot own contacts here.
async fn owner(tx: &mut Tx, tenant: Uuid, c: &ContactInput) -> Result<String, AppError> {
    match c.owner_user_id {
        None => Ok(String::new()),
        Some(id) => db::owner_name(tx, tenant, id).await?.ok_or_else(|| {
            AppError::validation("owner_user_id", "Choose the owner from the list.")
        }),
    }
}

pub async fn create_contact(tx: &mut Tx, scope: Scope, c: &ContactInput) -> Result<Uuid, AppError> {
    let tenant = scope.tenant_id;
    let owner = owner(tx, tenant, c).await?;
    let id = db::insert_contact(tx, tenant, c)
        .await
        .on_constraint(email_taken)?;
    let company = db::customer_name(tx, tenant, c.customer_id).await?;
    let name = format!("{} {}", c.first_name, c.last_name);
    let none = ContactInput {
        first_name: String::new(),
        last_name: String::new(),
        email: None,
        phone: None,
        title: None,
        lifecycle_stage: String::new(),
        owner_user_id: None,
        customer_id: c.customer_id,
    };
    let entries = audit::diff(&none.fields("", ""), &c.fields(&company, &owner));
    let target = Target {
        kind: "contact",
        id,
        label: &name,
    };
    audit::record_about(
        tx,
        tenant,
        Some(scope.user_id),
        "contact.created",
        target,
        &entries,
    )
    .await?;
    Ok(id)
}

pub async fn update_contact(
    tx: &mut Tx,
    scope: Scope,
    id: Uuid,
    opened_at: OffsetDateTime,
    next: &ContactInput,
) -> Result<RecordSaved, AppError> {
    let tenant = scope.tenant_id;
    let at = db::lock_contact(tx, tenant, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if at != opened_at {
        return Err(AppError::validation("", SAVED_IN_BETWEEN));
    }
    let current = crm::db::contact(tx, tenant, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let before = ContactInput {
        customer_id: current.customer_id,
        first_name: current.first_name.clone(),
        last_name: current.last_name.clone(),
        email: current.email.clone(),
        phone: current.phone.clone(),
        title: current.title.clone(),
        lifecycle_stage: current.lifecycle_stage.clone(),
        owner_user_id: current.owner_user_id,
    };
    let owner_after = owner(tx, tenant, next).await?;
    let company_before = db::customer_name(tx, tenant, before.customer_id).await?;
    let company_after = db::customer_name(tx, tenant, next.customer_id).await?;
    if company_after.is_empty() {
        return Err(AppError::validation(
            "customer_id",
            "Choose the company from the list.",
        ));
    }
    let entries = audit::diff(
        &before.fields(&company_before, &current.owner_name.unwrap_or_default()),
        &next.fields(&company_after, &owner_after),
    );
    if entries.is_empty() {
        return Ok(RecordSaved {
            id,
            changed: Vec::new(),
        });
    }
    db::update_contact(tx, tenant, id, next)
        .await
        .on_constraint(email_taken)?;
    let name = format!("{} {}", next.first_name, next.last_name);
    let target = Target {
        kind: "contact",
        id,
        label: &name,
    };
    audit::record_about(
        tx,
        tenant,
        Some(scope.user_id),
        "contact.updated",
        target,
        &entries,
    )
    .await?;
    Ok(RecordSaved {
        id,
        changed: entries.into_iter().map(|c| c.field).collect(),
    })
}

pub async fn set_archived(
    tx: &mut Tx,
    scope: Scope,
    id: Uuid,
    archived: bool,
) -> Result<(), AppError> {
    let tenant = scope.tenant_id;
    match db::set_contact_archived(tx, tenant, id, archived).await? {
        Some(name) => {
            let action = if archived {
                "contact.archived"
            } else {
                "contact.restored"
            };
            let target = Target {
                kind: "contact",
                id,
                label: &name,
            };
            audit::record_about(tx, tenant, Some(scope.user_id), action, target, &[]).await?;
            Ok(())
        }
        // Already in that state (a second click, another tab): nothing to do, unless it is not
        // in this workspace at all.
        None if db::contact_exists(tx, tenant, id).await? => Ok(()),
        None => Err(AppError::NotFound),
    }
}

/// The live contact a deal or activity is added to: its name and customer.
async fn live_contact(tx: &mut Tx, tenant: Uuid, id: Uuid) -> Result<(String, Uuid), AppError> {
    match db::live_contact(tx, tenant, id).await? {
        Some(found) => Ok(found),
        None if db::contact_exists(tx, tenant, id).await? => Err(AppError::validation(
            "",
            "This contact is archived. Restore it to add deals or log activity.",
        )),
        None => Err(AppError::NotFound),
    }
}

/// Creates (`id` = None) or saves a deal of the contact.
pub async fn save_deal(
    tx: &mut Tx,
    scope: Scope,
    contact_id: Uuid,
    id: Option<(Uuid, OffsetDateTime)>,
    next: &DealInput,
) -> Result<RecordSaved, AppError> {
    let tenant = scope.tenant_id;
    let (contact, customer_id) = live_contact(tx, tenant, contact_id).await?;
    let label = format!("{contact} (deal {})", next.name);
    let target = Target {
        kind: "contact",
        id: contact_id,
        label: &label,
    };
    let Some((id, opened_at)) = id else {
        let id = db::insert_deal(tx, tenant, customer_id, contact_id, next).await?;
        let empty: Vec<(&'static str, String)> = next
            .fields()
            .into_iter()
            .map(|(l, _)| (l, String::new()))
            .collect();
        let entries = audit::diff(&empty, &next.fields());
        audit::record_about(
            tx,
            tenant,
            Some(scope.user_id),
            "deal.created",
            target,
            &entries,
        )
        .await?;
        return Ok(RecordSaved {
            id,
            changed: Vec::new(),
        });
    };
    let (before, at) = db::lock_deal(tx, tenant, contact_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if at != opened_at {
        return Err(AppError::validation("", SAVED_IN_BETWEEN));
    }
    let entries = audit::diff(&before.fields(), &next.fields());
    if !entries.is_empty() {
        db::update_deal(tx, tenant, id, next).await?;
        audit::record_about(
            tx,
            tenant,
            Some(scope.user_id),
            "deal.updated",
            target,
            &entries,
        )
        .await?;
    }
    Ok(RecordSaved {
        id,
        changed: entries.into_iter().map(|c| c.field).collect(),
    })
}

pub async fn archive_deal(
    tx: &mut Tx,
    scope: Scope,
    contact_id: Uuid,
    id: Uuid,
) -> Result<(), AppError> {
    let tenant = scope.tenant_id;
    let (contact, _) = live_contact(tx, tenant, contact_id).await?;
    let name = db::archive_deal(tx, tenant, contact_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let label = format!("{contact} (deal {name})");
    let target = Target {
        kind: "contact",
        id: contact_id,
        label: &label,
    };
    audit::record_about(
        tx,
        tenant,
        Some(scope.user_id),
        "deal.archived",
        target,
        &[],
    )
    .await?;
    Ok(())
}

pub async fn log_activity(
    tx: &mut Tx,
    scope: Scope,
    contact_id: Uuid,
    a: &ActivityInput,
) -> Result<i64, AppError> {
    let tenant = scope.tenant_id;
    let (contact, _) = live_contact(tx, tenant, contact_id).await?;
    let id = db::insert_activity(tx, tenant, contact_id, scope.user_id, a).await?;
    let target = Target {
        kind: "contact",
        id: contact_id,
        label: &contact,
    };
    let what = Change::new("Activity", "", &format!("{} · {}", a.kind, a.summary));
    audit::record_about(
        tx,
        tenant,
        Some(scope.user_id),
        "activity.logged",
        target,
        &[what],
    )
    .await?;
    Ok(id)
}
