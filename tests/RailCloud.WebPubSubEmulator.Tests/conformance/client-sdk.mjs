// @azure/web-pubsub-client on the reliable subprotocol against the emulator: connect, join, send with ack,
// receive, and a dropped socket (cut in a TCP proxy, no close frame) that recovers with nothing lost or duplicated.
import net from "node:net";
import { WebPubSubServiceClient } from "@azure/web-pubsub";
import { check, connectionString, run, startClient, until, sleep } from "./common.mjs";

/** A TCP proxy on loopback whose open sockets can all be cut at once. */
async function startProxy(targetPort) {
  const sockets = new Set();
  const stats = { accepted: 0 };
  const server = net.createServer((inbound) => {
    stats.accepted++;
    const outbound = net.connect(targetPort, "127.0.0.1");
    sockets.add(inbound);
    sockets.add(outbound);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    const drop = () => {
      inbound.destroy();
      outbound.destroy();
      sockets.delete(inbound);
      sockets.delete(outbound);
    };
    inbound.on("error", drop);
    outbound.on("error", drop);
    inbound.on("close", drop);
    outbound.on("close", drop);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    stats,
    port: server.address().port,
    cut: () => {
      for (const s of sockets) {
        s.resetAndDestroy();
      }
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

run(async () => {
  const service = new WebPubSubServiceClient(connectionString, "reliable", { allowInsecureConnection: true });
  const emulatorPort = Number(new URL(connectionString.match(/Endpoint=([^;]+)/)[1]).port);
  const roles = ["webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"];

  const listener = await startClient((await service.getClientAccessToken({ userId: "listener", roles })).url);
  check(listener.client && listener.state.connectionId, "the client connects with json.reliable.webpubsub.azure.v1");
  await listener.client.joinGroup("news");

  const proxy = await startProxy(emulatorPort);
  const { url } = await service.getClientAccessToken({ userId: "mobile", roles });
  const viaProxy = url.replace(`:${emulatorPort}/`, `:${proxy.port}/`);
  const mobile = await startClient(viaProxy, { reconnectRetryOptions: { retryDelayInMs: 100, maxRetries: 50 } });
  await mobile.client.joinGroup("news");
  check(await service.groupExists("news"), "joinGroup with ack succeeds");

  const sent = await mobile.client.sendToGroup("news", { hello: "world" }, "json");
  check(sent.ackId !== undefined && sent.isDuplicated === false, "sendToGroup is acknowledged");
  await until(() => listener.received.some((m) => m.data?.hello === "world" && m.fromUserId === "mobile"), "the group message reaches the other member with fromUserId");

  // Numbered messages flow while the socket is cut; all must arrive exactly once, in order.
  const firstConnectionId = mobile.state.connectionId;
  const total = 60;
  for (let i = 1; i <= total; i++) {
    await service.sendToConnection(firstConnectionId, { n: i });
    if (i === 20 || i === 40) {
      proxy.cut();
      await sleep(50);
    }
  }
  await until(() => mobile.received.filter((m) => m.data?.n !== undefined).length >= total, "every numbered message arrives after the drops", 20000);
  await sleep(500);
  const numbers = mobile.received.filter((m) => m.data?.n !== undefined).map((m) => m.data.n);
  check(numbers.length === total, `exactly ${total} numbered messages (got ${numbers.length})`);
  check(numbers.every((n, i) => n === i + 1), "in order, none lost or duplicated");
  check(proxy.stats.accepted >= 3, `the socket really dropped twice and came back (${proxy.stats.accepted} TCP connections)`);
  check(mobile.state.connectionId === firstConnectionId, "the recovered connection keeps its connection id");
  check(mobile.state.connectedCount === 1 && mobile.state.disconnected.length === 0, "recovery raises no new connected or disconnected event");

  const afterRecovery = await mobile.client.sendToGroup("news", "after", "text");
  check(afterRecovery.isDuplicated === false, "sending with ack works after recovery");
  await until(() => listener.received.some((m) => m.data === "after"), "and reaches the other member");

  mobile.client.stop();
  listener.client.stop();
  await proxy.close();
});
