#!/usr/bin/env node
// node examples/publish-amqp.mjs <words>: publishes a `search` command straight to the
// search service's queue (Celery message protocol v2, with publisher confirms), then reads
// the answer through the HTTP API. Needs BROKER_URL, ESTAFETA_URL, ESTAFETA_TOKEN and
// ESTAFETA_TEAM (the team of the token: the API shows a task only to the team its result
// names). Nothing checks the words here: the worker answers unknown verbs with help.
import { randomUUID } from "node:crypto";
import amqp from "amqplib";
import { EstafetaClient } from "../index.js";

const { BROKER_URL, ESTAFETA_URL, ESTAFETA_TOKEN, ESTAFETA_TEAM } = process.env;
if (!BROKER_URL || !ESTAFETA_URL || !ESTAFETA_TOKEN || !ESTAFETA_TEAM) {
  console.error("Set BROKER_URL, ESTAFETA_URL, ESTAFETA_TOKEN and ESTAFETA_TEAM.");
  process.exit(2);
}

const EXCHANGE = "estafeta.commands"; // direct; the gateway's routing names it
const ROUTING_KEY = "search";
const TASK = "search.command";
const INTERACTIVE = 7; // a person is waiting for the answer

// The gateway parses the words into a verb (estafeta/grammar.py); this publisher does it
// crudely: a first word naming a verb is the verb, the rest its arguments, and any other
// words are a query (the `find` verb).
const words = process.argv.slice(2).join(" ").trim();
const [first = "", ...rest] = words.split(/\s+/);
const verbs = new Set(["help", "more", "reindex"]);
const command = verbs.has(first)
  ? { service: "search", verb: first, args: first === "help" ? "" : rest.join(" "), lang: "en" }
  : { service: "search", verb: "find", args: words, lang: "en" };
const kwargs = {
  command,
  context: { team: ESTAFETA_TEAM, channel: "", user: "api", channel_type: "", source: "api" },
  reply: { kind: "none", url: "", channel: "", thread_ts: "" },
};

const id = randomUUID();
const headers = {
  lang: "py",
  task: TASK,
  id,
  root_id: id,
  parent_id: null,
  group: null,
  retries: 0,
  eta: null,
  expires: null,
  timelimit: [null, null],
  argsrepr: "()",
  kwargsrepr: `${command.verb} from api in ${ESTAFETA_TEAM}/`,
  origin: "estafeta-node-example",
  ignore_result: false,
};
const embed = { callbacks: null, errbacks: null, chain: null, chord: null };
const body = Buffer.from(JSON.stringify([[], kwargs, embed]), "utf-8");

const connection = await amqp.connect(BROKER_URL);
try {
  const channel = await connection.createConfirmChannel();
  let returned = false;
  channel.on("return", () => { returned = true; });
  await new Promise((resolve, reject) => {
    channel.publish(EXCHANGE, ROUTING_KEY, body, {
      contentType: "application/json",
      contentEncoding: "utf-8",
      correlationId: id,
      priority: INTERACTIVE,
      persistent: true,
      // An unroutable message comes back instead of vanishing.
      mandatory: true,
      headers,
    }, (error) => (error ? reject(error) : resolve()));
  });
  await channel.close();
  if (returned) throw new Error(`nothing is bound to ${EXCHANGE}/${ROUTING_KEY} on this broker`);
} finally {
  await connection.close();
}

console.error(`published task ${id}`);
const client = new EstafetaClient({ url: ESTAFETA_URL, token: ESTAFETA_TOKEN });
// Until it finishes, a task the gateway did not accept reads PENDING, like any unknown id.
const task = await client.wait(`/api/v1/tasks/${id}`, { waitMs: 30_000 });
if (task.state !== "SUCCESS") {
  console.error(`The task failed: ${task.error ?? task.state}`);
  process.exit(1);
}
console.log(task.result?.text ?? "");
