use super::AnalysisKind;
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::{ByteStream, Streaming};
use uuid::Uuid;

/// Runs one AI analysis of a contact and streams it as newline-delimited `AnalysisEvent`s:
/// from the shared cache when a fresh answer for the same context exists (unless `refresh`),
/// otherwise from the model as it writes.
#[server(endpoint = "analyze_contact", output = Streaming)]
#[cfg_attr(feature = "ssr", tracing::instrument(skip_all))]
pub async fn analyze_contact(
    contact_id: Uuid,
    kind: AnalysisKind,
    refresh: bool,
) -> Result<ByteStream<AppError>, AppError> {
    use super::{
        ndjson::ndjson,
        service::{analyze, Analysis},
    };
    use crate::{auth::guard::authorize, domain::Role, ssr::respond};
    use futures::StreamExt;
    respond(
        async move {
            let auth = authorize(&Role::ALL).await?;
            Ok(match analyze(auth, contact_id, kind, refresh).await? {
                Analysis::Now(event) => ByteStream::new(futures::stream::once(async move {
                    Ok::<_, AppError>(event.to_line())
                })),
                Analysis::Stream(rx) => ByteStream::new(ndjson(rx).map(Ok::<_, AppError>)),
            })
        }
        .await,
    )
}
