using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using RailCloud.Client;

namespace RailCloud.LocalHost.Tests;

/// <summary>
/// What an attacker (or a broken client) tried and once crashed a handler, flooded every monitor or got an empty
/// answer: each is now a clear refusal that changes nothing.
/// </summary>
public sealed class HostileInputTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private RailCloudStack _stack = null!;

    public async Task InitializeAsync()
    {
        _stack = await RailCloudStack.StartAsync();
        foreach (var (id, role) in new[] { ("KIOSK_01", Roles.Kiosk), ("KIOSK_02", Roles.Kiosk), ("MONITOR_01", Roles.Monitor) })
        {
            await _stack.CreateAccountAsync(id, role);
        }
    }

    public async Task DisposeAsync() => await _stack.DisposeAsync();

    private static JsonElement Raw(string json) => JsonDocument.Parse(json).RootElement.Clone();

    [Fact]
    public async Task TextWithALoneSurrogateIsInvalidPayloadNotACrash()
    {
        // Valid JSON that no .NET string can hold; raw frames, since a well-behaved client cannot even write them.
        await using var monitor = await RawClient.ConnectAsync(_stack, "MONITOR_01");
        await using var kiosk = await RawClient.ConnectAsync(_stack, "KIOSK_01");

        var start = await monitor.SendAsync(Events.StartMonitoring, """{"kioskId":"KIOSK_\ud800"}""");
        var crew = await kiosk.SendAsync(Events.CrewSignOn, """{"crewId":"C1","name":"Ada \udc00"}""");
        var key = await kiosk.SendAsync(Events.HeartbeatPing, """{"\ud801":1}""");
        var token = (await _stack.Api.LoginAsync("MONITOR_01", RailCloudStack.Password)).AccessToken;

        Assert.All(new[] { start, crew, key }, reply => Assert.Equal((Events.Error, ErrorCodes.InvalidPayload), ((string?)reply["event"], (string?)reply["code"])));
        Assert.Empty((await _stack.Api.ListKiosksAsync(token)).Single(k => k.KioskId == "KIOSK_01").Crew);
        Assert.Null((await _stack.Api.ListKiosksAsync(token)).Single(k => k.KioskId == "KIOSK_01").MonitoredBy);
    }

    [Fact]
    public async Task AKioskThatFloodsCrewEventsIsRateLimitedAndMonitorsSeeOnlyItsAllowance()
    {
        await using var monitor = await _stack.ConnectAsync("MONITOR_01");
        await using var kiosk = await _stack.ConnectAsync("KIOSK_02");

        var sends = Enumerable.Range(0, 300).Select(async i =>
        {
            try
            {
                await kiosk.CrewSignOnAsync($"F{i % 50:00}");
                return "ok";
            }
            catch (RailCloudException ex)
            {
                return ex.Code;
            }
        }).ToList();
        var codes = await Task.WhenAll(sends);
        await monitor.HeartbeatAsync();
        var broadcasts = Waiting.Drain(monitor).Count(m => (string?)m["event"] == Events.CrewSignOn);

        Assert.Contains(ErrorCodes.RateLimited, codes);
        Assert.Equal(codes.Count(c => c == "ok"), broadcasts);   // every accepted event is broadcast once, and nothing else
        Assert.InRange(broadcasts, 1, 100);                      // the burst (40) plus what refilled at 20 a second
    }

    [Fact]
    public async Task AConnectionThatFloodsSignalingIsToldRateLimitedThenClosedWhileAnotherPairRelays()
    {
        await _stack.CreateAccountAsync("KIOSK_F", Roles.Kiosk);
        await _stack.CreateAccountAsync("MONITOR_F", Roles.Monitor);
        await using var kiosk = await _stack.ConnectAsync("KIOSK_01");
        await using var monitor = await _stack.ConnectAsync("MONITOR_01");
        await monitor.StartMonitoringAsync("KIOSK_01");
        await using var floodedKiosk = await _stack.ConnectAsync("KIOSK_F");
        await using var flooder = await _stack.ConnectAsync("MONITOR_F");
        await flooder.StartMonitoringAsync("KIOSK_F");

        var flood = Enumerable.Range(0, 400).Select(async i =>
        {
            try
            {
                await flooder.SendIceCandidateAsync("KIOSK_F", $"candidate:{i} 1 udp 1 127.0.0.1 9 typ host");
                return "ok";
            }
            catch (RailCloudException ex)
            {
                return ex.Code;
            }
        }).ToList();
        await monitor.SendIceCandidateAsync("KIOSK_01", "candidate:1 1 udp 1 127.0.0.1 50001 typ host");
        var relayed = await kiosk.WaitForAsync(m => (string?)m["event"] == Events.IceCandidate, Wait);
        var codes = await Task.WhenAll(flood);
        await Waiting.UntilAsync(() => flooder.ClosedReason is not null);

        Assert.Equal("MONITOR_01", (string?)relayed["fromId"]);
        Assert.Contains(ErrorCodes.RateLimited, codes);
        Assert.InRange(codes.Count(c => c == "ok"), 40, 120);   // the burst, plus what refilled while the flood lasted
        Assert.Contains("too many messages", flooder.ClosedReason, StringComparison.OrdinalIgnoreCase);
        Assert.Null(monitor.ClosedReason);
    }

    [Fact]
    public async Task AFloodOfNegotiatesWithOneTokenIsRateLimitedAndOtherTokensAreNot()
    {
        var flooding = (await _stack.Api.LoginAsync("MONITOR_01", RailCloudStack.Password)).AccessToken;
        var other = (await _stack.Api.LoginAsync("KIOSK_01", RailCloudStack.Password)).AccessToken;

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 60).Select(async _ =>
        {
            try
            {
                await _stack.Api.NegotiateAsync(flooding);
                return 200;
            }
            catch (RailCloudException ex)
            {
                Assert.Equal(ErrorCodes.RateLimited, ex.Code);
                return ex.HttpStatus ?? 0;
            }
        }));
        var stillServed = await _stack.Api.NegotiateAsync(other);

        Assert.Equal(30, outcomes.Count(s => s == 200));   // Auth:NegotiatesPerMinutePerToken
        Assert.Equal(30, outcomes.Count(s => s == 429));
        Assert.StartsWith("ws", stillServed.Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AHugeChunkedLoginBodyIsPayloadTooLargeProblemJson()
    {
        // 40 MB in chunks, without a Content-Length: the server must answer after reading at most its limit, not 500.
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, _stack.BaseUri.Port);
        var stream = tcp.GetStream();
        var head = $"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1:{_stack.BaseUri.Port}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        var reading = ReadResponseAsync(stream);
        var chunk = Encoding.ASCII.GetBytes("10000\r\n" + new string('a', 0x10000) + "\r\n");
        for (var sent = 0L; sent < 40L * 1024 * 1024 && !reading.IsCompleted; sent += 0x10000)
        {
            try
            {
                await stream.WriteAsync(chunk);
            }
            catch (IOException)
            {
                break;   // the server stopped reading and closed: its answer is already on the way
            }
        }
        var (status, contentType, body) = await reading.WaitAsync(Wait);
        var problem = JsonNode.Parse(body)!;

        Assert.Equal(413, status);
        Assert.Equal("application/problem+json", contentType);
        Assert.Equal(ErrorCodes.PayloadTooLarge, (string?)problem["code"]);
    }

    /// <summary>The status, media type and body of one HTTP/1.1 response (chunked or not) read up to the connection's close.</summary>
    private static async Task<(int Status, string? ContentType, string Body)> ReadResponseAsync(Stream stream)
    {
        var received = new MemoryStream();
        try
        {
            await stream.CopyToAsync(received);
        }
        catch (IOException)
        {
            // Reset after the answer: what arrived is enough.
        }
        var text = Encoding.UTF8.GetString(received.ToArray());
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(end >= 0, "no complete response head: " + text);
        var headers = text[..end].Split("\r\n");
        string? Header(string name) => headers.Skip(1).Select(h => h.Split(':', 2)).Where(p => p[0].Equals(name, StringComparison.OrdinalIgnoreCase)).Select(p => p[1].Trim()).FirstOrDefault();
        var body = text[(end + 4)..];
        if (Header("Transfer-Encoding") == "chunked")
        {
            var decoded = new StringBuilder();
            while (body.IndexOf("\r\n", StringComparison.Ordinal) is var line and > 0 && Convert.ToInt32(body[..line], 16) is var size and > 0)
            {
                decoded.Append(body.AsSpan(line + 2, size));
                body = body[(line + 2 + size + 2)..];
            }
            body = decoded.ToString();
        }
        return (int.Parse(headers[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), Header("Content-Type")?.Split(';')[0], body);
    }

    [Theory]
    [InlineData("GET", "api/nothing-here", 404, "not-found")]
    [InlineData("DELETE", "api/login", 405, "method-not-allowed")]
    [InlineData("PUT", "api/kiosks", 405, "method-not-allowed")]
    public async Task RoutingRefusalsUnderApiAreProblemJson(string method, string path, int status, string code)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.Accept.ParseAdd("application/json");
        using var response = await _stack.Api.Http.SendAsync(request);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal((status, code), ((int?)problem["status"], (string?)problem["code"]));
    }

    [Fact]
    public async Task AnEventNameOutsideTheContractIsRefusedWithoutReadingItsData()
    {
        await using var monitor = await _stack.ConnectAsync("MONITOR_01");

        var unknown = await Assert.ThrowsAsync<RailCloudException>(() => monitor.SendAsync("teleport", Raw("""{"to":"KIOSK_01"}""")));
        var system = await Assert.ThrowsAsync<RailCloudException>(() => monitor.SendAsync("connect", Raw("{}")));

        Assert.Equal((ErrorCodes.InvalidPayload, "teleport"), (unknown.Code, unknown.RequestEvent));
        Assert.Equal(ErrorCodes.InvalidPayload, system.Code);
    }

    [Fact]
    public async Task AClientThatSendsAnEventNameWithALoneSurrogateIsDeclinedAndGoesOffline()
    {
        await using var monitor = await _stack.ConnectAsync("MONITOR_01");
        var kiosk = await _stack.ConnectAsync("KIOSK_02");
        var negotiate = await _stack.Api.NegotiateAsync((await _stack.Api.LoginAsync("KIOSK_01", RailCloudStack.Password)).AccessToken);
        await using var raw = await TestWebSocket.ConnectAsync(new Uri(negotiate.Url), "json.webpubsub.azure.v1");
        await raw.SendTextAsync("""{"type":"event","event":"register-kiosk","dataType":"json","data":{},"ackId":1}""");
        await monitor.WaitForAsync(m => (string?)m["event"] == Events.KioskOnline && (string?)m["kioskId"] == "KIOSK_01", Wait);

        await raw.SendTextAsync("""{"type":"event","event":"\ud800","dataType":"json","data":{},"ackId":2}""");
        var closed = await raw.WaitForCloseAsync();
        var offline = await monitor.WaitForAsync(m => (string?)m["event"] == Events.KioskOffline && (string?)m["kioskId"] == "KIOSK_01", Wait);

        Assert.Equal(WebSocketCloseStatus.PolicyViolation, closed);
        Assert.Equal("disconnected", (string?)offline["reason"]);
        Assert.Null(kiosk.ClosedReason);   // the well-behaved kiosk beside it is untouched
        await kiosk.DisposeAsync();
    }

    /// <summary>A signed-in, registered client on the plain JSON subprotocol that sends frames exactly as written.</summary>
    private sealed class RawClient : IAsyncDisposable
    {
        private readonly TestWebSocket _socket;
        private ulong _ackId;

        private RawClient(TestWebSocket socket) => _socket = socket;

        public static async Task<RawClient> ConnectAsync(RailCloudStack stack, string id)
        {
            var login = await stack.Api.LoginAsync(id, RailCloudStack.Password);
            var negotiate = await stack.Api.NegotiateAsync(login.AccessToken);
            var client = new RawClient(await TestWebSocket.ConnectAsync(new Uri(negotiate.Url), "json.webpubsub.azure.v1"));
            await client.SendAsync(Roles.CanMonitor(login.Role) ? Events.RegisterMonitor : Events.RegisterKiosk, "{}", Events.Registered);
            return client;
        }

        /// <summary>
        /// Sends an event with <paramref name="data"/> as raw JSON text and returns the server's reply to it: an error
        /// for it, or the message named <paramref name="reply"/> (notifications in between are skipped).
        /// </summary>
        public async Task<JsonObject> SendAsync(string eventName, string data, string reply = Events.Error)
        {
            await _socket.SendTextAsync($$"""{"type":"event","event":"{{eventName}}","dataType":"json","data":{{data}},"ackId":{{++_ackId}}}""");
            var message = await _socket.ReceiveJsonAsync(m => m["data"] is JsonObject d
                && (((string?)d["event"] == Events.Error && (string?)d["requestEvent"] == eventName) || (string?)d["event"] == reply));
            return (JsonObject)message["data"]!;
        }

        public ValueTask DisposeAsync() => _socket.DisposeAsync();
    }
}
