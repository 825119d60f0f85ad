//! CRM records over HTTP: creating and editing contacts, deals and activities, archiving, the
//! audit entries they write, who may do it, and that another workspace can touch none of it.
use crate::helpers::{spawn_app, TestApp};
use app::{
    audit::AuditPage,
    contacts::{
        form::{ActivityForm, ContactForm, DealForm},
        ContactChoices, ContactDetail, RecordSaved,
    },
    crm::{ContactsPage, TimelinePage},
    error::AppError,
};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use uuid::Uuid;

async fn form_data(app: &TestApp, id: Option<Uuid>) -> (ContactForm, ContactChoices) {
    let id = id.map(|i| i.to_string()).unwrap_or_default();
    let args: Vec<(&str, &str)> = if id.is_empty() {
        vec![]
    } else {
        vec![("id", &id)]
    };
    let res = app.call("contact_form_data", &args).await;
    assert_eq!(res.status(), 200, "contact_form_data");
    res.json().await.expect("json")
}

async fn detail(app: &TestApp, id: Uuid) -> ContactDetail {
    let res = app.call("get_contact", &[("id", &id.to_string())]).await;
    assert_eq!(res.status(), 200, "get_contact");
    res.json().await.expect("json")
}

async fn list(app: &TestApp, args: &[(&str, &str)]) -> ContactsPage {
    let res = app.call("list_contacts", args).await;
    assert_eq!(res.status(), 200, "list_contacts");
    res.json().await.expect("json")
}

async fn refused(res: reqwest::Response) -> AppError {
    assert_eq!(res.status(), 422);
    res.json().await.expect("error")
}

async fn saved(res: reqwest::Response) -> RecordSaved {
    let status = res.status();
    let body = res.text().await.unwrap_or_default();
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("json")
}

async fn audit(app: &TestApp) -> AuditPage {
    let admin = app.another_browser();
    admin.sign_in_as("admin@acme.test").await;
    admin
        .call("list_audit", &[])
        .await
        .json()
        .await
        .expect("json")
}

fn ada(customer: Uuid) -> ContactForm {
    ContactForm {
        customer_id: customer.to_string(),
        first_name: "Ada".into(),
        last_name: "Quillfeather".into(),
        email: "Ada.Q@Example.org".into(),
        title: "Head of Growth".into(),
        lifecycle_stage: "prospect".into(),
        ..Default::default()
    }
}

#[sqlx::test(migrations = false)]
async fn a_rep_creates_edits_archives_and_restores_a_contact_and_each_change_is_audited(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    app.sign_in_as("rep@acme.test").await;
    let (blank, choices) = form_data(&app, None).await;
    assert_eq!(
        blank.owner_user_id,
        choices.me.to_string(),
        "owned by the reader"
    );
    let customer = choices.customers[0].id;

    // Every bad field at once; an unknown company is refused by name.
    let bad = ContactForm {
        customer_id: Uuid::new_v4().to_string(),
        email: "nope".into(),
        ..Default::default()
    };
    let err = refused(app.post_form("save_contact", &bad).await).await;
    for field in ["first_name", "last_name", "email"] {
        assert!(err.field_message(field).is_some(), "{field}: {err:?}");
    }
    let err = refused(
        app.post_form(
            "save_contact",
            &ContactForm {
                owner_user_id: blank.owner_user_id.clone(),
                customer_id: Uuid::new_v4().to_string(),
                ..ada(customer)
            },
        )
        .await,
    )
    .await;
    assert_eq!(
        err.field_message("customer_id").as_deref(),
        Some("Choose the company from the list.")
    );

    // Created, it is found at once, its email lower-cased.
    let form = ContactForm {
        owner_user_id: blank.owner_user_id.clone(),
        ..ada(customer)
    };
    let id = saved(app.post_form("save_contact", &form).await).await.id;
    let page = list(&app, &[("q", "quillfeather")]).await;
    assert_eq!(page.rows.iter().map(|r| r.id).collect::<Vec<_>>(), [id]);
    assert!(page.can_edit);
    let d = detail(&app, id).await;
    assert_eq!(
        d.context.contact.email.as_deref(),
        Some("ada.q@example.org")
    );
    assert_eq!(d.context.contact.owner_name.as_deref(), Some("Riley Rep"));
    assert!(d.can_edit);

    // The same email twice is a field error.
    let twin = ContactForm {
        first_name: "Another".into(),
        ..form.clone()
    };
    let err = refused(app.post_form("save_contact", &twin).await).await;
    assert!(
        err.field_message("email")
            .is_some_and(|m| m.contains("Another contact")),
        "{err:?}"
    );

    // Edited from the form it opened at; a save from an older copy is refused.
    let (opened, _) = form_data(&app, Some(id)).await;
    let edit = ContactForm {
        title: "VP Growth".into(),
        lifecycle_stage: "customer".into(),
        ..opened.clone()
    };
    let s = saved(app.post_form("save_contact", &edit).await).await;
    assert_eq!(s.changed, ["Title", "Stage"]);
    let err = refused(app.post_form("save_contact", &opened).await).await;
    assert!(err.to_string().contains("Someone else saved"), "{err}");
    assert_eq!(
        detail(&app, id).await.context.contact.title.as_deref(),
        Some("VP Growth")
    );

    // Archived: out of the list, in the archived list, closed to new activity; then restored.
    let res = app
        .call(
            "archive_contact",
            &[("id", &id.to_string()), ("archived", "true")],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(list(&app, &[("q", "quillfeather")]).await.rows.is_empty());
    let archived = list(&app, &[("q", "quillfeather"), ("archived", "true")]).await;
    assert_eq!(archived.rows.len(), 1);
    assert!(detail(&app, id).await.context.contact.archived_at.is_some());
    let note = ActivityForm {
        contact_id: id.to_string(),
        kind: "note".into(),
        summary: "Left the company".into(),
        ..Default::default()
    };
    let err = refused(app.post_form("log_activity", &note).await).await;
    assert!(err.to_string().contains("archived"), "{err}");
    let res = app
        .call(
            "archive_contact",
            &[("id", &id.to_string()), ("archived", "false")],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(list(&app, &[("q", "quillfeather")]).await.rows.len(), 1);

    // The log names the contact, links to it, and keeps the edit's diff.
    let log = audit(&app).await;
    let mine: Vec<_> = log
        .entries
        .iter()
        .filter(|e| e.target.as_deref() == Some("Ada Quillfeather"))
        .collect();
    let actions: Vec<&str> = mine.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "contact.restored",
            "contact.archived",
            "contact.updated",
            "contact.created"
        ]
    );
    assert!(mine
        .iter()
        .all(|e| e.link.as_deref() == Some(&format!("/contacts/{id}"))));
    let update = mine[2];
    assert_eq!(update.actor_name.as_deref(), Some("Riley Rep"));
    assert_eq!(
        update
            .changes
            .iter()
            .map(|c| (c.field.as_str(), c.from.as_str(), c.to.as_str()))
            .collect::<Vec<_>>(),
        [
            ("Title", "Head of Growth", "VP Growth"),
            ("Stage", "Prospect", "Customer")
        ]
    );
}

#[sqlx::test(migrations = false)]
async fn deals_and_activities_are_added_edited_and_archived_and_show_up_at_once(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    app.sign_in_as("manager@acme.test").await;
    let first = list(&app, &[]).await.rows[0].clone();
    let (contact, name) = (first.id, first.full_name());
    let before = detail(&app, contact).await.context.deals.len();

    let deal = |name: &str, amount: &str| DealForm {
        contact_id: contact.to_string(),
        name: name.into(),
        stage: "proposal".into(),
        amount: amount.into(),
        currency: "eur".into(),
        expected_close: "2027-01-31".into(),
        ..Default::default()
    };
    let err = refused(app.post_form("save_deal", &deal("", "12.345")).await).await;
    assert!(
        err.field_message("name").is_some() && err.field_message("amount").is_some(),
        "{err:?}"
    );
    let id = saved(
        app.post_form("save_deal", &deal("Winter retainer", "12,500.50"))
            .await,
    )
    .await
    .id;
    let d = detail(&app, contact).await;
    let added = d
        .context
        .deals
        .iter()
        .find(|x| x.id == id)
        .expect("the new deal is listed");
    assert_eq!(
        (added.amount_minor, added.currency.as_str()),
        (1_250_050, "EUR")
    );
    assert_eq!(d.context.deals.len(), before + 1);

    // Moving it to a new stage restarts its time in stage.
    let edit = DealForm {
        stage: "negotiation".into(),
        ..DealForm::of(contact, added)
    };
    let s = saved(app.post_form("save_deal", &edit).await).await;
    assert_eq!(s.changed, ["Stage"]);
    let moved = detail(&app, contact)
        .await
        .context
        .deals
        .into_iter()
        .find(|x| x.id == id)
        .expect("deal");
    assert_eq!(moved.stage, "negotiation");
    assert!(moved.stage_entered_at > added.stage_entered_at);
    let err = refused(app.post_form("save_deal", &edit).await).await;
    assert!(err.to_string().contains("Someone else saved"), "{err}");

    // Archived, it leaves the page (and the AI's context, which is built from the same read).
    let res = app
        .call(
            "archive_deal",
            &[
                ("contact_id", &contact.to_string()),
                ("id", &id.to_string()),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(detail(&app, contact)
        .await
        .context
        .deals
        .iter()
        .all(|x| x.id != id));

    // An activity: a call needs its direction; logged, it tops the timeline.
    let call = ActivityForm {
        contact_id: contact.to_string(),
        kind: "call".into(),
        summary: "Walked through the winter retainer".into(),
        outcome: "connected".into(),
        ..Default::default()
    };
    let err = refused(app.post_form("log_activity", &call).await).await;
    assert!(err.field_message("direction").is_some(), "{err:?}");
    let call = ActivityForm {
        direction: "outbound".into(),
        ..call
    };
    let res = app.post_form("log_activity", &call).await;
    assert_eq!(res.status(), 200);
    let timeline: TimelinePage = app
        .call("contact_timeline", &[("contact_id", &contact.to_string())])
        .await
        .json()
        .await
        .expect("json");
    let top = &timeline.activities[0];
    assert_eq!(
        (
            top.kind.as_str(),
            top.direction.as_deref(),
            top.outcome.as_deref(),
            top.summary.as_str()
        ),
        (
            "call",
            Some("outbound"),
            Some("connected"),
            "Walked through the winter retainer"
        )
    );
    assert_eq!(
        detail(&app, contact)
            .await
            .context
            .facts
            .days_since_last_touch,
        Some(0)
    );

    // (The admin reading the log has just signed in: that entry comes first.)
    let log = audit(&app).await;
    let actions: Vec<&str> = log
        .entries
        .iter()
        .map(|e| e.action.as_str())
        .filter(|a| !a.starts_with("auth."))
        .take(4)
        .collect();
    assert_eq!(
        actions,
        [
            "activity.logged",
            "deal.archived",
            "deal.updated",
            "deal.created"
        ]
    );
    assert!(log.entries.iter().any(|e| e.action == "deal.updated"
        && e.target.as_deref() == Some(&format!("{} (deal Winter retainer)", name))
        && e.link.as_deref() == Some(&format!("/contacts/{contact}"))));
}

#[sqlx::test(migrations = false)]
async fn qa_only_reads_records_and_another_workspace_can_touch_none_of_them(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    app.sign_in_as("manager@acme.test").await;
    let contact = list(&app, &[]).await.rows[0].id;
    let (form, choices) = form_data(&app, Some(contact)).await;
    let deal = DealForm {
        contact_id: contact.to_string(),
        name: "Probe".into(),
        amount: "1".into(),
        ..Default::default()
    };
    let note = ActivityForm {
        contact_id: contact.to_string(),
        kind: "note".into(),
        summary: "Probe".into(),
        ..Default::default()
    };

    let qa = app.another_browser();
    qa.sign_in_as("qa@acme.test").await;
    assert!(!detail(&qa, contact).await.can_edit);
    assert!(!list(&qa, &[]).await.can_edit);
    assert_eq!(qa.call("contact_form_data", &[]).await.status(), 403);
    assert_eq!(qa.post_form("save_contact", &form).await.status(), 403);
    assert_eq!(qa.post_form("save_deal", &deal).await.status(), 403);
    assert_eq!(qa.post_form("log_activity", &note).await.status(), 403);
    let archive = [("id", contact.to_string()), ("archived", "true".to_owned())];
    let archive: Vec<(&str, &str)> = archive.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(qa.call("archive_contact", &archive).await.status(), 403);

    let globex = app.another_browser();
    globex.sign_in_as("admin@globex.test").await;
    assert_eq!(
        globex
            .call("contact_form_data", &[("id", &contact.to_string())])
            .await
            .status(),
        404
    );
    assert_eq!(globex.post_form("save_contact", &form).await.status(), 404);
    assert_eq!(globex.post_form("save_deal", &deal).await.status(), 404);
    assert_eq!(globex.post_form("log_activity", &note).await.status(), 404);
    assert_eq!(globex.call("archive_contact", &archive).await.status(), 404);
    // A new contact at Acme's company, or owned by Acme's rep, is refused by field.
    let (_, mine) = form_data(&globex, None).await;
    let stray = ContactForm {
        id: String::new(),
        owner_user_id: String::new(),
        ..ada(choices.customers[0].id)
    };
    let err = refused(globex.post_form("save_contact", &stray).await).await;
    assert!(err.field_message("customer_id").is_some(), "{err:?}");
    let stray = ContactForm {
        owner_user_id: choices.me.to_string(),
        ..ada(mine.customers[0].id)
    };
    let err = refused(globex.post_form("save_contact", &stray).await).await;
    assert!(err.field_message("owner_user_id").is_some(), "{err:?}");

    // Nothing changed at Acme.
    let after = detail(&app, contact).await;
    assert!(after.context.contact.archived_at.is_none());
    assert!(after.context.deals.iter().all(|d| d.name != "Probe"));
}
