// Against a real gateway and workers: ESTAFETA_URL, ESTAFETA_TOKEN (tests/integration sets
// them, with ESTAFETA_TEAM and BROKER_URL); skipped only when run by hand without them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EstafetaClient, EstafetaError } from "../index.js";

const { ESTAFETA_URL, ESTAFETA_TOKEN } = process.env;
const skip = ESTAFETA_URL && ESTAFETA_TOKEN ? false : "ESTAFETA_URL/ESTAFETA_TOKEN not set";

test("search help is answered by the search worker", { skip }, async () => {
  const client = new EstafetaClient({ url: ESTAFETA_URL, token: ESTAFETA_TOKEN });
  const task = await client.run("search", "help", { waitMs: 30_000 });
  assert.equal(task.state, "SUCCESS");
  assert.equal(task.result.verb, "help");
  assert.match(task.result.text, /`\/search help` shows this text/);
});

test("an unknown service is a 404 EstafetaError", { skip }, async () => {
  const client = new EstafetaClient({ url: ESTAFETA_URL, token: ESTAFETA_TOKEN });
  await assert.rejects(client.submit("nosuch", "help"), (error) => {
    assert.ok(error instanceof EstafetaError);
    assert.equal(error.status, 404);
    assert.equal(error.code, "unknown_service");
    return true;
  });
});

test("a wrong token is a 401 EstafetaError", { skip }, async () => {
  const client = new EstafetaClient({ url: ESTAFETA_URL, token: "not-a-token" });
  await assert.rejects(client.submit("search", "help"), (error) => {
    assert.ok(error instanceof EstafetaError);
    assert.equal(error.status, 401);
    assert.equal(error.code, "unauthorized");
    return true;
  });
});
