using System.Net;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using RailCloud.Testing;
using RailCloud.WebPubSub;

namespace RailCloud.Signaling.Tests;

/// <summary>The C# REST client against the emulator, operation by operation, with real WebSocket clients watching.</summary>
public sealed class ServiceClientTests : IAsyncLifetime
{
    private const string Json = "json.webpubsub.azure.v1";
    private EmulatorServer _emulator = null!;
    private WebPubSubServiceClient _service = null!;

    public async Task InitializeAsync()
    {
        _emulator = await EmulatorServer.StartAsync();
        _service = WebPubSubServiceClient.Create(new WebPubSubOptions { ConnectionString = _emulator.ConnectionString, Hub = "hub1" });
    }

    public async Task DisposeAsync() => await _emulator.DisposeAsync();

    private async Task<(TestWebSocket Socket, string ConnectionId)> ConnectAsync(string userId, string[]? roles = null, string[]? groups = null)
    {
        var uri = await _service.GetClientAccessUriAsync(userId, roles, groups);
        var socket = await TestWebSocket.ConnectAsync(uri, Json);
        var connected = await socket.ReceiveJsonAsync(m => (string?)m["event"] == "connected");
        return (socket, (string)connected["connectionId"]!);
    }

    [Fact]
    public async Task TheClientAccessUriCarriesUserRolesAndGroups()
    {
        var uri = await _service.GetClientAccessUriAsync("kiosk-1", ["webpubsub.joinLeaveGroup.crew"], ["monitors"], TimeSpan.FromMinutes(5));
        await using var socket = await TestWebSocket.ConnectAsync(uri, Json);
        var connected = await socket.ReceiveJsonAsync();
        await socket.SendJsonAsync(new { type = "joinGroup", group = "crew", ackId = 1 });
        var ack = await socket.ReceiveJsonAsync(m => (string?)m["type"] == "ack");

        Assert.Equal("ws", uri.Scheme);
        Assert.Equal("/client/hubs/hub1", uri.AbsolutePath);
        Assert.Equal("kiosk-1", (string?)connected["userId"]);
        Assert.True((bool)ack["success"]!);
        Assert.True(await _service.GroupExistsAsync("monitors"));
    }

    [Fact]
    public async Task AnExpiredClientAccessUriIsRefused()
    {
        var past = new FixedTime(DateTimeOffset.UtcNow.AddHours(-2));
        var service = WebPubSubServiceClient.Create(new WebPubSubOptions { ConnectionString = _emulator.ConnectionString, Hub = "hub1" }, time: past);
        var uri = await service.GetClientAccessUriAsync("u", lifetime: TimeSpan.FromMinutes(30));
        var (status, _) = await TestWebSocket.TryConnectAsync(uri, Json);
        Assert.Equal(401, status);
    }

    [Fact]
    public async Task SendsReachAllAGroupAUserAndAConnectionInEachPayloadKind()
    {
        var (a, aId) = await ConnectAsync("a", groups: ["g"]);
        var (b, bId) = await ConnectAsync("b");
        await using (a)
        await using (b)
        {
            await _service.SendToAllAsync(BinaryData.FromString("{\"all\":true}"), WebPubSubContentType.Json);
            var allA = await a.ReceiveJsonAsync();
            var allB = await b.ReceiveJsonAsync();
            await _service.SendToAllAsync(BinaryData.FromString("not a"), WebPubSubContentType.Text, excluded: [aId]);
            var notA = await b.ReceiveJsonAsync();
            await _service.SendToAllAsync(BinaryData.FromString("only b"), WebPubSubContentType.Text, filter: "userId eq 'b'");
            var onlyB = await b.ReceiveJsonAsync();
            await _service.SendToGroupAsync("g", BinaryData.FromBytes(new byte[] { 1, 2 }), WebPubSubContentType.Binary);
            var group = await a.ReceiveJsonAsync();
            await _service.SendToUserAsync("b", BinaryData.FromString("to user b"), WebPubSubContentType.Text);
            var user = await b.ReceiveJsonAsync();
            await _service.SendJsonToConnectionAsync(aId, new { to = "a's connection" });
            var connection = await a.ReceiveJsonAsync();

            Assert.True((bool)allA["data"]!["all"]!);
            Assert.True((bool)allB["data"]!["all"]!);
            Assert.Equal("not a", (string?)notA["data"]);
            Assert.Equal("only b", (string?)onlyB["data"]);
            Assert.Equal(("group", "g", "binary", "AQI="), ((string?)group["from"], (string?)group["group"], (string?)group["dataType"], (string?)group["data"]));
            Assert.Equal("to user b", (string?)user["data"]);
            Assert.Equal("a's connection", (string?)connection["data"]!["to"]);
            Assert.True(await a.NothingArrivesWithinAsync(TimeSpan.FromMilliseconds(200)), "a got something meant for others");
            Assert.True(await b.NothingArrivesWithinAsync(TimeSpan.FromMilliseconds(50)), "b got something meant for others");
        }
    }

    [Fact]
    public async Task ConnectionsAndUsersJoinAndLeaveGroups()
    {
        var (a, aId) = await ConnectAsync("a");
        var (b, bId) = await ConnectAsync("b");
        await using (a)
        await using (b)
        {
            await _service.AddConnectionToGroupAsync("g1", aId);
            await _service.AddUserToGroupAsync("g2", "b");
            Assert.True(await _service.GroupExistsAsync("g1"));
            Assert.True(await _service.GroupExistsAsync("g2"));
            var members = new List<(string, string?)>();
            await foreach (var member in _service.ListConnectionsInGroupAsync("g1"))
            {
                members.Add(member);
            }
            Assert.Equal([(aId, "a")], members);

            await _service.RemoveConnectionFromGroupAsync("g1", aId);
            await _service.RemoveUserFromGroupAsync("g2", "b");
            Assert.False(await _service.GroupExistsAsync("g1"));
            Assert.False(await _service.GroupExistsAsync("g2"));

            await _service.AddConnectionToGroupAsync("x", aId);
            await _service.AddConnectionToGroupAsync("y", aId);
            await _service.RemoveConnectionFromAllGroupsAsync(aId);
            await _service.AddUserToGroupAsync("z", "b");
            await _service.RemoveUserFromAllGroupsAsync("b");
            foreach (var group in new[] { "x", "y", "z" })
            {
                Assert.False(await _service.GroupExistsAsync(group), group);
            }

            await _service.AddConnectionsToGroupsAsync(["bulk1", "bulk2"], "userId eq 'a'");
            Assert.True(await _service.GroupExistsAsync("bulk1") && await _service.GroupExistsAsync("bulk2"));
            await _service.RemoveConnectionsFromGroupsAsync(["bulk1", "bulk2"], "userId eq 'a'");
            Assert.False(await _service.GroupExistsAsync("bulk1") || await _service.GroupExistsAsync("bulk2"));
        }
    }

    [Fact]
    public async Task GroupListingPagesThroughEveryMember()
    {
        var sockets = new List<TestWebSocket>();
        for (var i = 0; i < 5; i++)
        {
            sockets.Add((await ConnectAsync($"user{i}", groups: ["paged"])).Socket);
        }
        var listed = new List<string?>();
        await foreach (var (_, userId) in _service.ListConnectionsInGroupAsync("paged", pageSize: 2))
        {
            listed.Add(userId);
        }
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"user{i}").Order(), listed.Order());
        foreach (var socket in sockets)
        {
            await socket.DisposeAsync();
        }
    }

    [Fact]
    public async Task ClosingConnectionsUsersGroupsAndEveryoneEndsTheRightSockets()
    {
        var (a, aId) = await ConnectAsync("a");
        var (b, _) = await ConnectAsync("b");
        var (c, _) = await ConnectAsync("c", groups: ["doomed"]);
        var (d, dId) = await ConnectAsync("d");
        var (e, eId) = await ConnectAsync("e");
        await using (a) await using (b) await using (c) await using (d) await using (e)
        {
            await _service.CloseConnectionAsync(aId, "one");
            Assert.Equal(WebSocketCloseStatus.NormalClosure, await a.WaitForCloseAsync());
            await _service.CloseUserConnectionsAsync("b");
            Assert.Equal(WebSocketCloseStatus.NormalClosure, await b.WaitForCloseAsync());
            await _service.CloseGroupConnectionsAsync("doomed");
            Assert.Equal(WebSocketCloseStatus.NormalClosure, await c.WaitForCloseAsync());
            await _service.CloseAllConnectionsAsync(excluded: [eId], reason: "everyone but e");
            Assert.Equal(WebSocketCloseStatus.NormalClosure, await d.WaitForCloseAsync());

            Assert.False(await _service.ConnectionExistsAsync(aId));
            Assert.False(await _service.UserExistsAsync("b"));
            Assert.False(await _service.ConnectionExistsAsync(dId));
            Assert.True(await _service.ConnectionExistsAsync(eId));
            Assert.True(await _service.UserExistsAsync("e"));
        }
    }

    [Fact]
    public async Task PermissionsCanBeGrantedCheckedAndRevoked()
    {
        var (socket, id) = await ConnectAsync("p");
        await using (socket)
        {
            Assert.False(await _service.CheckPermissionAsync(WebPubSubPermission.SendToGroup, id, "news"));
            await _service.GrantPermissionAsync(WebPubSubPermission.SendToGroup, id, "news");
            Assert.True(await _service.CheckPermissionAsync(WebPubSubPermission.SendToGroup, id, "news"));
            Assert.False(await _service.CheckPermissionAsync(WebPubSubPermission.SendToGroup, id, "other"));

            await socket.SendJsonAsync(new { type = "sendToGroup", group = "news", dataType = "text", data = "x", ackId = 1 });
            var allowed = await socket.ReceiveJsonAsync(m => (string?)m["type"] == "ack");
            await _service.RevokePermissionAsync(WebPubSubPermission.SendToGroup, id, "news");
            await socket.SendJsonAsync(new { type = "sendToGroup", group = "news", dataType = "text", data = "x", ackId = 2 });
            var refused = await socket.ReceiveJsonAsync(m => (string?)m["type"] == "ack");

            Assert.True((bool)allowed["success"]!);
            Assert.Equal("Forbidden", (string?)refused["error"]!["name"]);
            Assert.False(await _service.CheckPermissionAsync(WebPubSubPermission.SendToGroup, id, "news"));
        }
    }

    [Fact]
    public async Task ExistsIsFalseForWhatIsNotThere()
    {
        Assert.False(await _service.ConnectionExistsAsync("nope"));
        Assert.False(await _service.UserExistsAsync("nobody"));
        Assert.False(await _service.GroupExistsAsync("empty"));
    }

    [Fact]
    public async Task AServiceRefusalSurfacesAsATypedError()
    {
        var error = await Assert.ThrowsAsync<WebPubSubRequestException>(() => _service.SendToGroupAsync(new string('g', 1025), BinaryData.FromString("x"), WebPubSubContentType.Text));
        Assert.Equal(HttpStatusCode.BadRequest, error.Status);
        Assert.Equal("BadRequest", error.ErrorCode);
        Assert.Contains("not a valid group name", error.ServiceMessage);

        var badFilter = await Assert.ThrowsAsync<WebPubSubRequestException>(() => _service.SendToAllAsync(BinaryData.FromString("x"), WebPubSubContentType.Text, filter: "userId like 'a'"));
        Assert.Equal("InvalidFilter", badFilter.ErrorCode);
    }

    [Fact]
    public async Task AWrongKeyIsA401NotARetryStorm()
    {
        var wrong = WebPubSubServiceClient.Create(new WebPubSubOptions
        {
            ConnectionString = $"Endpoint={_emulator.BaseUri.GetLeftPart(UriPartial.Authority)};AccessKey={new string('W', 44)};Version=1.0;",
            Hub = "hub1",
        });
        var error = await Assert.ThrowsAsync<WebPubSubRequestException>(() => wrong.SendToAllAsync(BinaryData.FromString("x"), WebPubSubContentType.Text));
        Assert.Equal(HttpStatusCode.Unauthorized, error.Status);
    }

    [Fact]
    public async Task TransientFailuresAreRetriedAndPersistentOnesSurface()
    {
        // A real HTTP server on loopback that answers 503 (then 429 with Retry-After) before succeeding.
        var calls = 0;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        await using var app = builder.Build();
        app.MapPost("/api/hubs/{hub}/connections/{id}/:send", (HttpContext context, string id) =>
        {
            var n = Interlocked.Increment(ref calls);
            if (id == "always-down") return Results.StatusCode(503);
            if (n == 1) return Results.StatusCode(503);
            if (n == 2)
            {
                context.Response.Headers.RetryAfter = "0";
                return Results.StatusCode(429);
            }
            return Results.Accepted();
        });
        await app.StartAsync();
        var service = WebPubSubServiceClient.Create(new WebPubSubOptions { ConnectionString = $"Endpoint={app.Urls.First()};AccessKey={new string('K', 44)};Version=1.0;", Hub = "h" });

        await service.SendToConnectionAsync("c1", BinaryData.FromString("x"), WebPubSubContentType.Text);
        Assert.Equal(3, calls);

        calls = 0;
        var error = await Assert.ThrowsAsync<WebPubSubRequestException>(() => service.SendToConnectionAsync("always-down", BinaryData.FromString("x"), WebPubSubContentType.Text));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, error.Status);
        Assert.Equal(4, calls); // the first try and three retries
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
