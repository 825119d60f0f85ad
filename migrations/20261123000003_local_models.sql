-- The built-in local provider's models and the embedding models (issue 4).
alter table ai_models
  add column kind text not null default 'chat' constraint ai_models_kind_valid check (kind in ('chat', 'embedding')),
  add column dimensions integer constraint ai_models_dimensions_valid check (dimensions is null or dimensions > 0),
  -- Tiers route chat tasks; an embedding model is never a tier's recommendation.
  add constraint ai_models_only_chat_is_recommended check (kind = 'chat' or not recommended),
  add constraint ai_models_embeddings_have_dimensions check (kind = 'chat' or dimensions is not null);

insert into ai_models (id, provider, display_name, input_cost_per_1k, output_cost_per_1k, context_window, tier, recommended, active, kind, dimensions) values
  -- Runs in process from the GGUF file; the context window is what the runtime's rotary table covers.
  ('local/smollm2-135m-instruct', 'local',  'SmolLM2-135M Instruct (built-in, local)', 0, 0, 4096, 'fast', false, true, 'chat', null),
  ('local/all-minilm-l6-v2',      'local',  'all-MiniLM-L6-v2 (built-in, local)',      0, 0,  256, 'fast', false, true, 'embedding', 384),
  -- Asked for 384 dimensions, so its vectors fit the same vector(384) columns.
  ('text-embedding-3-small',      'openai', 'text-embedding-3-small',            0.00002, 0, 8191, 'fast', false, true, 'embedding', 384);
