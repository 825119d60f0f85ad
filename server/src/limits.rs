//! The guard in front of every route: how big a request may be, how long it may take to answer,
//! and text the database could not store (a NUL character, bytes that are not UTF-8), refused
//! with a 4xx that names the field before any handler runs.
use app::{error::AppError, ssr::error_response as reject};
use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderMap},
    middleware::Next,
    response::Response,
};
use std::time::Duration;

/// `SMARTCRM_MAX_BODY_BYTES` and `SMARTCRM_REQUEST_TIMEOUT_SECS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    pub max_body_bytes: usize,
    /// Time to the response head. A streamed answer (an AI analysis) has its head at once and
    /// is then bounded by the AI deadlines, not by this.
    pub timeout: Duration,
}

/// The server functions that take a CSV file (`/api/upload_contacts_csv`, …): their bodies
/// may be as large as a file an import takes (the form around it counting against that too,
/// so the limit the user is told is the one that holds).
const UPLOAD_PREFIX: &str = "/api/upload_";

/// The server functions whose input is JSON (`input = Json`). Every other server function
/// decodes its body as a form whatever the content type says, so the guard checks it as one.
/// `tests::the_json_endpoints_are_every_server_function_that_takes_json` keeps it complete.
const JSON_ENDPOINTS: &[&str] = &[
    "/api/load_board",
    "/api/forecast_reassignment",
    "/api/reassign_prompts",
    "/api/create_model_plan",
    "/api/save_workspace_models",
    "/api/save_alert_rules",
];

/// Refuses what the limits forbid, then runs the request with its body read into memory (at
/// most `max_body_bytes`, so four 3 GiB uploads cost four buffers of 1 MiB, not 12 GiB; a CSV
/// upload may have `app::import::MAX_FILE_BYTES`).
pub async fn guard(State(limits): State<RequestLimits>, req: Request, next: Next) -> Response {
    if let Err(err) = check_form(req.uri().query().unwrap_or_default().as_bytes()) {
        return reject(err);
    }
    let upload = req.uri().path().starts_with(UPLOAD_PREFIX);
    if upload {
        if let Err(err) = check_multipart(req.headers()) {
            return reject(err);
        }
    }
    let limits = if upload {
        RequestLimits {
            max_body_bytes: limits.max_body_bytes.max(app::import::MAX_FILE_BYTES),
            ..limits
        }
    } else {
        limits
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_body_bytes as u64) {
        return too_large(limits);
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, limits.max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(err) if is_length_limit(&err) => return too_large(limits),
        Err(err) => {
            tracing::info!(error = %err, "request body could not be read");
            return reject(AppError::validation(
                "",
                "The request body could not be read.",
            ));
        }
    };
    if let Err(err) = check_body(parts.uri.path(), &parts.headers, &bytes) {
        return reject(err);
    }
    let req = Request::from_parts(parts, Body::from(bytes));
    match tokio::time::timeout(limits.timeout, next.run(req)).await {
        Ok(res) => res,
        Err(_) => {
            tracing::warn!(after_secs = limits.timeout.as_secs(), "request timed out");
            reject(AppError::TimedOut {
                after_secs: limits.timeout.as_secs(),
            })
        }
    }
}

fn too_large(limits: RequestLimits) -> Response {
    reject(AppError::TooLarge {
        limit_bytes: limits.max_body_bytes as u64,
    })
}

fn is_length_limit(err: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

const NUL: &str = "cannot contain the NUL character (\\0).";
const NOT_UTF8: &str = "is not valid UTF-8 text.";

/// Each `name=value` of a query string or form body, percent-decoded, must be UTF-8 without NUL.
fn check_form(raw: &[u8]) -> Result<(), AppError> {
    for pair in raw.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let mut it = pair.splitn(2, |b| *b == b'=');
        let key = decode(it.next().unwrap_or_default());
        let value = decode(it.next().unwrap_or_default());
        let name = match std::str::from_utf8(&key) {
            Ok(k) if !k.contains('\0') => field_name(k),
            _ => return Err(AppError::validation("", format!("A field name {NOT_UTF8}"))),
        };
        match std::str::from_utf8(&value) {
            Err(_) => return Err(named(&name, NOT_UTF8)),
            Ok(v) if v.contains('\0') => return Err(named(&name, NUL)),
            Ok(_) => {}
        }
    }
    Ok(())
}

/// An upload must be a multipart form with a boundary (server_fn's decoder panics on one
/// without).
fn check_multipart(headers: &HeaderMap) -> Result<(), AppError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    multer::parse_boundary(content_type)
        .map(|_| ())
        .map_err(|_| {
            AppError::validation(
                "file",
                "Send the file as a multipart form (multipart/form-data with a boundary).",
            )
        })
}

/// A server function's body is checked the way its decoder will read it (the content type does
/// not change that: `q=%00` sent as JSON to a form endpoint is still a form); another route's
/// body by its content type.
fn check_body(path: &str, headers: &HeaderMap, body: &[u8]) -> Result<(), AppError> {
    if body.is_empty() || path.starts_with(UPLOAD_PREFIX) {
        return Ok(());
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let server_fn = path.starts_with("/api/");
    let json = if server_fn {
        JSON_ENDPOINTS.contains(&path)
    } else {
        content_type.starts_with("application/json")
    };
    let form = server_fn
        || content_type.is_empty()
        || content_type.starts_with("application/x-www-form-urlencoded");
    if json {
        let text = std::str::from_utf8(body)
            .map_err(|_| AppError::validation("", format!("The request body {NOT_UTF8}")))?;
        // Malformed JSON is left to the server function, whose decoder names what is wrong.
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
            if let Some(path) = nul_path(&value, String::new()) {
                return Err(named(&path, NUL));
            }
        }
        Ok(())
    } else if form {
        check_form(body)
    } else {
        Ok(())
    }
}

/// The path of the first string (or object key) holding a NUL character.
fn nul_path(value: &serde_json::Value, path: String) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(s) => s.contains('\0').then_some(path),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_path(v, format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let here = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            if k.contains('\0') {
                Some(path.clone())
            } else {
                nul_path(v, here)
            }
        }),
        _ => None,
    }
}

fn decode(raw: &[u8]) -> Vec<u8> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|b| if *b == b'+' { b' ' } else { *b })
        .collect();
    percent_encoding::percent_decode(&plus_as_space).collect()
}

/// A form key as the app's errors name fields: `form[brief]` is `brief`, `form[a][b]` is `a.b`.
fn field_name(key: &str) -> String {
    let short: String = key.chars().take(60).collect();
    match short.split_once('[') {
        Some((_, rest)) if rest.ends_with(']') => rest
            .trim_end_matches(']')
            .split("][")
            .collect::<Vec<_>>()
            .join("."),
        _ => short,
    }
}

fn named(field: &str, problem: &str) -> AppError {
    let label = if field.is_empty() { "The value" } else { field };
    AppError::validation(field, format!("{label} {problem}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderValue, StatusCode};

    const FORM_FN: &str = "/api/load_customers";

    /// Every `#[server(endpoint = "x", input = Json)]` under `app/src`, read from the source.
    #[test]
    fn the_json_endpoints_are_every_server_function_that_takes_json() {
        fn scan(dir: &std::path::Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).expect("app/src").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    scan(&path, found);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let src = std::fs::read_to_string(&path).expect("source");
                    for line in src.lines().map(str::trim) {
                        if line.starts_with("#[server(") && line.contains("input = Json") {
                            let name = line
                                .split("endpoint = \"")
                                .nth(1)
                                .and_then(|r| r.split('"').next())
                                .expect("an endpoint name");
                            found.push(format!("/api/{name}"));
                        }
                    }
                }
            }
        }
        let mut found = Vec::new();
        scan(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../app/src"),
            &mut found,
        );
        found.sort();
        let mut listed: Vec<String> = JSON_ENDPOINTS.iter().map(|s| (*s).to_owned()).collect();
        listed.sort();
        assert_eq!(found, listed);
    }

    fn form_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        h
    }

    #[test]
    fn a_nul_in_a_form_field_is_refused_naming_the_field() {
        let err =
            check_body(FORM_FN, &form_headers(), b"form%5Btitle%5D=a%00b&x=1").expect_err("NUL");
        assert!(err.field_message("title").is_some(), "{err:?}");
    }

    #[test]
    fn a_body_without_a_content_type_is_checked_as_a_form() {
        // Found by the fuzz test: `q=%00` with no content type reached the database.
        let err = check_body(FORM_FN, &HeaderMap::new(), b"id=1&q=%00").expect_err("NUL");
        assert!(err.field_message("q").is_some(), "{err:?}");
    }

    #[test]
    fn bytes_that_are_not_utf8_name_their_field() {
        let err = check_body(FORM_FN, &form_headers(), b"email=%FF%FE").expect_err("not UTF-8");
        assert!(err.field_message("email").is_some(), "{err:?}");
        assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[test]
    fn an_upload_without_a_multipart_boundary_is_refused() {
        let with = |ct: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            check_multipart(&h)
        };
        assert!(with("multipart/form-data; boundary=abc").is_ok());
        assert!(with("multipart/form-data").is_err());
        assert!(with("application/x-www-form-urlencoded").is_err());
        assert!(check_multipart(&HeaderMap::new()).is_err());
    }

    #[test]
    fn ordinary_text_passes() {
        assert!(check_body(
            FORM_FN,
            &form_headers(),
            "note=caf%C3%A9+%E2%9C%93&n=".as_bytes()
        )
        .is_ok());
        assert!(check_form(b"state=drafting&before=2").is_ok());
    }

    #[test]
    fn a_nul_deep_in_json_is_found_by_its_path() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let err = check_body(
            "/api/load_board",
            &h,
            br#"{"filter":{"output_type":"e\u0000mail"}}"#,
        )
        .expect_err("NUL");
        assert!(err.field_message("filter.output_type").is_some(), "{err:?}");
        assert!(
            check_body("/api/load_board", &h, b"{not json").is_ok(),
            "left to the decoder"
        );
    }

    #[test]
    fn a_form_endpoint_checks_its_body_as_a_form_whatever_the_content_type() {
        // Found by the fuzz test: `q=%00` labelled JSON reached load_customers' query.
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let err = check_body(FORM_FN, &h, b"q=%00").expect_err("NUL");
        assert!(err.field_message("q").is_some(), "{err:?}");
    }

    #[test]
    fn a_nul_in_the_query_string_is_refused() {
        assert!(check_form(b"filter=%00").is_err());
    }
}
