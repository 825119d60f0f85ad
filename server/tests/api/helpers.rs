//! `spawn_app`: the application on a random port, with a cookie-keeping client.
use leptos::prelude::LeptosOptions;
use reqwest::{header, redirect, Client, Response};
use server::{config::Settings, demo, startup, state::Databases};
use sqlx::{postgres::PgConnectOptions, PgPool};

pub struct TestApp {
    pub base: String,
    pub client: Client,
    /// The app's pool: the app's login role, as `smartcrm_app`.
    pub pool: PgPool,
    /// The test database as its owner (a superuser), for set-up the app may not do.
    pub owner: PgConnectOptions,
    /// The app's shared state (its AI gateway and content pipeline), for tests that drive
    /// pipeline workers themselves.
    pub state: app::state::AppState,
}

pub fn client() -> Client {
    app::ai::gateway::ensure_tls_provider();
    Client::builder()
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .build()
        .expect("client")
}

/// The login role the app signs in as in tests: a plain login role that owns nothing.
/// Start-up (migrating as the owner) grants it `smartcrm_app`'s rights.
pub const APP_LOGIN: &str = "smartcrm_test_app";
const APP_PASSWORD: &str = "smartcrm-test-app";

/// The app's connections for the test database `owner` created: migrations as the owner, the
/// app as [`APP_LOGIN`] (created once per cluster).
pub async fn databases(owner: PgConnectOptions) -> Databases {
    use sqlx::{Connection, Executor};
    let mut conn = sqlx::PgConnection::connect_with(&owner)
        .await
        .expect("owner connection");
    // Roles are cluster-wide and tests run in parallel: tolerate the race.
    conn.execute(
        format!(
            "do $$ begin
               if not exists (select 1 from pg_roles where rolname = '{APP_LOGIN}') then
                 create role {APP_LOGIN} login password '{APP_PASSWORD}';
               end if;
             exception when duplicate_object or unique_violation then null;
             end $$"
        )
        .as_str(),
    )
    .await
    .expect("app login role");
    conn.close().await.expect("close");
    Databases {
        app: owner.clone().username(APP_LOGIN).password(APP_PASSWORD),
        owner: Some(owner),
    }
}

/// DATABASE_URL for a `smartcrm` process on the test database: the app's login role alone
/// (the database is migrated already).
pub fn app_url(owner: &PgConnectOptions) -> String {
    format!(
        "postgres://{APP_LOGIN}:{APP_PASSWORD}@{}:{}/{}",
        owner.get_host(),
        owner.get_port(),
        owner.get_database().expect("test database name")
    )
}

/// Starts the app on 127.0.0.1:0 with the demo workspaces seeded.
pub async fn spawn_app(db: PgConnectOptions) -> TestApp {
    spawn_app_with(db, &[]).await
}

pub async fn spawn_app_with(db: PgConnectOptions, env: &[(&str, &str)]) -> TestApp {
    let (settings, leptos_options) = test_settings(env);
    let (router, pool, state) =
        startup::build_with(databases(db.clone()).await, &settings, leptos_options)
            .await
            .expect("start-up");
    demo::seed(&pool).await.expect("demo seed");
    serve(router, pool, state, db).await
}

fn test_settings(env: &[(&str, &str)]) -> (Settings, LeptosOptions) {
    // The local models the test command fetched; a test may point elsewhere to see them missing.
    let models = models_dir();
    let mut vars = vec![
        (
            "DATABASE_URL",
            "postgres://given-by-the-test@localhost/unused",
        ),
        ("SMARTCRM_MODELS_DIR", models.as_str()),
    ];
    vars.extend_from_slice(env);
    let settings = Settings::from_source(&Vars(vars)).expect("settings");
    let leptos_options = LeptosOptions::builder()
        .output_name("smartcrm")
        .site_root("target/site")
        .build();
    (settings, leptos_options)
}

async fn serve(
    router: axum::Router,
    pool: PgPool,
    state: app::state::AppState,
    db: PgConnectOptions,
) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .expect("serve");
    });
    TestApp {
        base: format!("http://{addr}"),
        client: client(),
        pool,
        owner: db,
        state,
    }
}

/// A connection as the schema's owner (no row-level security), to set up and check rows.
pub async fn owner(app: &TestApp) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect_with(&app.owner)
        .await
        .expect("owner connection")
}

/// `SMARTCRM_MODELS_DIR`, else the repository's `.data/models`.
pub fn models_dir() -> String {
    std::env::var("SMARTCRM_MODELS_DIR")
        .unwrap_or_else(|_| format!("{}/../.data/models", env!("CARGO_MANIFEST_DIR")))
}

struct Vars<'a>(Vec<(&'a str, &'a str)>);

impl server::config::Source for Vars<'_> {
    fn get(&self, key: &str) -> Option<String> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| (*v).to_owned())
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// A page load as a browser makes it.
    pub async fn get_page(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .header(header::ACCEPT, "text/html")
            .send()
            .await
            .expect("GET page")
    }

    /// Calls a server function as the hydrated app does (form-encoded arguments, JSON reply).
    pub async fn call(&self, endpoint: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(&format!("/api/{endpoint}")))
            .header(header::ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .expect("POST server fn")
    }

    /// Posts a form struct as the browser's `ActionForm` does: `form[field]=value` for each
    /// text field (and `form[field]=on` for a checked box).
    pub async fn post_form<T: serde::Serialize>(&self, endpoint: &str, form: &T) -> Response {
        use serde_json::Value;
        let Value::Object(fields) = serde_json::to_value(form).expect("form") else {
            panic!("a form is a struct")
        };
        let pairs: Vec<(String, String)> = fields
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((format!("form[{k}]"), s)),
                _ => None,
            })
            .collect();
        let borrowed: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.call(endpoint, &borrowed).await
    }

    /// Posts a form struct and reads the answer: the value, or the status and the error.
    pub async fn submit<T: serde::Serialize, R: serde::de::DeserializeOwned>(
        &self,
        endpoint: &str,
        form: &T,
    ) -> Result<R, (u16, app::error::AppError)> {
        let res = self.post_form(endpoint, form).await;
        let status = res.status().as_u16();
        if status == 200 {
            Ok(res.json().await.expect("json"))
        } else {
            Err((status, res.json().await.expect("error")))
        }
    }

    /// Calls a server function that takes JSON arguments (`input = Json`).
    pub async fn call_json(&self, endpoint: &str, body: &serde_json::Value) -> Response {
        self.client
            .post(self.url(&format!("/api/{endpoint}")))
            .header(header::ACCEPT, "application/json")
            .json(body)
            .send()
            .await
            .expect("POST server fn")
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Response {
        self.call("sign_in", &[("email", email), ("password", password)])
            .await
    }

    pub async fn sign_in_as(&self, email: &str) {
        let res = self.sign_in(email, demo::PASSWORD).await;
        assert_eq!(
            res.status(),
            200,
            "sign-in as {email}: {}",
            res.text().await.unwrap_or_default()
        );
    }

    /// A second server on the same database, as another instance behind a load balancer
    /// would be: its own pool, listener and state, with a browser of its own.
    pub async fn another_instance(&self) -> TestApp {
        let (settings, leptos_options) = test_settings(&[]);
        let databases = Databases {
            app: self
                .owner
                .clone()
                .username(APP_LOGIN)
                .password(APP_PASSWORD),
            owner: None,
        };
        let (router, pool, state) = startup::build_with(databases, &settings, leptos_options)
            .await
            .expect("second instance");
        serve(router, pool, state, self.owner.clone()).await
    }

    /// A second, independent browser on the same app.
    pub fn another_browser(&self) -> TestApp {
        TestApp {
            base: self.base.clone(),
            client: client(),
            pool: self.pool.clone(),
            owner: self.owner.clone(),
            state: self.state.clone(),
        }
    }
}

/// The session cookie a response sets, as the raw `Set-Cookie` value.
pub fn session_cookie(res: &Response) -> Option<String> {
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(startup::SESSION_COOKIE))
        .map(str::to_owned)
}

pub fn cookie_value(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or_default().to_owned()
}

/// Every server function, as the browser would name it.
pub const ENDPOINTS: [&str; 98] = [
    "load_ai_overview",
    "load_routing_table",
    "load_model_settings",
    "save_workspace_models",
    "save_my_models",
    "load_experiments",
    "start_experiment",
    "end_experiment",
    "load_model_catalog",
    "forecast_reassignment",
    "reassign_prompts",
    "undo_reassignment",
    "load_model_plans",
    "create_model_plan",
    "run_model_plan",
    "save_model",
    "set_model_price",
    "load_prompts",
    "get_prompt",
    "save_prompt",
    "move_prompt_label",
    "diff_prompt_versions",
    "test_provider",
    "sign_in",
    "session_user",
    "list_members",
    "load_board",
    "list_customers",
    "new_task_options",
    "create_task",
    "load_task_detail",
    "load_queue",
    "review_task",
    "list_audit",
    "list_contacts",
    "get_contact",
    "contact_timeline",
    "contact_form_data",
    "save_contact",
    "archive_contact",
    "save_deal",
    "archive_deal",
    "log_activity",
    "load_customers",
    "get_customer",
    "save_business_context",
    "load_templates",
    "get_template",
    "save_template",
    "activate_template",
    "deactivate_template",
    "compare_template_versions",
    "preview_choices",
    "preview_template",
    "generate_sample",
    "load_examples",
    "get_example",
    "save_example",
    "archive_example",
    "promote_deliverable",
    "find_similar_examples",
    "reembed_examples",
    "upload_contacts_csv",
    "contact_import_preview",
    "import_contacts",
    "upload_examples_csv",
    "example_import_preview",
    "import_examples",
    "analyze_contact",
    "load_dashboard",
    "refresh_dashboard",
    "load_rules_page",
    "get_rule",
    "save_rule",
    "activate_rule",
    "set_rule_enabled",
    "compare_rule_versions",
    "bench_start",
    "bench_task_context",
    "run_rule_bench",
    "save_rule_test_case",
    "delete_rule_test_case",
    "simulate_rules",
    "load_shadow",
    "shadow_rules",
    "list_alerts",
    "open_alert_count",
    "acknowledge_alert",
    "resolve_alert",
    "check_alerts_now",
    "load_alert_rules",
    "save_alert_rules",
    "load_webhook",
    "save_webhook",
    "test_webhook",
    "load_jobs",
    "run_job_now",
    "sign_out",
];
