using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using RailCloud.Testing;

namespace RailCloud.WebPubSubEmulator.Tests;

/// <summary>The emulator calling a real HTTP event handler, as the service does.</summary>
public sealed class UpstreamTests : IAsyncLifetime
{
    private UpstreamHost _upstream = null!;
    private EmulatorServer _emulator = null!;

    public async Task InitializeAsync()
    {
        _upstream = await UpstreamHost.StartAsync();
        var settings = EmulatorServer.HandlerSettings("chat", _upstream.UrlTemplate, "connect,connected,disconnected", "*");
        settings["WebPubSub:UpstreamRetryDelays"] = "00:00:00.05,00:00:00.05";
        _emulator = await EmulatorServer.StartAsync(settings);
    }

    public async Task DisposeAsync()
    {
        await _emulator.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Theory]
    [InlineData("\".\"")]
    [InlineData("\"..\"")]
    [InlineData("\"a/b\"")]
    [InlineData("\"caf\u00e9\"")]
    [InlineData("\"a\\r\\nce-eventName: other\"")]
    [InlineData("\"tab\\there\"")]
    [InlineData("\"\\ud800\"")]   // a lone surrogate: valid JSON, no valid text
    public async Task AnEventNameNoHandlerUrlOrHeaderCanCarryIsDeclinedAndTheHandlerHearsOnlyDisconnected(string name)
    {
        var (socket, connectionId) = await Wire.ConnectAsync(_emulator, "chat", "mallory");
        await using (socket)
        {
            await socket.SendTextAsync($$"""{"type":"event","event":{{name}},"dataType":"json","data":{},"ackId":1}""");

            Assert.Equal(WebSocketCloseStatus.PolicyViolation, await socket.WaitForCloseAsync());
        }
        await _upstream.WaitForAsync(r => r.Header("ce-type") == "azure.webpubsub.sys.disconnected" && r.Header("ce-connectionId") == connectionId);

        Assert.DoesNotContain(_upstream.Requests, r => r.Header("ce-connectionId") == connectionId && r.Header("ce-type")!.StartsWith("azure.webpubsub.user.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TextDataWithALoneSurrogateIsDeclinedAndTheHandlerIsToldTheClientLeft()
    {
        var (socket, connectionId) = await Wire.ConnectAsync(_emulator, "chat", "mallory");
        await using (socket)
        {
            await socket.SendTextAsync("""{"type":"event","event":"hello","dataType":"text","data":"\udc00 alone"}""");

            Assert.Equal(WebSocketCloseStatus.PolicyViolation, await socket.WaitForCloseAsync());
        }
        var disconnected = await _upstream.WaitForAsync(r => r.Header("ce-type") == "azure.webpubsub.sys.disconnected" && r.Header("ce-connectionId") == connectionId);

        Assert.Contains("surrogate", disconnected.Text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task EventsCarryTheCloudEventsHeadersAndAValidSignature()
    {
        var (socket, connectionId) = await Wire.ConnectAsync(_emulator, "chat", "alice");
        await using (socket)
        {
            await socket.SendJsonAsync(new { type = "event", @event = "hello", dataType = "json", data = new { x = 1 }, ackId = 1 });
            await socket.ReceiveJsonAsync(m => (string?)m["type"] == "ack");
            await socket.CloseAsync();
        }

        var validation = await _upstream.WaitForAsync(r => r.Method == "OPTIONS");
        var connect = await _upstream.WaitForAsync(r => r.Header("ce-type") == "azure.webpubsub.sys.connect");
        var user = await _upstream.WaitForAsync(r => r.Header("ce-type") == "azure.webpubsub.user.hello");
        var disconnected = await _upstream.WaitForAsync(r => r.Header("ce-type") == "azure.webpubsub.sys.disconnected");
        var expectedSignature = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(_emulator.AccessKey), Encoding.UTF8.GetBytes(connectionId)));

        Assert.Equal(_emulator.BaseUri.Authority, validation.Header("WebHook-Request-Origin"));
        Assert.EndsWith("/upstream/chat/validate", validation.Path);
        Assert.EndsWith("/upstream/chat/connect", connect.Path);
        Assert.EndsWith("/upstream/chat/hello", user.Path);
        foreach (var request in new[] { connect, user, disconnected })
        {
            Assert.Equal("1.0", request.Header("ce-specversion"));
            Assert.Equal("chat", request.Header("ce-hub"));
            Assert.Equal(connectionId, request.Header("ce-connectionId"));
            Assert.Equal("alice", request.Header("ce-userId"));
            Assert.Equal($"/hubs/chat/client/{connectionId}", request.Header("ce-source"));
            Assert.Equal(expectedSignature, request.Header("ce-signature"));
            Assert.Equal(_emulator.BaseUri.Authority, request.Header("WebHook-Request-Origin"));
            Assert.Equal("1.0", request.Header("ce-awpsversion"));
        }
        Assert.Equal("0", connect.Header("ce-id"));
        Assert.True(long.Parse(user.Header("ce-id")!) > 0);
        Assert.Equal("hello", user.Header("ce-eventName"));
        Assert.Equal("application/json", user.ContentType);
        Assert.Equal("{\"x\":1}", user.Text);
        Assert.Equal("json.webpubsub.azure.v1", user.Header("ce-subprotocol"));
        Assert.Contains("closed", (string?)JsonNode.Parse(disconnected.Text)!["reason"]);
    }

    [Fact]
    public async Task TheConnectBodyHasClaimsQueryHeadersAndSubprotocolsButNoAccessToken()
    {
        var uri = new Uri(Wire.ClientUri(_emulator, "chat", "alice", roles: ["webpubsub.joinLeaveGroup"]) + "&kiosk=K1");
        await using var socket = await TestWebSocket.ConnectAsync(uri, Wire.Reliable);
        var connect = await _upstream.WaitForAsync(r => r.Header("ce-type") == "azure.webpubsub.sys.connect");
        var body = JsonNode.Parse(connect.Text)!;

        Assert.Equal("alice", (string?)body["claims"]!["sub"]![0]);
        Assert.Equal("webpubsub.joinLeaveGroup", (string?)body["claims"]!["role"]![0]);
        Assert.Equal("K1", (string?)body["query"]!["kiosk"]![0]);
        Assert.Null(body["query"]!["access_token"]);
        Assert.NotNull(body["headers"]!["Host"]);
        Assert.Equal(Wire.Reliable, (string?)body["subprotocols"]![0]);
    }

    [Fact]
    public async Task AConnectHandlerRefusalIsTheClientsAnswer()
    {
        _upstream.Handle = (context, body) => Task.FromResult(context.Request.Headers["ce-type"] == "azure.webpubsub.sys.connect"
            ? Results.Text("not you", statusCode: 403)
            : UpstreamHost.DefaultHandle(context, body).Result);

        var (status, socket) = await TestWebSocket.TryConnectAsync(Wire.ClientUri(_emulator, "chat", "mallory"), Wire.Json);

        Assert.Equal(403, status);
        Assert.Null(socket);
        Assert.False(await Wire.Service(_emulator, "chat").UserExistsAsync("mallory"));
        Assert.Empty(_upstream.Events("azure.webpubsub.sys.connected"));
    }

    [Fact]
    public async Task AConnectHandlerCanSetUserGroupsRolesAndState()
    {
        _upstream.Handle = (context, body) =>
        {
            if (context.Request.Headers["ce-type"] == "azure.webpubsub.sys.connect")
            {
                context.Response.Headers["ce-connectionState"] = Convert.ToBase64String("{\"role\":\"monitor\"}"u8.ToArray());
                return Task.FromResult(Results.Json(new { userId = "renamed", groups = new[] { "monitors" }, roles = new[] { "webpubsub.joinLeaveGroup.extra" }, subprotocol = Wire.Json }));
            }
            return UpstreamHost.DefaultHandle(context, body);
        };

        await using var socket = await TestWebSocket.ConnectAsync(Wire.ClientUri(_emulator, "chat", "original"), "custom.v1", Wire.Json);
        var connected = await socket.ReceiveJsonAsync();
        await socket.SendJsonAsync(new { type = "joinGroup", group = "extra", ackId = 1 });
        var ack = await socket.ReceiveJsonAsync(m => (string?)m["type"] == "ack");
        await socket.SendJsonAsync(new { type = "event", @event = "ping", dataType = "text", data = "x", ackId = 2 });
        await socket.ReceiveJsonAsync(m => (string?)m["type"] == "ack" && (int)m["ackId"]! == 2);
        var user = await _upstream.WaitForAsync(r => r.Header("ce-type") == "azure.webpubsub.user.ping");

        Assert.Equal(Wire.Json, socket.Subprotocol);
        Assert.Equal("renamed", (string?)connected["userId"]);
        Assert.True((bool)ack["success"]!);
        Assert.True(await Wire.Service(_emulator, "chat").GroupExistsAsync("monitors"));
        Assert.Equal("renamed", user.Header("ce-userId"));
        Assert.Equal(Convert.ToBase64String("{\"role\":\"monitor\"}"u8.ToArray()), user.Header("ce-connectionState"));
    }

    [Fact]
    public async Task AUserEventReplyReachesTheSenderAndItsStateSticks()
    {
        _upstream.Handle = (context, body) =>
        {
            if (context.Request.Headers["ce-type"] == "azure.webpubsub.user.echo")
            {
                context.Response.Headers["ce-connectionState"] = Convert.ToBase64String("{\"count\":1}"u8.ToArray());
                return Task.FromResult(Results.Bytes(body, context.Request.ContentType));
            }
            return UpstreamHost.DefaultHandle(context, body);
        };
        var (socket, _) = await Wire.ConnectAsync(_emulator, "chat", "alice");
        await using (socket)
        {
            await socket.SendJsonAsync(new { type = "event", @event = "echo", dataType = "json", data = new { n = 5 } });
            var jsonReply = await socket.ReceiveJsonAsync(m => (string?)m["type"] == "message");
            await socket.SendJsonAsync(new { type = "event", @event = "echo", dataType = "binary", data = Convert.ToBase64String([4, 2]) });
            var binaryReply = await socket.ReceiveJsonAsync(m => (string?)m["type"] == "message");
            await socket.SendJsonAsync(new { type = "event", @event = "after", dataType = "text", data = "x", ackId = 9 });
            await socket.ReceiveJsonAsync(m => (string?)m["type"] == "ack");

            Assert.Equal("server", (string?)jsonReply["from"]);
            Assert.Equal("json", (string?)jsonReply["dataType"]);
            Assert.Equal(5, (int)jsonReply["data"]!["n"]!);
            Assert.Equal("binary", (string?)binaryReply["dataType"]);
            Assert.Equal(Convert.ToBase64String([4, 2]), (string?)binaryReply["data"]);
            var after = await _upstream.WaitForAsync(r => r.Header("ce-type") == "azure.webpubsub.user.after");
            Assert.Equal(Convert.ToBase64String("{\"count\":1}"u8.ToArray()), after.Header("ce-connectionState"));
        }
    }

    [Fact]
    public async Task AFailingUserEventHandlerIsAnErrorAckWithAnAckIdAndADroppedClientWithout()
    {
        _upstream.Handle = (context, body) => Task.FromResult(context.Request.Headers["ce-type"] == "azure.webpubsub.user.boom"
            ? Results.StatusCode(500)
            : UpstreamHost.DefaultHandle(context, body).Result);
        var (withAck, _) = await Wire.ConnectAsync(_emulator, "chat", "a");
        var (withoutAck, _) = await Wire.ConnectAsync(_emulator, "chat", "b");
        await using (withAck)
        await using (withoutAck)
        {
            await withAck.SendJsonAsync(new { type = "event", @event = "boom", dataType = "text", data = "x", ackId = 3 });
            await withoutAck.SendJsonAsync(new { type = "event", @event = "boom", dataType = "text", data = "x" });

            var ack = await withAck.ReceiveJsonAsync(m => (string?)m["type"] == "ack");
            Assert.Equal("InternalServerError", (string?)ack["error"]!["name"]);
            Assert.Equal(WebSocketCloseStatus.InternalServerError, await withoutAck.WaitForCloseAsync());
            Assert.True(await Wire.Service(_emulator, "chat").UserExistsAsync("a"));
        }
    }

    [Fact]
    public async Task ARawClientsFramesBecomeMessageEventsAndRepliesComeBackAsFrames()
    {
        _upstream.Handle = (context, body) => Task.FromResult(context.Request.Headers["ce-type"] == "azure.webpubsub.user.message"
            ? Results.Text("got " + Encoding.UTF8.GetString(body))
            : UpstreamHost.DefaultHandle(context, body).Result);
        await using var raw = await TestWebSocket.ConnectAsync(Wire.ClientUri(_emulator, "chat", "raw"));

        await raw.SendTextAsync("hi");
        var reply = await raw.ReceiveAsync();
        var request = await _upstream.WaitForAsync(r => r.Header("ce-type") == "azure.webpubsub.user.message");

        Assert.Equal("got hi", reply.Text);
        Assert.Equal(WebSocketMessageType.Text, reply.Type);
        Assert.StartsWith("text/plain", request.ContentType);
        Assert.Null(request.Header("ce-subprotocol"));
    }

    [Fact]
    public async Task AsynchronousEventsAreRetriedAfterATransientFailure()
    {
        var failures = 0;
        _upstream.Handle = (context, body) =>
        {
            if (context.Request.Headers["ce-type"] == "azure.webpubsub.sys.connected" && Interlocked.Increment(ref failures) <= 2)
            {
                return Task.FromResult(Results.StatusCode(503));
            }
            return UpstreamHost.DefaultHandle(context, body);
        };

        var (socket, connectionId) = await Wire.ConnectAsync(_emulator, "chat", "alice");
        await using (socket)
        {
            await _upstream.WaitForAsync(r => r.Header("ce-type") == "azure.webpubsub.sys.connected" && _upstream.Events("azure.webpubsub.sys.connected").Count() == 3);
            Assert.Equal(3, _upstream.Events("azure.webpubsub.sys.connected").Count(r => r.Header("ce-connectionId") == connectionId));
        }
    }

    [Fact]
    public async Task AHandlerThatFailsTheAbuseProtectionHandshakeGetsNoEvents()
    {
        _upstream.Handle = (context, body) => Task.FromResult(HttpMethods.IsOptions(context.Request.Method)
            ? Results.Ok() // no WebHook-Allowed-Origin
            : Results.NoContent());

        var (status, _) = await TestWebSocket.TryConnectAsync(Wire.ClientUri(_emulator, "chat", "alice"), Wire.Json);

        Assert.Equal(500, status);
        Assert.DoesNotContain(_upstream.Requests, r => r.Method == "POST");
    }
}
