//! `spawn_app`: the application on a random port, with a cookie-keeping client.
use leptos::prelude::LeptosOptions;
use reqwest::{header, redirect, Client, Response};
use server::{config::Settings, demo, startup};
use sqlx::{postgres::PgConnectOptions, PgPool};

pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub pool: PgPool,
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

/// Starts the app on 127.0.0.1:0 with the demo workspaces seeded.
pub async fn spawn_app(db: PgConnectOptions) -> TestApp {
    spawn_app_with(db, &[]).await
}

pub async fn spawn_app_with(db: PgConnectOptions, env: &[(&str, &str)]) -> TestApp {
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
    let (router, pool, state) = startup::build_with(db, &settings, leptos_options)
        .await
        .expect("start-up");
    demo::seed(&pool).await.expect("demo seed");
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
        state,
    }
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

    /// A second, independent browser on the same app.
    pub fn another_browser(&self) -> TestApp {
        TestApp {
            base: self.base.clone(),
            client: client(),
            pool: self.pool.clone(),
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
