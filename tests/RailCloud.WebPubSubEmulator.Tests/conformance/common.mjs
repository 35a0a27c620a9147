// Shared by the conformance scripts: they run the official, unchanged @azure packages against our emulator.
import { WebPubSubClient } from "@azure/web-pubsub-client";

export const connectionString = process.env.WPS_CONNECTION_STRING;
if (!connectionString) {
  console.error("WPS_CONNECTION_STRING is not set");
  process.exit(2);
}

let checks = 0;
export function check(condition, what) {
  if (!condition) {
    throw new Error(`FAILED: ${what}`);
  }
  checks++;
  console.log(`ok ${checks} - ${what}`);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until predicate() is true, polling; fails with `what` after timeoutMs. */
export async function until(predicate, what, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) {
      return;
    }
    await sleep(20);
  }
  throw new Error(`FAILED (timed out): ${what}`);
}

/** A started WebPubSubClient that records every message it receives. */
export async function startClient(url, options = {}) {
  const client = new WebPubSubClient(url, options);
  const received = [];
  const state = { connectionId: undefined, connectedCount: 0, disconnected: [] };
  client.on("connected", (e) => {
    state.connectionId = e.connectionId;
    state.connectedCount++;
  });
  client.on("disconnected", (e) => state.disconnected.push(e));
  client.on("server-message", (e) => received.push({ from: "server", data: e.message.data }));
  client.on("group-message", (e) => received.push({ from: "group", group: e.message.group, data: e.message.data, fromUserId: e.message.fromUserId }));
  await client.start();
  await until(() => state.connectionId !== undefined, "the client's connected event");
  return { client, received, state };
}

export async function run(main) {
  try {
    await main();
    console.log(`conformance passed: ${checks} checks`);
    process.exit(0);
  } catch (err) {
    console.error(err?.stack ?? String(err));
    process.exit(1);
  }
}
