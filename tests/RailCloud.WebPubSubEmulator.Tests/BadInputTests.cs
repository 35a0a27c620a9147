using System.Net;
using System.Net.WebSockets;
using System.Text;
using RailCloud.Testing;
using RailCloud.WebPubSub;

namespace RailCloud.WebPubSubEmulator.Tests;

/// <summary>Everything here is refused with the documented answer, and the emulator keeps serving everyone else.</summary>
public sealed class BadInputTests : IAsyncLifetime
{
    private EmulatorServer _emulator = null!;
    private TestWebSocket _bystander = null!;
    private string _bystanderId = null!;
    private readonly HttpClient _http = new();

    public async Task InitializeAsync()
    {
        _emulator = await EmulatorServer.StartAsync();
        (_bystander, _bystanderId) = await Wire.ConnectAsync(_emulator, "chat", "bystander");
    }

    public async Task DisposeAsync()
    {
        // Whatever the test did, a well-behaved client on the same emulator is still served.
        await Wire.Service(_emulator, "chat").SendToConnectionAsync(_bystanderId, BinaryData.FromString("still here"), WebPubSubContentType.Text);
        var message = await _bystander.ReceiveJsonAsync(m => (string?)m["type"] == "message");
        Assert.Equal("still here", (string?)message["data"]);
        await _bystander.DisposeAsync();
        await _emulator.DisposeAsync();
        _http.Dispose();
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("[1,2,3]")]
    [InlineData("{\"no\":\"type\"}")]
    [InlineData("{\"type\":\"teleport\"}")]
    [InlineData("{\"type\":\"joinGroup\"}")]
    [InlineData("{\"type\":\"event\",\"data\":1}")]
    [InlineData("{\"type\":\"event\",\"event\":\"e\",\"dataType\":\"binary\",\"data\":\"%%%not-base64\"}")]
    [InlineData("{\"type\":\"event\",\"event\":\"e\",\"dataType\":\"text\",\"data\":42}")]
    [InlineData("{\"type\":\"event\",\"event\":\"e\",\"dataType\":\"yaml\",\"data\":\"a: b\"}")]
    [InlineData("{\"type\":\"sendToGroup\",\"group\":\"g\",\"data\":1,\"ackId\":-1}")]
    [InlineData("{\"type\":\"sequenceAck\",\"sequenceId\":\"x\"}")]
    public async Task AFrameThatDoesNotFollowTheProtocolDeclinesTheClient(string frame)
    {
        var (socket, connectionId) = await Wire.ConnectAsync(_emulator, "chat", "bad");
        await using (socket)
        {
            await socket.SendTextAsync(frame);

            var disconnected = await socket.ReceiveJsonAsync(m => (string?)m["event"] == "disconnected");
            Assert.False(string.IsNullOrEmpty((string?)disconnected["message"]));
            Assert.Equal(WebSocketCloseStatus.PolicyViolation, await socket.WaitForCloseAsync());
            Assert.False(await Wire.Service(_emulator, "chat").ConnectionExistsAsync(connectionId));
        }
    }

    [Theory]
    [InlineData(new byte[] { 0x7B, 0x22, 0x74, 0x79, 0x70, 0x65, 0x22, 0x3A, 0x22, 0xFF, 0xFE, 0x22, 0x7D })]   // {"type":"<FF FE>"}
    [InlineData(new byte[] { 0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D })]                              // an overlong/broken sequence in a key
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })]                                                            // a UTF-16 surrogate encoded as UTF-8
    public async Task ATextFrameThatIsNotUtf8EndsTheConnectionAsRfc6455Says(byte[] frame)
    {
        var (socket, connectionId) = await Wire.ConnectAsync(_emulator, "chat", "bad");
        await using (socket)
        {
            await socket.Socket.SendAsync(frame, WebSocketMessageType.Text, true, CancellationToken.None);

            Assert.Equal(WebSocketCloseStatus.InvalidPayloadData, await socket.WaitForCloseAsync());   // 1007
            Assert.False(await Wire.Service(_emulator, "chat").ConnectionExistsAsync(connectionId));
        }
    }

    [Fact]
    public async Task ABinaryFrameOnTheJsonSubprotocolDeclinesTheClient()
    {
        var (socket, _) = await Wire.ConnectAsync(_emulator, "chat", "bad");
        await using (socket)
        {
            await socket.SendBinaryAsync([1, 2, 3]);
            Assert.Equal(WebSocketCloseStatus.PolicyViolation, await socket.WaitForCloseAsync());
        }
    }

    [Fact]
    public async Task AMessageOverOneMegabyteClosesTheConnectionAsTooBig()
    {
        var (socket, _) = await Wire.ConnectAsync(_emulator, "chat", "big");
        await using (socket)
        {
            var data = new string('a', 1024 * 1024);
            await socket.SendTextAsync($"{{\"type\":\"event\",\"event\":\"e\",\"dataType\":\"text\",\"data\":\"{data}\"}}");
            Assert.Equal(WebSocketCloseStatus.MessageTooBig, await socket.WaitForCloseAsync());
        }
    }

    [Fact]
    public async Task DeeplyNestedJsonIsDeclinedNotACrash()
    {
        var (socket, _) = await Wire.ConnectAsync(_emulator, "chat", "deep");
        await using (socket)
        {
            var nested = new StringBuilder("{\"type\":\"event\",\"event\":\"e\",\"data\":");
            nested.Append('[', 10_000).Append(']', 10_000).Append('}');
            await socket.SendTextAsync(nested.ToString());
            Assert.Equal(WebSocketCloseStatus.PolicyViolation, await socket.WaitForCloseAsync());
        }
    }

    public static TheoryData<string, string> BadTokens()
    {
        return new TheoryData<string, string>
        {
            { "missing", "" },
            { "garbage", "not.a.jwt" },
            { "wrong key", "KEY:" + new string('Z', 44) },
            { "expired", "EXPIRED" },
            { "other hub", "HUB:other" },
            { "alg none", "NONE" },
        };
    }

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task ABadAccessTokenIsRefusedWith401(string why, string kind)
    {
        string token = kind switch
        {
            "" => "",
            "EXPIRED" => WebPubSubTokens.CreateClientToken(_emulator.BaseUri, _emulator.AccessKey, "chat", "u", null, null, TimeSpan.FromMinutes(5), DateTimeOffset.UtcNow.AddHours(-1)),
            "NONE" => UnsignedToken(),
            _ when kind.StartsWith("KEY:") => WebPubSubTokens.CreateClientToken(_emulator.BaseUri, kind[4..], "chat", "u", null, null, TimeSpan.FromMinutes(5), DateTimeOffset.UtcNow),
            _ when kind.StartsWith("HUB:") => WebPubSubTokens.CreateClientToken(_emulator.BaseUri, _emulator.AccessKey, kind[4..], "u", null, null, TimeSpan.FromMinutes(5), DateTimeOffset.UtcNow),
            _ => kind,
        };
        var (status, socket) = await TestWebSocket.TryConnectAsync(new Uri($"ws://{_emulator.BaseUri.Authority}/client/hubs/chat?access_token={Uri.EscapeDataString(token)}"), Wire.Json);
        Assert.True(status == 401, $"{why}: expected 401, got {status}");
        Assert.Null(socket);
    }

    [Fact]
    public async Task AnInvalidHubNameIsRefusedWith400()
    {
        var (status, _) = await TestWebSocket.TryConnectAsync(new Uri($"ws://{_emulator.BaseUri.Authority}/client/hubs/9bad"), Wire.Json);
        Assert.Equal(400, status);
    }

    [Fact]
    public async Task RestCallsWithoutAValidTokenAreRefusedWith401AndChangeNothing()
    {
        var path = $"api/hubs/chat/connections/{_bystanderId}?api-version=2024-12-01";
        using var none = new HttpRequestMessage(HttpMethod.Delete, new Uri(_emulator.BaseUri, path));
        using var wrongKey = Wire.Rest(_emulator, HttpMethod.Delete, path, accessKey: new string('Q', 44));
        using var wrongAudience = Wire.Rest(_emulator, HttpMethod.Delete, path);
        // Re-point the request without re-signing: the token names the bystander's URL, not this one.
        wrongAudience.RequestUri = new Uri(_emulator.BaseUri, path.Replace(_bystanderId, "x" + _bystanderId));

        foreach (var request in new[] { none, wrongKey, wrongAudience })
        {
            using var response = await _http.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("Unauthorized", response.Headers.GetValues("x-ms-error-code").Single());
        }
        Assert.True(await Wire.Service(_emulator, "chat").ConnectionExistsAsync(_bystanderId));
    }

    [Theory]
    [InlineData("POST", "api/hubs/chat/groups/%20%20/:send?api-version=2024-12-01", "text/plain", "x", 400, "BadRequest")]
    [InlineData("POST", "api/hubs/chat/:send?api-version=1999-01-01", "text/plain", "x", 400, "BadRequest")]
    [InlineData("POST", "api/hubs/chat/:send?api-version=2024-12-01", "application/xml", "<x/>", 415, "UnsupportedMediaType")]
    [InlineData("POST", "api/hubs/chat/:send?api-version=2024-12-01", "application/json", "{not json", 400, "BadRequest")]
    [InlineData("POST", "api/hubs/chat/:send?api-version=2024-12-01&filter=userId%20matches%20%27a%27", "text/plain", "x", 400, "InvalidFilter")]
    [InlineData("POST", "api/hubs/chat/:send?api-version=2024-12-01&filter=geo.distance(a%2Cb)%20lt%201", "text/plain", "x", 400, "InvalidFilter")]
    [InlineData("POST", "api/hubs/chat/:send?api-version=2024-12-01&messageTtlSeconds=301", "text/plain", "x", 400, "BadRequest")]
    [InlineData("PUT", "api/hubs/chat/permissions/admin/connections/c1?api-version=2024-12-01", null, null, 400, "BadRequest")]
    [InlineData("GET", "api/hubs/chat/groups/g/connections?api-version=2024-12-01&maxpagesize=500", null, null, 400, "BadRequest")]
    [InlineData("POST", "api/hubs/chat/:addToGroups?api-version=2024-12-01", "application/json", "{\"groups\":[\"g\"]}", 400, "BadRequest")]
    [InlineData("POST", "api/hubs/chat/:generateToken?api-version=2024-12-01&minutesToExpire=0", null, null, 400, "BadRequest")]
    public async Task BadRestInputGetsTheDocumentedStatusAndAnErrorBody(string method, string path, string? contentType, string? body, int status, string code)
    {
        using var request = Wire.Rest(_emulator, new HttpMethod(method), path, body is null ? null : new StringContent(body, Encoding.UTF8, contentType!));
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(code, response.Headers.GetValues("x-ms-error-code").Single());
        Assert.Contains("\"message\"", text);
        Assert.True(await _bystander.NothingArrivesWithinAsync(TimeSpan.FromMilliseconds(50)), "a refused send must deliver nothing");
    }

    [Fact]
    public async Task AnInvalidHubNameInARestPathIsRefusedWith400()
    {
        using var request = Wire.Rest(_emulator, HttpMethod.Post, "api/hubs/1nvalid/:send?api-version=2024-12-01", new StringContent("x"));
        using var response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    private static string UnsignedToken()
    {
        static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var exp = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds();
        return $"{B64("{\"alg\":\"none\",\"typ\":\"JWT\"}")}.{B64($"{{\"sub\":\"u\",\"exp\":{exp},\"aud\":\"http://x/client/hubs/chat\"}}")}.";
    }
}
