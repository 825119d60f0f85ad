-- A refresh that fails must not lose the answer it was meant to replace. While a claim is
-- pending, the previous ready answer is kept beside it, and a failed or abandoned generation
-- puts it back.
alter table ai_analysis_cache
  add column kept_content text,
  add column kept_model text,
  add column kept_provider text,
  add column kept_fingerprint text,
  add column kept_created_at timestamptz;
