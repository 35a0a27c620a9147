using System.Net.WebSockets;
using System.Text;
using RailCloud.Testing;
using RailCloud.WebPubSub;

namespace RailCloud.WebPubSubEmulator.Tests;

public sealed class ClientProtocolTests : IAsyncLifetime
{
    private EmulatorServer _emulator = null!;

    public async Task InitializeAsync() => _emulator = await EmulatorServer.StartAsync();

    public async Task DisposeAsync() => await _emulator.DisposeAsync();

    [Fact]
    public async Task JsonClientIsToldItsUserAndConnectionIdOnConnect()
    {
        await using var socket = await TestWebSocket.ConnectAsync(Wire.ClientUri(_emulator, "chat", "alice"), Wire.Json);

        var connected = await socket.ReceiveJsonAsync();

        Assert.Equal(Wire.Json, socket.Subprotocol);
        Assert.Equal("system", (string?)connected["type"]);
        Assert.Equal("connected", (string?)connected["event"]);
        Assert.Equal("alice", (string?)connected["userId"]);
        Assert.False(string.IsNullOrEmpty((string?)connected["connectionId"]));
        Assert.Null(connected["reconnectionToken"]);
    }

    [Fact]
    public async Task ReliableClientGetsAReconnectionTokenAndNumberedMessages()
    {
        await using var socket = await TestWebSocket.ConnectAsync(Wire.ClientUri(_emulator, "chat", "alice"), Wire.Reliable);
        var connected = await socket.ReceiveJsonAsync();
        var service = Wire.Service(_emulator, "chat");

        await service.SendToUserAsync("alice", BinaryData.FromString("{\"n\":1}"), WebPubSubContentType.Json);
        await service.SendToUserAsync("alice", BinaryData.FromString("two"), WebPubSubContentType.Text);
        var first = await socket.ReceiveJsonAsync();
        var second = await socket.ReceiveJsonAsync();

        Assert.False(string.IsNullOrEmpty((string?)connected["reconnectionToken"]));
        Assert.Equal(1UL, (ulong)first["sequenceId"]!);
        Assert.Equal(1, (int)first["data"]!["n"]!);
        Assert.Equal(2UL, (ulong)second["sequenceId"]!);
        Assert.Equal("two", (string?)second["data"]);
        Assert.Equal("text", (string?)second["dataType"]);
    }

    [Fact]
    public async Task JoiningAGroupNeedsARoleAndTheAckSaysForbiddenWithoutOne()
    {
        var (plain, _) = await Wire.ConnectAsync(_emulator, "chat", "nobody");
        var (member, _) = await Wire.ConnectAsync(_emulator, "chat", "member", roles: ["webpubsub.joinLeaveGroup.lobby"]);
        await using (plain)
        await using (member)
        {
            await plain.SendJsonAsync(new { type = "joinGroup", group = "lobby", ackId = 1 });
            await member.SendJsonAsync(new { type = "joinGroup", group = "lobby", ackId = 1 });
            await member.SendJsonAsync(new { type = "joinGroup", group = "other", ackId = 2 });

            var refused = await plain.ReceiveJsonAsync(m => (string?)m["type"] == "ack");
            var joined = await member.ReceiveJsonAsync(m => (string?)m["type"] == "ack" && (int)m["ackId"]! == 1);
            var other = await member.ReceiveJsonAsync(m => (string?)m["type"] == "ack" && (int)m["ackId"]! == 2);

            Assert.False((bool)refused["success"]!);
            Assert.Equal("Forbidden", (string?)refused["error"]!["name"]);
            Assert.True((bool)joined["success"]!);
            Assert.Equal("Forbidden", (string?)other["error"]!["name"]);
            Assert.True(await Wire.Service(_emulator, "chat").GroupExistsAsync("lobby"));
        }
    }

    [Theory]
    [InlineData("webpubsub.joinLeaveGroups.team.*", "team.red", true)]
    [InlineData("webpubsub.joinLeaveGroups.team.*", "team.red.sub", false)]
    [InlineData("webpubsub.joinLeaveGroups.team.**", "team.red.sub", true)]
    [InlineData("webpubsub.joinLeaveGroups.room?", "room7", true)]
    [InlineData("webpubsub.joinLeaveGroups.room?", "room77", false)]
    [InlineData("webpubsub.joinLeaveGroup", "anything", true)]
    public async Task WildcardRolesMatchAsDocumented(string role, string group, bool allowed)
    {
        var (socket, _) = await Wire.ConnectAsync(_emulator, "chat", "u", roles: [role]);
        await using (socket)
        {
            await socket.SendJsonAsync(new { type = "joinGroup", group, ackId = 5 });
            var ack = await socket.ReceiveJsonAsync(m => (string?)m["type"] == "ack");
            Assert.Equal(allowed, (bool)ack["success"]!);
        }
    }

    [Fact]
    public async Task ARepeatedAckIdIsAnsweredDuplicateAndNotSentAgain()
    {
        string[] roles = ["webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"];
        var (sender, _) = await Wire.ConnectAsync(_emulator, "chat", "sender", roles: roles);
        var (receiver, _) = await Wire.ConnectAsync(_emulator, "chat", "receiver", roles: roles, groups: ["g"]);
        await using (sender)
        await using (receiver)
        {
            var message = new { type = "sendToGroup", group = "g", dataType = "text", data = "once", ackId = 7 };
            await sender.SendJsonAsync(message);
            var firstAck = await sender.ReceiveJsonAsync(m => (string?)m["type"] == "ack");
            await sender.SendJsonAsync(message);
            var secondAck = await sender.ReceiveJsonAsync(m => (string?)m["type"] == "ack");

            var delivered = await receiver.ReceiveJsonAsync(m => (string?)m["type"] == "message");
            Assert.True((bool)firstAck["success"]!);
            Assert.Equal("Duplicate", (string?)secondAck["error"]!["name"]);
            Assert.Equal("once", (string?)delivered["data"]);
            Assert.Equal("sender", (string?)delivered["fromUserId"]);
            Assert.Equal("g", (string?)delivered["group"]);
            Assert.True(await receiver.NothingArrivesWithinAsync(TimeSpan.FromMilliseconds(300)));
        }
    }

    [Fact]
    public async Task NoEchoKeepsAGroupMessageFromItsSender()
    {
        string[] roles = ["webpubsub.sendToGroup"];
        var (sender, _) = await Wire.ConnectAsync(_emulator, "chat", "s", roles: roles, groups: ["g"]);
        var (other, _) = await Wire.ConnectAsync(_emulator, "chat", "o", groups: ["g"]);
        await using (sender)
        await using (other)
        {
            await sender.SendJsonAsync(new { type = "sendToGroup", group = "g", noEcho = true, dataType = "binary", data = Convert.ToBase64String([1, 2, 3]) });
            var received = await other.ReceiveJsonAsync();

            Assert.Equal("binary", (string?)received["dataType"]);
            Assert.Equal(Convert.ToBase64String([1, 2, 3]), (string?)received["data"]);
            Assert.True(await sender.NothingArrivesWithinAsync(TimeSpan.FromMilliseconds(300)));
        }
    }

    [Fact]
    public async Task PingIsAnsweredWithPong()
    {
        var (socket, _) = await Wire.ConnectAsync(_emulator, "chat", "u");
        await using (socket)
        {
            await socket.SendJsonAsync(new { type = "ping" });
            var pong = await socket.ReceiveJsonAsync();
            Assert.Equal("pong", (string?)pong["type"]);
        }
    }

    [Fact]
    public async Task RawClientsGetPlainFramesOfTheRightKind()
    {
        await using var raw = await TestWebSocket.ConnectAsync(Wire.ClientUri(_emulator, "chat", "raw"));
        var service = Wire.Service(_emulator, "chat");

        await service.SendToUserAsync("raw", BinaryData.FromString("{\"a\":1}"), WebPubSubContentType.Json);
        await service.SendToUserAsync("raw", BinaryData.FromBytes(new byte[] { 9, 8, 7 }), WebPubSubContentType.Binary);
        var json = await raw.ReceiveAsync();
        var binary = await raw.ReceiveAsync();

        Assert.Null(raw.Subprotocol);
        Assert.Equal(WebSocketMessageType.Text, json.Type);
        Assert.Equal("{\"a\":1}", json.Text);
        Assert.Equal(WebSocketMessageType.Binary, binary.Type);
        Assert.Equal(new byte[] { 9, 8, 7 }, binary.Data);
    }

    [Fact]
    public async Task ADroppedReliableConnectionRecoversWithEveryUnacknowledgedMessageOnce()
    {
        var socket = await TestWebSocket.ConnectAsync(Wire.ClientUri(_emulator, "chat", "mobile"), Wire.Reliable);
        var connected = await socket.ReceiveJsonAsync();
        var connectionId = (string)connected["connectionId"]!;
        var token = (string)connected["reconnectionToken"]!;
        var service = Wire.Service(_emulator, "chat");

        await service.SendToConnectionAsync(connectionId, BinaryData.FromString("1"), WebPubSubContentType.Text);
        var one = await socket.ReceiveJsonAsync();
        await socket.SendJsonAsync(new { type = "sequenceAck", sequenceId = (ulong)one["sequenceId"]! });
        await service.SendToConnectionAsync(connectionId, BinaryData.FromString("2"), WebPubSubContentType.Text);
        await socket.ReceiveJsonAsync(); // received but never acknowledged
        socket.Abort();
        await socket.DisposeAsync();
        await service.SendToConnectionAsync(connectionId, BinaryData.FromString("3"), WebPubSubContentType.Text);

        var recoveryUri = new Uri($"ws://{_emulator.BaseUri.Authority}/client/hubs/chat?awps_connection_id={connectionId}&awps_reconnection_token={Uri.EscapeDataString(token)}");
        await using var recovered = await TestWebSocket.ConnectAsync(recoveryUri, Wire.Reliable);
        var again = await recovered.ReceiveJsonAsync();
        var resent = new[] { await recovered.ReceiveJsonAsync(), await recovered.ReceiveJsonAsync() };
        await service.SendToConnectionAsync(connectionId, BinaryData.FromString("4"), WebPubSubContentType.Text);
        var after = await recovered.ReceiveJsonAsync();

        Assert.Equal("connected", (string?)again["event"]);
        Assert.Equal(connectionId, (string?)again["connectionId"]);
        Assert.Equal(["2", "3"], resent.Select(m => (string)m["data"]!));
        Assert.Equal([2UL, 3UL], resent.Select(m => (ulong)m["sequenceId"]!));
        Assert.Equal(4UL, (ulong)after["sequenceId"]!);
        Assert.True(await service.ConnectionExistsAsync(connectionId));
    }

    [Fact]
    public async Task RecoveryWithAWrongTokenIsClosedWith1008()
    {
        var (socket, connectionId) = await Wire.ConnectAsync(_emulator, "chat", "u", Wire.Reliable);
        socket.Abort();
        await socket.DisposeAsync();

        var uri = new Uri($"ws://{_emulator.BaseUri.Authority}/client/hubs/chat?awps_connection_id={connectionId}&awps_reconnection_token=forged");
        await using var attempt = await TestWebSocket.ConnectAsync(uri, Wire.Reliable);

        Assert.Equal(WebSocketCloseStatus.PolicyViolation, await attempt.WaitForCloseAsync());
    }

    [Fact]
    public async Task RecoveringAConnectionTheServerClosedCompletesTheHandshakeThenClosesWith1008()
    {
        // The client offers its subprotocol as always; the handshake must still answer with one, or browsers fail
        // it as a network error and keep retrying recovery for 30 s instead of starting a new connection.
        var socket = await TestWebSocket.ConnectAsync(Wire.ClientUri(_emulator, "chat", "kiosk"), Wire.Reliable);
        var connected = await socket.ReceiveJsonAsync();
        var connectionId = (string)connected["connectionId"]!;
        var token = (string)connected["reconnectionToken"]!;
        await Wire.Service(_emulator, "chat").CloseConnectionAsync(connectionId, "Logged out.");
        Assert.Equal(WebSocketCloseStatus.NormalClosure, await socket.WaitForCloseAsync());
        await socket.DisposeAsync();

        var recoveryUri = new Uri($"ws://{_emulator.BaseUri.Authority}/client/hubs/chat?awps_connection_id={connectionId}&awps_reconnection_token={Uri.EscapeDataString(token)}");
        await using var attempt = await TestWebSocket.ConnectAsync(recoveryUri, Wire.Reliable);

        Assert.Equal(Wire.Reliable, attempt.Subprotocol); // .NET lets a missing one pass; browsers do not
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, await attempt.WaitForCloseAsync());
    }

    [Fact]
    public async Task AReliableClientThatNeverAcknowledgesIsClosedAfterAThousandMessages()
    {
        var (socket, connectionId) = await Wire.ConnectAsync(_emulator, "chat", "slow", Wire.Reliable);
        await using (socket)
        {
            var service = Wire.Service(_emulator, "chat");
            for (var i = 0; i <= EmulatorOptions.MaxUnackedMessages; i++)
            {
                await service.SendToConnectionAsync(connectionId, BinaryData.FromString("x"), WebPubSubContentType.Text);
            }

            Assert.Equal(WebSocketCloseStatus.PolicyViolation, await socket.WaitForCloseAsync(TimeSpan.FromSeconds(30)));
            Assert.False(await service.ConnectionExistsAsync(connectionId));
        }
    }

    [Fact]
    public async Task ClosingAConnectionOverRestTellsTheClientWhy()
    {
        var (socket, connectionId) = await Wire.ConnectAsync(_emulator, "chat", "u");
        await using (socket)
        {
            await Wire.Service(_emulator, "chat").CloseConnectionAsync(connectionId, "maintenance");

            var disconnected = await socket.ReceiveJsonAsync(m => (string?)m["event"] == "disconnected");
            Assert.Equal("maintenance", (string?)disconnected["message"]);
            Assert.Equal(WebSocketCloseStatus.NormalClosure, await socket.WaitForCloseAsync());
        }
    }

    [Fact]
    public async Task TheClientEndpointAlsoTakesTheHubAsAQueryParameter()
    {
        var token = WebPubSubTokens.CreateClientToken(_emulator.BaseUri, _emulator.AccessKey, "chat", "q", null, null, TimeSpan.FromMinutes(5), DateTimeOffset.UtcNow);
        await using var socket = await TestWebSocket.ConnectAsync(new Uri($"ws://{_emulator.BaseUri.Authority}/client/?hub=chat&access_token={token}"), Wire.Json);
        var connected = await socket.ReceiveJsonAsync();
        Assert.Equal("q", (string?)connected["userId"]);
        Assert.True(await Wire.Service(_emulator, "chat").UserExistsAsync("q"));
    }

    [Fact]
    public async Task AnAuthorizationHeaderWorksInsteadOfTheQueryToken()
    {
        var token = WebPubSubTokens.CreateClientToken(_emulator.BaseUri, _emulator.AccessKey, "chat", "h", null, null, TimeSpan.FromMinutes(5), DateTimeOffset.UtcNow);
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + token);
        socket.Options.AddSubProtocol(Wire.Json);
        await socket.ConnectAsync(new Uri($"ws://{_emulator.BaseUri.Authority}/client/hubs/chat"), CancellationToken.None);
        var buffer = new byte[4096];
        var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
        Assert.Contains("\"userId\":\"h\"", Encoding.UTF8.GetString(buffer, 0, result.Count));
    }
}
