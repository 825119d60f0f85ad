//! One attempt at one model: a streamed request to the remote provider, or a generation by the
//! built-in local model.
use super::*;

/// Text as the database can store it: PostgreSQL rejects NUL characters in text.
pub(super) fn clean_text(text: String) -> String {
    if text.contains('\0') {
        text.replace('\0', "")
    } else {
        text
    }
}

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
        // Two clocks: the whole attempt has `timeout`; a silence of `stall` ends it sooner.
        // An answer that keeps streaming is not cut off by the stall limit.
        let timeout = self.config.timeout;
        let stall = self.config.stall.min(timeout);
        let deadline = tokio::time::Instant::now() + timeout;
        let waited_out = |at: tokio::time::Instant| {
            let message = if at >= deadline {
                format!("timed out after {:.1} s", timeout.as_secs_f64())
            } else {
                format!(
                    "the provider stalled: nothing for {:.1} s",
                    stall.as_secs_f64()
                )
            };
            Some(AttemptError::new(message, true))
        };
        let until = || deadline.min(tokio::time::Instant::now() + stall);
        let head_by = until();
        let mut stream = match tokio::time::timeout_at(
            head_by,
            client.chat().create_stream_byot::<_, Chunk>(body),
        )
        .await
        {
            Err(_) => return Err(waited_out(head_by)),
            Ok(Err(e)) => return Err(Some(AttemptError::from_openai(e))),
            Ok(Ok(stream)) => stream,
        };
        loop {
            let by = until();
            let chunk = match tokio::time::timeout_at(by, stream.next()).await {
                Err(_) => return Err(waited_out(by)),
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
                    true,
                )));
            }
            if let Some(usage) = chunk.usage {
                progress.usage = Some(usage);
            }
            for choice in chunk.choices {
                if let Some(reason) = choice.finish_reason.filter(|r| !r.is_empty()) {
                    progress.finish_reason = Some(reason);
                }
                let Some(text) = choice
                    .delta
                    .and_then(|d| d.content)
                    .map(clean_text)
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
        // A complete answer ends with a finish reason (OpenAI, Ollama, vLLM, llama.cpp and
        // LiteLLM all send one). A stream that just stops was cut, whatever it said so far.
        if progress.finish_reason.is_none() {
            return Err(Some(AttemptError::new(
                "the provider cut the answer short: the stream ended without a finish reason",
                true,
            )));
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
                    progress.finish_reason = Some(
                        if completion_tokens >= req.max_tokens {
                            "length"
                        } else {
                            "stop"
                        }
                        .into(),
                    );
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
