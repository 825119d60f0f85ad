//! CSV import over HTTP: upload, preview with suggested columns, import in one transaction with
//! every bad row reported by number and nothing half-imported; the limits; who may import what;
//! and that an upload is its uploader's alone.
use crate::helpers::{spawn_app, TestApp};
use app::{
    audit::AuditPage,
    contacts::ContactChoices,
    crm::ContactsPage,
    error::AppError,
    import::{Preview, Report, MAX_FILE_BYTES, MAX_ROWS},
    pipeline::examples::ExamplesPage,
};
use reqwest::{header, multipart, Response};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

async fn upload(app: &TestApp, endpoint: &str, name: &str, csv: impl Into<Vec<u8>>) -> Response {
    let part = multipart::Part::bytes(csv.into())
        .file_name(name.to_owned())
        .mime_str("text/csv")
        .expect("mime");
    app.client
        .post(app.url(&format!("/api/{endpoint}")))
        .header(header::ACCEPT, "application/json")
        .multipart(multipart::Form::new().part("file", part))
        .send()
        .await
        .expect("upload")
}

/// Uploads and returns the upload's id, checking the redirect to its preview.
async fn uploaded(app: &TestApp, endpoint: &str, page: &str, csv: &str) -> String {
    let res = upload(app, endpoint, "people.csv", csv).await;
    let status = res.status();
    let redirect = res
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = res.text().await.unwrap_or_default();
    assert_eq!(status, 200, "{body}");
    let id: String = serde_json::from_str(&body).expect("id");
    assert_eq!(redirect, Some(format!("{page}?upload={id}")));
    id
}

async fn preview(app: &TestApp, endpoint: &str, id: &str) -> Preview {
    let res = app.call(endpoint, &[("upload", id)]).await;
    assert_eq!(res.status(), 200, "{endpoint}");
    res.json().await.expect("json")
}

/// Imports with the preview's suggested columns.
async fn import(app: &TestApp, endpoint: &str, p: &Preview) -> Result<Report, (u16, AppError)> {
    let pairs: Vec<(String, String)> = p
        .fields
        .iter()
        .zip(&p.suggested)
        .map(|(f, c)| {
            let column = c.map(|c| c.to_string()).unwrap_or_default();
            (format!("columns[{}]", f.key), column)
        })
        .chain([("upload".to_owned(), p.upload.clone())])
        .collect();
    let args: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let res = app.call(endpoint, &args).await;
    let status = res.status().as_u16();
    if status == 200 {
        Ok(res.json().await.expect("report"))
    } else {
        Err((status, res.json().await.expect("error")))
    }
}

async fn contacts(app: &TestApp, q: &str) -> ContactsPage {
    let res = app.call("list_contacts", &[("q", q)]).await;
    assert_eq!(res.status(), 200);
    res.json().await.expect("json")
}

async fn first_company(app: &TestApp) -> String {
    let res = app.call("contact_form_data", &[]).await;
    let (_, choices): (app::contacts::form::ContactForm, ContactChoices) =
        res.json().await.expect("json");
    choices.customers[0].label.clone()
}

#[sqlx::test(migrations = false)]
async fn a_rep_imports_contacts_and_bad_rows_are_reported_by_number_with_nothing_imported(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    app.sign_in_as("rep@acme.test").await;
    let company = first_company(&app).await;
    let shouting = company.to_uppercase();
    let file = format!(
        "Company,First Name,Surname,E-mail,Stage,Phone\n\
         {company},Zelda,Importwell,zelda@import.test,prospect,+1 555 0100\n\
         {company},Yusuf,Importwell,not-an-email,lead,\n\
         Nowhere Ltd,Xena,Importwell,xena@import.test,hot,\n\
         {shouting},Walt,Importwell,ZELDA@import.test,,\n"
    );
    let id = uploaded(&app, "upload_contacts_csv", "/contacts/import", &file).await;
    let p = preview(&app, "contact_import_preview", &id).await;
    assert_eq!((p.total_rows, p.filename.as_str()), (4, "people.csv"));
    assert_eq!(p.headers[2], "Surname");
    let keys: Vec<&str> = p.fields.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "company",
            "first_name",
            "last_name",
            "email",
            "phone",
            "title",
            "lifecycle_stage",
            "owner"
        ]
    );
    assert_eq!(
        p.suggested,
        [
            Some(0),
            Some(1),
            Some(2),
            Some(3),
            Some(5),
            None,
            Some(4),
            None
        ]
    );

    let report = import(&app, "import_contacts", &p).await.expect("report");
    assert_eq!(
        (report.imported, report.bad_rows, report.total_rows),
        (0, 3, 4)
    );
    let problems: Vec<(usize, &str)> = report
        .errors
        .iter()
        .map(|e| (e.row, e.field.as_str()))
        .collect();
    assert_eq!(
        problems,
        [(3, "Email"), (4, "Company"), (4, "Stage"), (5, "Email")],
        "{report:?}"
    );
    assert!(report.errors[1]
        .message
        .contains("No company is named \"Nowhere Ltd\""));
    assert_eq!(
        report.errors[3].message,
        "Row 2 has the same email address."
    );
    assert!(
        contacts(&app, "importwell").await.rows.is_empty(),
        "nothing half-imported"
    );

    // Fixed, the whole file goes in at once, found by search, audited as one entry.
    let fixed = file
        .replace("not-an-email", "yusuf@import.test")
        .replace("Nowhere Ltd", &company)
        .replace(",hot,", ",customer,")
        .replace("ZELDA@", "walt@");
    let id = uploaded(&app, "upload_contacts_csv", "/contacts/import", &fixed).await;
    let p = preview(&app, "contact_import_preview", &id).await;
    let report = import(&app, "import_contacts", &p).await.expect("report");
    assert_eq!((report.imported, report.errors.len()), (4, 0), "{report:?}");
    let found = contacts(&app, "importwell").await;
    assert_eq!(found.rows.len(), 4);
    let admin = app.another_browser();
    admin.sign_in_as("admin@acme.test").await;
    let audit: AuditPage = admin
        .call("list_audit", &[])
        .await
        .json()
        .await
        .expect("audit");
    let entry = audit
        .entries
        .iter()
        .find(|e| e.action == "contacts.imported")
        .expect("audited");
    assert_eq!(entry.target.as_deref(), Some("4 contacts from people.csv"));

    // The upload is gone once imported; the same people again are refused as taken.
    let (status, err) = import(&app, "import_contacts", &p).await.expect_err("gone");
    assert_eq!(status, 422);
    assert!(err.to_string().contains("no longer here"), "{err}");
    let id = uploaded(&app, "upload_contacts_csv", "/contacts/import", &fixed).await;
    let p = preview(&app, "contact_import_preview", &id).await;
    let report = import(&app, "import_contacts", &p).await.expect("report");
    assert_eq!(report.imported, 0);
    assert!(report.errors[0].message.contains("already has this email"));
}

#[sqlx::test(migrations = false)]
async fn files_and_mappings_outside_the_limits_are_refused_with_the_reason(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    app.sign_in_as("manager@acme.test").await;
    let refused = |res: Response| async move {
        let status = res.status().as_u16();
        let err: AppError = res.json().await.expect("error");
        (status, err.to_string())
    };

    let mut many = String::from("Company,First name,Last name\n");
    for i in 0..=MAX_ROWS {
        many.push_str(&format!("Acme,P{i},Q\n"));
    }
    let (status, msg) = refused(upload(&app, "upload_contacts_csv", "big.csv", many).await).await;
    assert_eq!(status, 422);
    assert!(
        msg.contains("This file has 10,001 rows; an import takes at most 10,000"),
        "{msg}"
    );

    let (status, msg) = refused(
        upload(
            &app,
            "upload_contacts_csv",
            "x.xlsx",
            b"PK\x03\x04zz".to_vec(),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422);
    assert!(msg.contains("spreadsheet workbook"), "{msg}");

    let huge = vec![b'a'; MAX_FILE_BYTES + 1];
    let (status, msg) = refused(upload(&app, "upload_contacts_csv", "huge.csv", huge).await).await;
    assert_eq!(status, 413);
    assert!(msg.contains("the limit is 8 MiB"), "{msg}");

    // Other requests keep the ordinary limit.
    let big_form = "x".repeat(2 << 20);
    let res = app.call("list_contacts", &[("q", &big_form)]).await;
    assert_eq!(res.status(), 413);

    // A mapping without a required field names it; a column out of range is refused.
    let id = uploaded(
        &app,
        "upload_contacts_csv",
        "/contacts/import",
        "Who,Where\nAda,Acme\n",
    )
    .await;
    let res = app
        .call(
            "import_contacts",
            &[
                ("upload", &id),
                ("columns[company]", "1"),
                ("columns[first_name]", "7"),
            ],
        )
        .await;
    let (status, _) = (res.status(), ());
    assert_eq!(status, 422);
    let err: AppError = res.json().await.expect("error");
    assert_eq!(
        err.field_message("first_name").as_deref(),
        Some("Choose a column from the file.")
    );
    assert_eq!(
        err.field_message("last_name").as_deref(),
        Some("Choose the column that holds the last name.")
    );
}

#[sqlx::test(migrations = false)]
async fn managers_import_examples_reps_and_qa_may_not_and_uploads_stay_with_their_uploader(
    _: PgPoolOptions,
    db: PgConnectOptions,
) {
    let app = spawn_app(db).await;
    app.sign_in_as("manager@acme.test").await;
    let file = "Good or bad,Type,Text,Why,Lesson\n\
                Good,email,\"Hi Sam, your order ships Tuesday.\nThanks!\",Clear and specific,Name the day\n\
                bad,sms,BUY NOW!!!,Shouting,Avoid capitals\n";
    let id = uploaded(&app, "upload_examples_csv", "/examples/import", file).await;

    // Nobody else reads it: not a teammate, not another workspace.
    let admin = app.another_browser();
    admin.sign_in_as("admin@acme.test").await;
    let res = admin
        .call("example_import_preview", &[("upload", &id)])
        .await;
    assert_eq!(res.status(), 422);
    let globex = app.another_browser();
    globex.sign_in_as("admin@globex.test").await;
    let res = globex
        .call("example_import_preview", &[("upload", &id)])
        .await;
    assert_eq!(res.status(), 422);

    let p = preview(&app, "example_import_preview", &id).await;
    assert_eq!(p.suggested[..2], [Some(0), Some(1)]);
    let report = import(&app, "import_examples", &p).await.expect("report");
    assert_eq!(report.imported, 2, "{report:?}");
    assert!(report.note.contains("background"));
    let page: ExamplesPage = app
        .call("load_examples", &[("output_type", "sms")])
        .await
        .json()
        .await
        .expect("json");
    let row = page
        .rows
        .iter()
        .find(|r| r.excerpt == "BUY NOW!!!")
        .expect("imported");
    assert_eq!(
        (row.polarity.as_str(), row.annotation.as_str()),
        ("negative", "Shouting")
    );
    let globex_page: ExamplesPage = globex
        .call("load_examples", &[])
        .await
        .json()
        .await
        .expect("json");
    assert!(globex_page.rows.iter().all(|r| r.excerpt != "BUY NOW!!!"));

    // Reps import contacts, not examples; QA imports nothing.
    let rep = app.another_browser();
    rep.sign_in_as("rep@acme.test").await;
    assert_eq!(
        upload(&rep, "upload_examples_csv", "e.csv", file)
            .await
            .status(),
        403
    );
    let qa = app.another_browser();
    qa.sign_in_as("qa@acme.test").await;
    assert_eq!(
        upload(&qa, "upload_contacts_csv", "c.csv", "a\n1\n")
            .await
            .status(),
        403
    );
    let signed_out = app.another_browser();
    assert_eq!(
        upload(&signed_out, "upload_contacts_csv", "c.csv", "a\n1\n")
            .await
            .status(),
        401
    );
}
