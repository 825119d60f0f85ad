// A mock OpenAI-compatible provider for the browser tests: the only test double in the suite,
// standing in for the external LLM. It streams a chat completion slowly, chunk by chunk, or
// fails, as the tests tell it to (POST /__mode {"mode": "ok" | "fail"}). Its answer is too short
// for any pipeline task's minimum length, so pipeline drafts end up in the escalation queue.
import http from 'node:http';

const port = Number(process.env.MOCK_LLM_PORT ?? 3199);
const chunkDelayMs = Number(process.env.MOCK_LLM_CHUNK_MS ?? 250);
let mode = 'ok';
let requests = 0;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function readBody(req) {
  return new Promise((resolve) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => resolve(data));
  });
}

const server = http.createServer(async (req, res) => {
  const body = await readBody(req);
  if (req.method === 'POST' && req.url === '/__mode') {
    mode = JSON.parse(body).mode;
    res.writeHead(204).end();
    return;
  }
  if (req.method === 'GET' && req.url === '/__requests') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ requests }));
    return;
  }
  if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
    res.writeHead(404).end();
    return;
  }
  requests += 1;
  const request = JSON.parse(body);
  // The failure mode is for the AI panel's walkthrough; pipeline drafts (their prompt has a
  // "Requirements:" section) always get an answer, so the two suites can run side by side.
  const isPipelineDraft = (request.messages ?? []).some((m) => typeof m.content === 'string' && m.content.includes('\nRequirements:\n'));
  if (mode === 'fail' && !isPipelineDraft) {
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: 'mock provider is down', type: 'server_error', param: null, code: null } }));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const words = `Test provider answer for ${request.model}: call them on Tuesday morning and mention the recall campaign.`.split(' ');
  // Eight chunks, so the browser sees the text grow.
  const per = Math.ceil(words.length / 8);
  for (let i = 0; i < words.length; i += per) {
    const content = words.slice(i, i + per).join(' ') + (i + per < words.length ? ' ' : '');
    const chunk = { id: 'mock', object: 'chat.completion.chunk', created: 1, model: request.model, choices: [{ index: 0, delta: { content }, finish_reason: null }] };
    res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    await sleep(chunkDelayMs);
  }
  const end = { id: 'mock', object: 'chat.completion.chunk', created: 1, model: request.model, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] };
  res.write(`data: ${JSON.stringify(end)}\n\n`);
  const usage = { id: 'mock', object: 'chat.completion.chunk', created: 1, model: request.model, choices: [], usage: { prompt_tokens: 800, completion_tokens: 24, total_tokens: 824 } };
  res.write(`data: ${JSON.stringify(usage)}\n\ndata: [DONE]\n\n`);
  res.end();
});

server.listen(port, '127.0.0.1', () => console.log(`mock LLM on http://127.0.0.1:${port}/v1`));
