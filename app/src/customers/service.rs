//! Saving a business context: the version check, the diff and its audit entry, in the caller's
//! transaction. The analyses and drafts made from the old context renew by themselves: their
//! fingerprints cover the text the context renders into.
use super::{db, form::BusinessContext, Saved};
use crate::{
    error::{AppError, OnConstraint},
    ssr::{
        audit::{self, Change, Target},
        tenancy::{Scope, Tx},
    },
};
use time::OffsetDateTime;
use uuid::Uuid;

pub async fn save(
    tx: &mut Tx,
    scope: Scope,
    id: Uuid,
    opened_at: OffsetDateTime,
    next: &BusinessContext,
) -> Result<Saved, AppError> {
    let current = db::customer(tx, scope.tenant_id, id, true)
        .await?
        .ok_or(AppError::NotFound)?;
    if current.updated_at != opened_at {
        return Err(AppError::validation(
            "",
            "Someone else saved this customer after you opened it. Reload the page to see their changes, then make yours again.",
        ));
    }
    let changes = next.changes_from(&BusinessContext::of(&current));
    if changes.is_empty() {
        return Ok(Saved {
            changed: Vec::new(),
            version: super::version_of(&current),
        });
    }
    db::save(tx, scope.tenant_id, id, next)
        .await
        .on_constraint(|c| {
            (c == "customers_tenant_name_unique").then(|| {
                AppError::validation("name", "Another customer in this workspace has this name.")
            })
        })?;
    let entries: Vec<Change> = changes
        .iter()
        .map(|(field, from, to)| Change::new(*field, from, to))
        .collect();
    let target = Target {
        kind: "customer",
        id,
        label: &next.name,
    };
    audit::record_about(
        tx,
        scope.tenant_id,
        Some(scope.user_id),
        "customer.business_context_changed",
        target,
        &entries,
    )
    .await?;
    let saved = db::customer(tx, scope.tenant_id, id, false)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Saved {
        changed: changes.iter().map(|(f, _, _)| (*f).to_owned()).collect(),
        version: super::version_of(&saved),
    })
}
