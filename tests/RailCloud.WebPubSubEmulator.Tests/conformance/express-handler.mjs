// An upstream event handler built with @azure/web-pubsub-express receives connect, connected, user and
// disconnected events from the emulator. Our own middleware checks the abuse-protection origin and every
// ce-signature before the SDK sees the request.
import crypto from "node:crypto";
import express from "express";
import { WebPubSubServiceClient } from "@azure/web-pubsub";
import { WebPubSubEventHandler } from "@azure/web-pubsub-express";
import { check, connectionString, run, startClient, until } from "./common.mjs";

const port = Number(process.env.HANDLER_PORT);
const endpoint = connectionString.match(/Endpoint=([^;]+)/)[1];
const accessKey = connectionString.match(/AccessKey=([^;]+)/)[1];

run(async () => {
  const seen = { connect: [], connected: [], user: [], disconnected: [], badSignatures: 0, preflights: 0 };
  const handler = new WebPubSubEventHandler("upstream", {
    path: "/eventhandler",
    allowedEndpoints: [endpoint],
    handleConnect: (req, res) => {
      seen.connect.push(req);
      if (req.context.userId === "mallory") {
        res.fail(401, "not allowed");
        return;
      }
      res.success({ groups: ["from-connect"], userId: req.context.userId + "-checked" });
    },
    onConnected: (req) => seen.connected.push(req),
    handleUserEvent: (req, res) => {
      seen.user.push(req);
      const before = req.context.states.counter ?? 0;
      res.setState("counter", before + 1);
      res.success(JSON.stringify({ echo: req.data, counter: before }), "json");
    },
    onDisconnected: (req) => seen.disconnected.push(req),
  });

  const app = express();
  app.use("/eventhandler", (req, res, next) => {
    if (req.method === "OPTIONS") {
      seen.preflights++;
      return next();
    }
    const expected = "sha256=" + crypto.createHmac("sha256", accessKey).update(req.header("ce-connectionId") ?? "").digest("hex");
    const given = (req.header("ce-signature") ?? "").split(",").map((s) => s.trim());
    if (!given.includes(expected)) {
      seen.badSignatures++;
      return res.status(401).send("bad signature");
    }
    next();
  });
  app.use(handler.getMiddleware());
  const server = await new Promise((resolve) => {
    const s = app.listen(port, "127.0.0.1", () => resolve(s));
  });

  const service = new WebPubSubServiceClient(connectionString, "upstream", { allowInsecureConnection: true });
  const alice = await startClient((await service.getClientAccessToken({ userId: "alice" })).url);
  check(seen.preflights >= 1, "the emulator made the abuse-protection OPTIONS request");
  check(seen.connect.length === 1 && seen.connect[0].context.userId === "alice", "connect reached the handler with the user");
  check(Array.isArray(seen.connect[0].subprotocols) && seen.connect[0].subprotocols.includes("json.reliable.webpubsub.azure.v1"), "connect carries the offered subprotocols");
  check(seen.connect[0].claims && seen.connect[0].claims.sub?.[0] === "alice", "connect carries the token's claims");
  check(await service.userExists("alice-checked") && await service.groupExists("from-connect"), "the handler's userId and groups took effect");
  await until(() => seen.connected.length === 1, "connected reached the handler");

  const replies = [];
  alice.client.on("server-message", (e) => replies.push(e.message.data));
  await alice.client.sendEvent("greet", { hi: 1 }, "json");
  await alice.client.sendEvent("greet", "again", "text");
  await until(() => replies.length === 2, "both user-event replies came back to the client");
  check(seen.user[0].context.eventName === "greet" && seen.user[0].data.hi === 1 && seen.user[0].dataType === "json", "the user event reached the handler as JSON");
  check(seen.user[1].data === "again" && seen.user[1].dataType === "text", "a text user event arrived as text");
  check(replies[0].echo.hi === 1 && replies[0].counter === 0 && replies[1].counter === 1, "connection state set by one reply came back with the next event");

  let refused = false;
  try {
    await startClient((await service.getClientAccessToken({ userId: "mallory" })).url, { reconnectRetryOptions: { maxRetries: 0 } });
  } catch {
    refused = true;
  }
  check(refused, "a connect refused with 401 by the handler keeps the client out");
  check(!(await service.userExists("mallory")) && !(await service.userExists("mallory-checked")), "and nothing of it remains");

  alice.client.stop();
  await until(() => seen.disconnected.length >= 1, "disconnected reached the handler");
  check(seen.disconnected[0].context.userId === "alice-checked", "disconnected names the connection's user");
  check(seen.badSignatures === 0, "every event carried a valid ce-signature");
  server.close();
});
