// The client against a tiny local fake of the gateway's HTTP API.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { EstafetaClient, EstafetaError, EstafetaTimeout, EstafetaUnavailable } from "../index.js";

const TOKEN = "secret-token";

/** A fake gateway answering each request with `handler(req, body, url)`'s [status, body, headers]. */
async function fakeGateway(handler) {
  const requests = [];
  const server = http.createServer(async (req, res) => {
    let raw = "";
    for await (const chunk of req) raw += chunk;
    const body = raw ? JSON.parse(raw) : undefined;
    requests.push({ method: req.method, url: req.url, headers: req.headers, body });
    const base = `http://127.0.0.1:${server.address().port}`;
    const [status, out, headers = {}, delayMs = 0] = await handler(req, body, base, requests);
    setTimeout(() => {
      res.writeHead(status, { "Content-Type": "application/json", ...headers });
      res.end(JSON.stringify(out));
    }, delayMs);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, requests, close: () => new Promise((r) => server.close(r)) };
}

test("run submits, then polls status_url until SUCCESS", async (t) => {
  let polls = 0;
  const gw = await fakeGateway((req, body, base) => {
    if (req.method === "POST") {
      return [202, { task_id: "t-1", status_url: `${base}/api/v1/tasks/t-1`, service: "search",
        verb: "search" }];
    }
    polls += 1;
    return polls < 3
      ? [200, { task_id: "t-1", state: "PENDING" }]
      : [200, { task_id: "t-1", state: "SUCCESS", result: { text: "found it", data: {} } }];
  });
  t.after(gw.close);
  const client = new EstafetaClient({ url: gw.url + "/", token: TOKEN });
  const task = await client.run("search", "capybara", { lang: "es", channel: "C1", pollMs: 10 });
  assert.equal(task.state, "SUCCESS");
  assert.equal(task.result.text, "found it");
  assert.equal(polls, 3);
  const [post] = gw.requests;
  assert.equal(post.url, "/api/v1/commands/search");
  assert.equal(post.headers.authorization, `Bearer ${TOKEN}`);
  assert.equal(post.headers["content-type"], "application/json");
  assert.deepEqual(post.body, { text: "capybara", lang: "es", channel: "C1" });
  assert.ok(gw.requests.slice(1).every((r) => r.url === "/api/v1/tasks/t-1"));
});

test("a 503 is retried after its Retry-After", async (t) => {
  const gw = await fakeGateway((req, body, base, requests) => (requests.length === 1
    ? [503, { error: "broker_unavailable", message: "retry later" }, { "Retry-After": "1" }]
    : [202, { task_id: "t-2", status_url: `${base}/api/v1/tasks/t-2`, service: "search",
      verb: "help" }]));
  t.after(gw.close);
  const client = new EstafetaClient({ url: gw.url, token: TOKEN });
  const started = Date.now();
  const accepted = await client.submit("search", "help");
  const waited = Date.now() - started;
  assert.equal(accepted.task_id, "t-2");
  assert.equal(gw.requests.length, 2);
  assert.ok(waited >= 950, `waited only ${waited} ms`);
});

test("Retry-After is bounded, and retries stop after `retries`", async (t) => {
  const gw = await fakeGateway(() =>
    [503, { error: "broker_unavailable", message: "retry later" }, { "Retry-After": "3600" }]);
  t.after(gw.close);
  const client = new EstafetaClient({ url: gw.url, token: TOKEN, retries: 2, maxRetryAfterMs: 20 });
  const started = Date.now();
  await assert.rejects(client.task("t-3"), (error) => {
    assert.ok(error instanceof EstafetaUnavailable);
    assert.equal(error.status, 503);
    assert.equal(error.message, "retry later");
    return true;
  });
  assert.equal(gw.requests.length, 3);
  assert.ok(Date.now() - started < 2000);
});

test("a 4xx raises EstafetaError with status, code and message, without retrying", async (t) => {
  const gw = await fakeGateway(() => [400, { error: "usage", message: "Say what to find.",
    usage: "`/search <words>`" }]);
  t.after(gw.close);
  const client = new EstafetaClient({ url: gw.url, token: TOKEN });
  await assert.rejects(client.run("search", ""), (error) => {
    assert.ok(error instanceof EstafetaError);
    assert.equal(error.status, 400);
    assert.equal(error.code, "usage");
    assert.equal(error.message, "Say what to find.");
    assert.equal(error.body.usage, "`/search <words>`");
    return true;
  });
  assert.equal(gw.requests.length, 1);
});

test("a slow answer times out with EstafetaTimeout", async (t) => {
  const gw = await fakeGateway(() => [200, { state: "PENDING" }, {}, 500]);
  t.after(gw.close);
  const client = new EstafetaClient({ url: gw.url, token: TOKEN, timeoutMs: 50 });
  await assert.rejects(client.task("t-4"), EstafetaTimeout);
});

test("run gives up with EstafetaTimeout when the task stays PENDING past waitMs", async (t) => {
  const gw = await fakeGateway((req, body, base) => (req.method === "POST"
    ? [202, { task_id: "t-5", status_url: `${base}/api/v1/tasks/t-5`, service: "search",
      verb: "search" }]
    : [200, { task_id: "t-5", state: "PENDING" }]));
  t.after(gw.close);
  const client = new EstafetaClient({ url: gw.url, token: TOKEN });
  await assert.rejects(client.run("search", "x", { waitMs: 100, pollMs: 20 }),
    /still PENDING after 100 ms/);
});

test("a closed port is EstafetaUnavailable", async () => {
  const gw = await fakeGateway(() => [200, {}]);
  await gw.close();
  const client = new EstafetaClient({ url: gw.url, token: TOKEN, retries: 0 });
  await assert.rejects(client.task("t-6"), EstafetaUnavailable);
});
