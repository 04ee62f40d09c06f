#!/usr/bin/env node
// node examples/search.mjs <words>: runs `/search <words>` through the HTTP API and prints
// the answer. Needs ESTAFETA_URL and ESTAFETA_TOKEN.
import { EstafetaClient, EstafetaError } from "../index.js";

const { ESTAFETA_URL, ESTAFETA_TOKEN } = process.env;
if (!ESTAFETA_URL || !ESTAFETA_TOKEN) {
  console.error("Set ESTAFETA_URL and ESTAFETA_TOKEN.");
  process.exit(2);
}
const words = process.argv.slice(2).join(" ");
const client = new EstafetaClient({ url: ESTAFETA_URL, token: ESTAFETA_TOKEN });
try {
  const task = await client.run("search", words, { waitMs: 30_000 });
  if (task.state !== "SUCCESS") {
    console.error(`The search failed: ${task.error ?? task.state}`);
    process.exit(1);
  }
  console.log(task.result?.text ?? "");
} catch (error) {
  if (error instanceof EstafetaError) {
    console.error(`${error.status} ${error.code}: ${error.message}`);
    if (error.body.usage) console.error(error.body.usage);
  } else {
    console.error(String(error?.message ?? error));
  }
  process.exit(1);
}
