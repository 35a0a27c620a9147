// @azure/web-pubsub (the server SDK) against the emulator: tokens, sends, groups, permissions, closes, exists.
import { WebPubSubServiceClient } from "@azure/web-pubsub";
import { check, connectionString, run, startClient, until, sleep } from "./common.mjs";

run(async () => {
  const service = new WebPubSubServiceClient(connectionString, "conformance", { allowInsecureConnection: true });

  // Tokens: userId, roles and initial groups all take effect.
  const { url: aliceUrl } = await service.getClientAccessToken({ userId: "alice", roles: ["webpubsub.joinLeaveGroup.lobby"], groups: ["initial"], expirationTimeInMinutes: 5 });
  check(aliceUrl.startsWith("ws://") && aliceUrl.includes("/client/hubs/conformance?access_token="), "getClientAccessToken gives a ws:// client URL with a token");
  const alice = await startClient(aliceUrl);
  const bob = await startClient((await service.getClientAccessToken({ userId: "bob" })).url);
  check(typeof alice.state.connectionId === "string", "a client connects with the token");
  check(await service.groupExists("initial"), "the token's groups are joined at connect");
  await alice.client.joinGroup("lobby");
  check(await service.groupExists("lobby"), "a group-scoped role lets the client join that group");
  let refused = false;
  try {
    await bob.client.joinGroup("lobby");
  } catch {
    refused = true;
  }
  check(refused, "a client without the role cannot join the group");

  // Sends: all, user, connection, group; json, text, binary; excluded; filter.
  await service.sendToAll({ kind: "json" });
  await service.sendToAll("plain text", { contentType: "text/plain" });
  await service.sendToAll(Buffer.from([1, 2, 3]), { contentType: "application/octet-stream" });
  await until(() => alice.received.length >= 3 && bob.received.length >= 3, "sendToAll reaches every client");
  check(alice.received[0].data.kind === "json", "json payloads arrive as JSON");
  check(alice.received[1].data === "plain text", "text payloads arrive as text");
  check(Buffer.from(alice.received[2].data).equals(Buffer.from([1, 2, 3])), "binary payloads arrive as bytes");

  alice.received.length = 0;
  bob.received.length = 0;
  await service.sendToAll("not alice", { contentType: "text/plain", excludedConnections: [alice.state.connectionId] });
  await service.sendToAll("only bob", { contentType: "text/plain", filter: "userId eq 'bob'" });
  await service.sendToUser("alice", { to: "alice" });
  await service.sendToConnection(bob.state.connectionId, "to bob's connection", { contentType: "text/plain" });
  await service.group("lobby").sendToAll("to the lobby", { contentType: "text/plain" });
  await until(() => bob.received.length >= 3 && alice.received.length >= 2, "targeted sends arrive");
  await sleep(200);
  check(JSON.stringify(bob.received.map((m) => m.data)) === JSON.stringify(["not alice", "only bob", "to bob's connection"]), "excluded, filter and sendToConnection reach only bob");
  check(alice.received.some((m) => m.data.to === "alice") && alice.received.some((m) => m.group === "lobby" && m.data === "to the lobby"), "sendToUser and group send reach alice");
  check(alice.received.length === 2, "alice got nothing meant for others");

  // Groups: connection and user membership, bulk by filter, listing.
  await service.group("ops").addConnection(bob.state.connectionId);
  check(await service.groupExists("ops"), "addConnection puts a connection in a group");
  const members = [];
  for await (const member of await service.group("ops").listConnections()) {
    members.push(member);
  }
  check(members.length === 1 && members[0].connectionId === bob.state.connectionId && members[0].userId === "bob", "listConnections lists the group's connection and user");
  await service.group("ops").removeConnection(bob.state.connectionId);
  check(!(await service.groupExists("ops")), "removeConnection empties the group");
  await service.group("users").addUser("alice");
  check(await service.groupExists("users"), "addUser puts the user's connections in the group");
  await service.group("users").removeUser("alice");
  check(!(await service.groupExists("users")), "removeUser takes them out");
  await service.addConnectionsToGroups(["bulk"], "userId eq 'bob'");
  check(await service.groupExists("bulk"), "addConnectionsToGroups by filter");
  await service.removeConnectionsFromGroups(["bulk"], "userId eq 'bob'");
  check(!(await service.groupExists("bulk")), "removeConnectionsFromGroups by filter");
  await service.group("a").addUser("alice");
  await service.removeUserFromAllGroups("alice");
  check(!(await service.groupExists("a")) && !(await service.groupExists("lobby")), "removeUserFromAllGroups");
  await service.group("b").addConnection(bob.state.connectionId);
  await service.removeConnectionFromAllGroups(bob.state.connectionId);
  check(!(await service.groupExists("b")), "removeConnectionFromAllGroups");

  // Permissions.
  check(!(await service.hasPermission(bob.state.connectionId, "joinLeaveGroup", { targetName: "vip" })), "no permission before a grant");
  await service.grantPermission(bob.state.connectionId, "joinLeaveGroup", { targetName: "vip" });
  check(await service.hasPermission(bob.state.connectionId, "joinLeaveGroup", { targetName: "vip" }), "grantPermission is visible to hasPermission");
  await bob.client.joinGroup("vip");
  check(await service.groupExists("vip"), "a granted permission lets the client join");
  await service.revokePermission(bob.state.connectionId, "joinLeaveGroup", { targetName: "vip" });
  check(!(await service.hasPermission(bob.state.connectionId, "joinLeaveGroup", { targetName: "vip" })), "revokePermission removes it");

  // Exists and closes.
  check(await service.connectionExists(alice.state.connectionId) && await service.userExists("bob"), "connectionExists and userExists");
  check(!(await service.connectionExists("no-such-connection")) && !(await service.userExists("nobody")), "exists is false for strangers");
  await service.closeConnection(alice.state.connectionId, { reason: "bye alice" });
  await until(async () => !(await service.connectionExists(alice.state.connectionId)), "closeConnection ends the connection");
  const carol = await startClient((await service.getClientAccessToken({ userId: "carol" })).url);
  await service.closeUserConnections("carol");
  await until(async () => !(await service.userExists("carol")), "closeUserConnections ends the user's connections");
  const dave = await startClient((await service.getClientAccessToken({ userId: "dave", groups: ["doomed"] })).url);
  await service.group("doomed").closeAllConnections();
  await until(async () => !(await service.userExists("dave")), "group closeAllConnections");
  await service.closeAllConnections();
  await until(async () => !(await service.userExists("bob")), "closeAllConnections");

  for (const c of [alice, bob, carol, dave]) {
    c.client.stop();
  }
});
