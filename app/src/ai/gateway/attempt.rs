//! One attempt at one model: a streamed request to the remote provider, or a generation by the
//! built-in local model.
use super::*;

impl Gateway {
    /// One request to one model. `Err(None)`: the caller went away.
    pub(super) async fn attempt(
        &self,
        model: &str,
        req: &ChatRequest,
        tx: &mpsc::Sender<GatewayEvent>,
        progress: &mut Progress,
        call_started: Instant,
    ) -> Result<(), Option<AttemptError>> {
        let Some(client) = &self.client else {
            return Err(Some(AttemptError::new(
                format!(
                    "{model} is a remote model and no remote provider is configured. {REMOTE_HINT}"
                ),
                false,
            )));
        };
        let openai = self
            .config
            .remote
            .as_ref()
            .is_some_and(RemoteConfig::speaks_openai);
        let body = ChatBody {
            model,
            messages: [
                Message {
                    role: "system",
                    content: &req.system,
                },
                Message {
                    role: "user",
                    content: &req.user,
                },
            ],
            max_tokens: (!openai).then_some(req.max_tokens),
            max_completion_tokens: openai.then_some(req.max_tokens),
            temperature: req.temperature,
            stream: true,
            stream_options: StreamOptions {
                include_usage: true,
            },
        };
        let timeout = self.config.timeout;
        let deadline = tokio::time::Instant::now() + timeout;
        let timed_out = || {
            Some(AttemptError::new(
                format!("timed out after {:.1} s", timeout.as_secs_f64()),
                true,
            ))
        };
        let mut stream = match tokio::time::timeout_at(
            deadline,
            client.chat().create_stream_byot::<_, Chunk>(body),
        )
        .await
        {
            Err(_) => return Err(timed_out()),
            Ok(Err(e)) => return Err(Some(AttemptError::from_openai(e))),
            Ok(Ok(stream)) => stream,
        };
        loop {
            let chunk = match tokio::time::timeout_at(deadline, stream.next()).await {
                Err(_) => return Err(timed_out()),
                Ok(None) => break,
                Ok(Some(Err(e))) => return Err(Some(AttemptError::from_openai(e))),
                Ok(Some(Ok(chunk))) => chunk,
            };
            if let Some(error) = chunk.error {
                let message = error
                    .get("message")
                    .and_then(|m| m.as_str())
                    .map(str::to_owned)
                    .unwrap_or_else(|| error.to_string());
                return Err(Some(AttemptError::new(
                    format!("the provider reported an error mid-stream: {message}"),
                    !progress.emitted,
                )));
            }
            if let Some(usage) = chunk.usage {
                progress.usage = Some(usage);
            }
            for choice in chunk.choices {
                let Some(text) = choice
                    .delta
                    .and_then(|d| d.content)
                    .filter(|t| !t.is_empty())
                else {
                    continue;
                };
                if !progress.emitted {
                    progress.emitted = true;
                    progress.ttft = Some(call_started.elapsed());
                }
                if tx.send(GatewayEvent::Delta(text)).await.is_err() {
                    return Err(None);
                }
            }
        }
        if !progress.emitted {
            return Err(Some(AttemptError::new(
                "the model returned an empty answer",
                false,
            )));
        }
        Ok(())
    }

    /// One generation by the built-in local model. Its progress is observable, so the time
    /// limit is a stall limit: it starts when the model takes the request (not while it waits
    /// in the queue, which is bounded instead) and restarts with every chunk of prompt read and
    /// every piece of text. The
    /// length is bounded by `max_tokens` and the context window. On a busy 2-core machine a
    /// 600-token answer can take longer than the per-call limit while streaming steadily.
    pub(super) async fn attempt_local(
        &self,
        req: &ChatRequest,
        tx: &mpsc::Sender<GatewayEvent>,
        progress: &mut Progress,
        call_started: Instant,
    ) -> Result<(), Option<AttemptError>> {
        let chat = self
            .local
            .chat()
            .await
            .map_err(|e| Some(AttemptError::new(format!("the local model is {e}"), false)))?;
        let prompt = chat
            .prompt_tokens(&req.system, &req.user)
            .map_err(|e| Some(AttemptError::new(e, false)))?;
        let seed = rand::rng().random::<u64>();
        let mut sub = chat
            .submit(
                prompt,
                req.max_tokens as usize,
                f64::from(req.temperature),
                seed,
            )
            .map_err(|e| {
                Some(AttemptError::new(
                    e.clone(),
                    e.starts_with("the local model is busy"),
                ))
            })?;
        let timeout = self.config.timeout;
        let mut deadline: Option<tokio::time::Instant> = None;
        let mut last_ahead = None;
        let mut finished = sub.finished.clone();
        loop {
            if deadline.is_none() {
                let ahead = sub.ahead();
                if last_ahead != Some(ahead) {
                    last_ahead = Some(ahead);
                    if tx.send(GatewayEvent::Queued { ahead }).await.is_err() {
                        return Err(None);
                    }
                }
            }
            let far = tokio::time::Instant::now() + Duration::from_secs(86_400);
            let event = tokio::select! {
                event = sub.events.recv() => event,
                changed = finished.changed(), if deadline.is_none() => {
                    if changed.is_err() {
                        return Err(Some(AttemptError::new("the local model stopped", false)));
                    }
                    continue;
                }
                _ = tokio::time::sleep_until(deadline.unwrap_or(far)) => {
                    let what = if progress.emitted { "stalled: no new text" } else { "timed out: no text" };
                    return Err(Some(AttemptError::new(format!("{what} for {:.1} s", timeout.as_secs_f64()), false)));
                }
                _ = tx.closed() => return Err(None),
            };
            match event {
                None => {
                    return Err(Some(AttemptError::new(
                        "the local model stopped without an answer",
                        false,
                    )))
                }
                Some(LocalEvent::Started) => {
                    deadline = Some(tokio::time::Instant::now() + timeout);
                    if last_ahead != Some(0)
                        && tx.send(GatewayEvent::Queued { ahead: 0 }).await.is_err()
                    {
                        return Err(None);
                    }
                }
                Some(LocalEvent::Reading { .. }) => {
                    deadline = Some(tokio::time::Instant::now() + timeout)
                }
                Some(LocalEvent::Text(text)) => {
                    deadline = Some(tokio::time::Instant::now() + timeout);
                    if !progress.emitted {
                        progress.emitted = true;
                        progress.ttft = Some(call_started.elapsed());
                    }
                    if tx.send(GatewayEvent::Delta(text)).await.is_err() {
                        return Err(None);
                    }
                }
                Some(LocalEvent::Done {
                    prompt_tokens,
                    completion_tokens,
                }) => {
                    progress.usage = Some(Usage {
                        prompt_tokens,
                        completion_tokens,
                    });
                    if !progress.emitted {
                        return Err(Some(AttemptError::new(
                            "the model returned an empty answer",
                            false,
                        )));
                    }
                    return Ok(());
                }
                Some(LocalEvent::Failed(message)) => {
                    return Err(Some(AttemptError::new(message, false)))
                }
            }
        }
    }
}
