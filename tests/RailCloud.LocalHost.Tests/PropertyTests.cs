using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CsCheck;
using RailCloud.WebPubSub;

namespace RailCloud.LocalHost.Tests;

/// <summary>
/// Hostile input as properties, thousands of cases a run (RAILCLOUD_PROPERTY_CASES for more, RAILCLOUD_PROPERTY_SEED
/// for another fixed seed): every user event a registered kiosk or monitor can send that is wrong in some way, every
/// event-handler request, every REST route. Each gets a contract error code or a 4xx, never a 5xx; nothing reaches
/// anybody else; no host logs an error; and a bystander session set up before the run still relays both ways after
/// it, with the kiosk list as it was.
/// </summary>
public sealed class PropertyTests : IAsyncLifetime
{
    private static readonly int Cases = int.TryParse(Environment.GetEnvironmentVariable("RAILCLOUD_PROPERTY_CASES"), out var n) ? n : 2000;
    // A fixed seed in CI, so a failure is the same failure on every run; CsCheck prints the seed of a failing case.
    private static readonly string Seed = Environment.GetEnvironmentVariable("RAILCLOUD_PROPERTY_SEED") ?? "0sGdRoMzkD5B";

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private readonly LogCapture _logs = new();
    private RailCloudStack _stack = null!;
    private RailCloudConnection _bystanderKiosk = null!;
    private RailCloudConnection _bystanderMonitor = null!;
    private string _kiosksBefore = null!;
    private string _monitorToken = null!;
    private RawClient _hostileKiosk = null!;
    private RawClient _hostileMonitor = null!;

    public async Task InitializeAsync()
    {
        // The allowance is out of the way, so every case meets the check it was made for, not the rate limit.
        _stack = await RailCloudStack.StartAsync(new Dictionary<string, string?> { ["Sessions:SignalingBurst"] = "10000", ["Sessions:SignalingPerSecond"] = "10000" }, logs: _logs);
        foreach (var (id, role) in new[] { ("KIOSK_B", Roles.Kiosk), ("MONITOR_B", Roles.Monitor), ("KIOSK_H", Roles.Kiosk), ("MONITOR_H", Roles.Monitor) })
        {
            await _stack.CreateAccountAsync(id, role);
        }
        _bystanderKiosk = await _stack.ConnectAsync("KIOSK_B");
        _bystanderMonitor = await _stack.ConnectAsync("MONITOR_B");
        await _bystanderMonitor.StartMonitoringAsync("KIOSK_B");
        await _bystanderKiosk.CrewSignOnAsync("C1", "Ada Lovelace");
        _monitorToken = (await _stack.Api.LoginAsync("MONITOR_H", RailCloudStack.Password)).AccessToken;
        _hostileKiosk = await RawClient.ConnectAsync(_stack, "KIOSK_H");
        _hostileMonitor = await RawClient.ConnectAsync(_stack, "MONITOR_H");
        await Task.Delay(200);
        Waiting.Drain(_bystanderKiosk);
        Waiting.Drain(_bystanderMonitor);
        _kiosksBefore = await KioskListAsync();
    }

    public async Task DisposeAsync()
    {
        await _hostileMonitor.DisposeAsync();
        await _hostileKiosk.DisposeAsync();
        await _bystanderMonitor.DisposeAsync();
        await _bystanderKiosk.DisposeAsync();
        await _stack.DisposeAsync();
    }

    /// <summary>What a user would check afterwards: the bystanders heard nothing, still relay both ways, and the list is unchanged.</summary>
    private async Task AssertNothingChangedAsync()
    {
        Assert.Empty(Waiting.Drain(_bystanderKiosk));
        Assert.Empty(Waiting.Drain(_bystanderMonitor));
        await _bystanderMonitor.SendIceCandidateAsync("KIOSK_B", "candidate:7 1 udp 1 127.0.0.1 50007 typ host");
        var toKiosk = await _bystanderKiosk.WaitForAsync(m => (string?)m["event"] == Events.IceCandidate, Wait);
        await _bystanderKiosk.SendIceCandidateAsync("MONITOR_B", "candidate:8 1 udp 1 127.0.0.1 50008 typ host");
        var toMonitor = await _bystanderMonitor.WaitForAsync(m => (string?)m["event"] == Events.IceCandidate, Wait);
        Assert.Equal(("MONITOR_B", "KIOSK_B"), ((string?)toKiosk["fromId"], (string?)toMonitor["fromId"]));
        Assert.Equal(_kiosksBefore, await KioskListAsync());
        Assert.Empty(_logs.Errors);
    }

    /// <summary>The kiosk list as a user sees it, minus what moves by itself (the last heartbeat).</summary>
    private async Task<string> KioskListAsync() =>
        string.Join("\n", (await _stack.Api.ListKiosksAsync(_monitorToken)).OrderBy(k => k.KioskId)
            .Select(k => $"{k.KioskId} online={k.Online} watchedBy={k.MonitoredBy} crew={string.Join(",", k.Crew.Select(c => c.CrewId + ":" + c.Name))}"));

    // ---- User events ----

    /// <summary>One hostile event: who sends it, its name, its data as raw JSON text, and the codes it may get.</summary>
    public sealed record EventCase(bool FromKiosk, string Event, string Data, string[] Codes)
    {
        public override string ToString() => $"{(FromKiosk ? "kiosk" : "monitor")} {Event} {(Data.Length > 300 ? Data[..300] + $"… ({Data.Length} chars)" : Data)} → {string.Join("|", Codes)}";
    }

    [Fact]
    public async Task EveryHostileUserEventIsRefusedWithAContractCodeAndReachesNobody()
    {
        var (kiosk, monitor) = (_hostileKiosk, _hostileMonitor);

        await HostileEvents.SampleAsync(async c =>
        {
            var reply = await (c.FromKiosk ? kiosk : monitor).SendAsync(c.Event, c.Data);
            Assert.True((string?)reply["event"] == Events.Error && c.Codes.Contains((string?)reply["code"]), $"{c} was answered {reply.ToJsonString()}");
        }, seed: Seed, iter: Cases, threads: 1);

        Assert.Null(kiosk.ClosedStatus);
        Assert.Null(monitor.ClosedStatus);
        Assert.Empty(kiosk.Unexpected);
        Assert.Empty(monitor.Unexpected);
        await AssertNothingChangedAsync();
    }

    private static readonly Gen<string> IdChars = Gen.Char["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"].Array[1, 40].Select(a => "X" + new string(a));

    /// <summary>A well-formed id that names nobody here (never one of the four accounts: a hostile kiosk could start a session with itself).</summary>
    private static readonly Gen<string> UnknownId = IdChars.Select(id => Json(id));

    /// <summary>JSON that is not an id: wrong pattern (a trailing newline too), too long, not text, a lone surrogate.</summary>
    private static readonly Gen<string> BadId = Gen.OneOf(
        Gen.OneOf("\"\"", "\"_KIOSK\"", "\".hidden\"", "\"KIOSK 01\"", "\"../../etc/passwd\"", "\"KIOSK_01\\n\"", "\"KIOSK_01\\r\"", "\"KIOSK_01\\u0000\"",
            "\"KIOSK\\u00e9\"", "\"\\ud800\"", "\"K\\udfff1\"", "\"KIOSK/01\"", "\"KIOSK'01\"", "\"*\"", "42", "-1", "1e400", "true", "null", "[]", "[\"KIOSK_B\"]", "{}", "{\"id\":\"KIOSK_B\"}"),
        Gen.Int[65, 5000].Select(length => Json(new string('K', length))),
        Gen.String.Where(s => !System.Text.RegularExpressions.Regex.IsMatch(s, Limits.IdPattern.Replace("$", "\\z", StringComparison.Ordinal))).Select(Json));

    /// <summary>Anything that is not a JSON object, or an object no handler can read.</summary>
    private static readonly Gen<string> NotAnObject = Gen.OneOf(
        Gen.OneOf("[]", "[{}]", "\"text\"", "42", "null", "true", "{\"a\":1,\"a\":2}", "{\"\\ud800\":1}", "{\"kioskId\":\"\\udc00\"}"),
        Gen.Int[17, 200].Select(depth => new string('[', depth) + new string(']', depth)),
        Gen.Int[17, 200].Select(depth => string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth)),
        Gen.String.Select(Json));

    private static readonly Gen<string> NotAString = Gen.OneOf("42", "true", "null", "[]", "{}", "[\"v=0\"]", "{\"sdp\":\"v=0\"}");

    /// <summary>An SDP field that is no good: not text, not an SDP, or over 64 KB (then the code is payload-too-large).</summary>
    private static readonly Gen<(string Json, bool TooLarge)> BadSdp = Gen.OneOf(
        NotAString.Select(j => (j, false)),
        Gen.OneOf("\"\"", "\"sdp\"", "\" v=0\"", "\"V=0\"", "\"\\ud800v=0\"").Select(j => (j, false)),
        Gen.Int[64 * 1024 + 1, 300 * 1024].Select(length => (Json("v=0\r\n" + new string('a', length)), true)));

    /// <summary>An offer or answer object that is no good.</summary>
    private static Gen<(string Json, bool TooLarge)> BadDescription(string type) => Gen.OneOf(
        NotAString.Select(j => (j, false)),
        BadSdp.Select(sdp => ($"{{\"type\":{Json(type)},\"sdp\":{sdp.Json}}}", sdp.TooLarge)),
        Gen.OneOf("offer", "answer", "pranswer", "rollback", "", "OFFER").Where(t => t != type).Select(t => ($"{{\"type\":{Json(t)},\"sdp\":\"v=0\"}}", false)),
        NotAString.Select(t => ($"{{\"type\":{t},\"sdp\":\"v=0\"}}", false)),
        Gen.Const(($"{{\"sdp\":\"v=0\"}}", false)));

    /// <summary>A candidate object that is no good.</summary>
    private static readonly Gen<(string Json, bool TooLarge)> BadCandidate = Gen.OneOf(
        NotAString.Where(j => j != "{}").Select(j => (j, false)),
        Gen.Const(("{}", false)),
        NotAString.Select(j => ($"{{\"candidate\":{j}}}", false)),
        Gen.OneOf("a=candidate:1", "candidate", " candidate:1", "CANDIDATE:1", "\\ud800candidate:1").Select(t => ($"{{\"candidate\":\"{t}\"}}", false)),
        Gen.Int[1025, 50_000].Select(length => ($"{{\"candidate\":{Json("candidate:" + new string('1', length))}}}", true)),
        Gen.OneOf("-1", "1025", "1e9", "0.5e400", "\"0\"", "true", "[]").Select(index => ($"{{\"candidate\":\"candidate:1 1 udp 1 127.0.0.1 9 typ host\",\"sdpMLineIndex\":{index}}}", false)),
        Gen.OneOf("42", "true", "[]", "{}").Select(mid => ($"{{\"candidate\":\"candidate:1 1 udp 1 127.0.0.1 9 typ host\",\"sdpMid\":{mid}}}", false)));

    private const string GoodCandidate = """{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 9 typ host","sdpMid":"0","sdpMLineIndex":0}""";

    private static EventCase Case(bool fromKiosk, string eventName, string data, params string[] codes) => new(fromKiosk, eventName, data, codes);

    private static readonly string[] Invalid = [ErrorCodes.InvalidPayload];

    private static Gen<EventCase> HostileEvents => Gen.Frequency(
        // Names outside the contract (but ones Web PubSub carries), with any data.
        (2, Gen.Select(Gen.Bool, Gen.Char["abcdefghijklmnopqrstuvwxyz0123456789-_.:~"].Array[1, 30].Select(a => "x" + new string(a)).Where(n => !Events.FromClients.Contains(n)),
            Gen.OneOf(NotAnObject, Gen.Const("{}")), (k, name, data) => Case(k, name, data, Invalid))),
        (1, Gen.Select(Gen.Bool, Gen.OneOf("connect", "connected", "disconnected", "message", "registered", "error", "kiosk-online", "REGISTER-KIOSK", "offer.", "ice_candidate"), (k, name) => Case(k, name, "{}", Invalid))),
        // Any contract event whose data is not a readable object.
        (3, Gen.Select(Gen.Bool, Gen.OneOf([.. Events.FromClients]), NotAnObject, (k, name, data) => Case(k, name, data, Invalid))),
        // Registering as the other role, or with a resume list that is not one.
        (1, Gen.Bool.Select(k => Case(k, k ? Events.RegisterMonitor : Events.RegisterKiosk, "{}", ErrorCodes.Forbidden))),
        (1, Gen.Select(Gen.Bool, Gen.OneOf(NotAString.Where(j => j != "null" && j != "[]"), BadId.Select(id => $"[{id}]"), Gen.Int[65, 300].Select(count => "[" + string.Join(",", Enumerable.Range(0, count).Select(i => $"\"S{i}\"")) + "]")),
            (k, resume) => Case(k, k ? Events.RegisterKiosk : Events.RegisterMonitor, $"{{\"resume\":{resume}}}", Invalid))),
        // Monitoring: bad ids, unknown kiosks, the kiosk someone else watches, and the kiosk doing a monitor's job.
        (2, Gen.Select(Gen.OneOf(Events.StartMonitoring, Events.StopMonitoring), BadId, (e, id) => Case(false, e, $"{{\"kioskId\":{id}}}", Invalid))),
        (1, Gen.OneOf(Events.StartMonitoring, Events.StopMonitoring).Select(e => Case(false, e, "{}", Invalid))),
        (1, UnknownId.Select(id => Case(false, Events.StartMonitoring, $"{{\"kioskId\":{id}}}", ErrorCodes.UnknownKiosk))),
        (1, Gen.OneOf("\"MONITOR_B\"", "\"MONITOR_H\"").Select(id => Case(false, Events.StartMonitoring, $"{{\"kioskId\":{id}}}", ErrorCodes.UnknownKiosk))),
        (1, Gen.Const(Case(false, Events.StartMonitoring, "{\"kioskId\":\"KIOSK_B\"}", ErrorCodes.KioskBusy))),
        (1, UnknownId.Select(id => Case(false, Events.StopMonitoring, $"{{\"kioskId\":{id}}}", ErrorCodes.NoSession))),
        (1, Gen.Const(Case(false, Events.StopMonitoring, "{\"kioskId\":\"KIOSK_B\"}", ErrorCodes.NotSessionMember))),
        (1, Gen.Select(Gen.OneOf(Events.StartMonitoring, Events.StopMonitoring), Gen.OneOf("\"KIOSK_B\"", "\"KIOSK_H\""), (e, id) => Case(true, e, $"{{\"kioskId\":{id}}}", ErrorCodes.Forbidden))),
        // Signaling: bad targets and bodies, oversized SDPs and candidates, wrong roles, and no session to relay in.
        (2, Gen.Select(BadId, Gen.OneOf((Events.Offer, false), (Events.Answer, true), (Events.IceCandidate, false), (Events.IceCandidate, true)),
            (id, e) => Case(e.Item2, e.Item1, $"{{\"targetId\":{id},\"{(e.Item1 == Events.IceCandidate ? "candidate" : e.Item1)}\":{(e.Item1 == Events.IceCandidate ? GoodCandidate : $"{{\"type\":\"{e.Item1}\",\"sdp\":\"v=0\"}}")}}}", Invalid))),
        (2, BadDescription("offer").Select(d => Case(false, Events.Offer, $"{{\"targetId\":\"KIOSK_B\",\"offer\":{d.Json}}}", d.TooLarge ? ErrorCodes.PayloadTooLarge : ErrorCodes.InvalidPayload))),
        (2, BadDescription("answer").Select(d => Case(true, Events.Answer, $"{{\"targetId\":\"MONITOR_B\",\"answer\":{d.Json}}}", d.TooLarge ? ErrorCodes.PayloadTooLarge : ErrorCodes.InvalidPayload))),
        (2, Gen.Select(Gen.Bool, BadCandidate, (k, d) => Case(k, Events.IceCandidate, $"{{\"targetId\":{(k ? "\"MONITOR_B\"" : "\"KIOSK_B\"")},\"candidate\":{d.Json}}}", d.TooLarge ? ErrorCodes.PayloadTooLarge : ErrorCodes.InvalidPayload))),
        (1, Gen.Select(UnknownId, Gen.Bool, (id, k) => Case(k, Events.IceCandidate, $"{{\"targetId\":{id},\"candidate\":{GoodCandidate}}}", ErrorCodes.NoSession, ErrorCodes.NotSessionMember))),
        (1, UnknownId.Select(id => Case(false, Events.Offer, $"{{\"targetId\":{id},\"offer\":{{\"type\":\"offer\",\"sdp\":\"v=0\"}}}}", ErrorCodes.NoSession))),
        (1, Gen.Const(Case(false, Events.Offer, """{"targetId":"KIOSK_B","offer":{"type":"offer","sdp":"v=0"}}""", ErrorCodes.NotSessionMember))),
        (1, Gen.Const(Case(false, Events.IceCandidate, $$"""{"targetId":"KIOSK_B","candidate":{{GoodCandidate}}}""", ErrorCodes.NotSessionMember))),
        (1, Gen.Const(Case(true, Events.Answer, """{"targetId":"MONITOR_B","answer":{"type":"answer","sdp":"v=0"}}""", ErrorCodes.NoSession))),
        (1, Gen.Const(Case(true, Events.IceCandidate, $$"""{"targetId":"MONITOR_B","candidate":{{GoodCandidate}}}""", ErrorCodes.NoSession))),
        (1, Gen.Const(Case(true, Events.Offer, """{"targetId":"MONITOR_B","offer":{"type":"offer","sdp":"v=0"}}""", ErrorCodes.Forbidden))),
        (1, Gen.Const(Case(false, Events.Answer, """{"targetId":"KIOSK_B","answer":{"type":"answer","sdp":"v=0"}}""", ErrorCodes.Forbidden))),
        // Crew: bad crew ids and names, sign-offs of nobody on duty, and a monitor doing a kiosk's job.
        (2, Gen.Select(Gen.OneOf(Events.CrewSignOn, Events.CrewSignOff), BadId, (e, id) => Case(true, e, $"{{\"crewId\":{id}}}", Invalid))),
        (2, Gen.OneOf(NotAString.Where(j => j != "null"), Gen.Int[101, 5000].Select(length => Json(new string('n', length))), Gen.OneOf("\"Ada\\nLovelace\"", "\"\\u0007bell\"", "\"\\ud800\"", "\"tab\\there\""))
            .Select(name => Case(true, Events.CrewSignOn, $"{{\"crewId\":\"C9\",\"name\":{name}}}", Invalid))),
        (1, UnknownId.Select(id => Case(true, Events.CrewSignOff, $"{{\"crewId\":{id}}}", ErrorCodes.NotOnDuty))),
        (1, Gen.OneOf(Events.CrewSignOn, Events.CrewSignOff).Select(e => Case(false, e, "{\"crewId\":\"C1\"}", ErrorCodes.Forbidden))),
        // Strings up to the emulator's frame limit (1 MB) in any event.
        (1, Gen.Select(Gen.Bool, Gen.OneOf([.. Events.FromClients]), Gen.Int[SignalingMaxEventBytes + 1, 1000 * 1024],
            (k, name, length) => Case(k, name, $"{{\"pad\":{Json(new string('p', length))}}}", ErrorCodes.PayloadTooLarge))));

    private const int SignalingMaxEventBytes = Limits.MaxSdpBytes + 4096;

    /// <summary>A JSON string literal of <paramref name="text"/> (lone surrogates are written as escapes, as an attacker would).</summary>
    private static string Json(string text)
    {
        var builder = new StringBuilder("\"");
        for (var i = 0; i < text.Length; i++)
        {
            var ch = text[i];
            var paired = char.IsHighSurrogate(ch) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]);
            if (paired)
            {
                builder.Append(ch).Append(text[++i]);
            }
            else if (ch is '"' or '\\' || ch < ' ' || char.IsSurrogate(ch))
            {
                builder.Append(ch switch { '"' => "\\\"", '\\' => "\\\\", _ => $"\\u{(int)ch:x4}" });
            }
            else
            {
                builder.Append(ch);
            }
        }
        return builder.Append('"').ToString();
    }

    // ---- The event handler ----

    /// <summary>One request to /api/webpubsub/{event}, as anyone on the internet could send it.</summary>
    public sealed record HandlerCase(string Method, string Event, List<(string Name, string Value)> Headers, bool Sign, string Body)
    {
        public override string ToString() => $"{Method} {Event} sign={Sign} [{string.Join("; ", Headers.Select(h => $"{h.Name}: {(h.Value.Length > 80 ? h.Value[..80] + "…" : h.Value)}"))}] {(Body.Length > 200 ? Body[..200] + "…" : Body)}";
    }

    [Fact]
    public async Task EveryEventHandlerRequestIsAnsweredBelow500AndChangesNothing()
    {
        var states = Gen.OneOf(
            Gen.OneOf("", "not base64!", "e30=", Convert.ToBase64String("{\"rc\":{\"r\":\"kiosk\",\"i\":\"KIOSK_B\",\"g\":true}}"u8), Convert.ToBase64String("{\"rc\":[1,2]}"u8), Convert.ToBase64String("{\"rc\":\"x\"}"u8)),
            Gen.String.Select(s => Convert.ToBase64String(Encoding.UTF8.GetBytes(s))));
        var headerValues = Gen.OneOf(Gen.OneOf("", "KIOSK_B", "MONITOR_B", "railcloud", "chat", "1.0", "azure.webpubsub.sys.connect", "azure.webpubsub.sys.disconnected", "azure.webpubsub.user.offer", "json.webpubsub.azure.v1"),
            Gen.Char[' ', '~'].Array[0, 200].Select(a => new string(a)));
        var headers = Gen.Frequency(
            (3, Gen.Select(Gen.OneOf("ce-specversion", "ce-type", "ce-hub", "ce-eventName", "ce-userId", "ce-connectionId", "ce-subprotocol", "ce-id", "ce-time", "ce-awpsversion"), headerValues, (name, value) => (name, value))),
            (1, states.Select(s => ("ce-connectionState", s))),
            (1, headerValues.Select(v => ("ce-signature", v))),
            (1, Gen.OneOf("WebHook-Request-Origin", "Content-Type").Select(name => (name, "x"))));
        var bodies = Gen.OneOf(Gen.OneOf("", "{}", "[]", "{\"claims\":{\"iat\":[\"x\"]}}", "{\"claims\":{\"webpubsub.group\":[\"device.x\"]}}", "{\"reason\":\"gone\"}", "{\"kioskId\":\"KIOSK_B\"}"),
            Gen.String, Gen.Int[70_000, 1_200_000].Select(length => new string('b', length)));
        var cases = Gen.Select(Gen.OneOf("POST", "POST", "OPTIONS", "GET", "PUT", "DELETE"),
            Gen.OneOf(Gen.OneOf([.. Events.FromClients, "connect", "connected", "disconnected", "message", "validate"]), Gen.Char["abcxyz-._~"].Array[1, 20].Select(a => new string(a))),
            headers.List[0, 12], Gen.Bool, bodies,
            (method, name, h, sign, body) => new HandlerCase(method, name, h, sign, body));

        using var http = new HttpClient { BaseAddress = _stack.BaseUri };
        await cases.SampleAsync(async c =>
        {
            using var request = new HttpRequestMessage(new HttpMethod(c.Method), "api/webpubsub/" + Uri.EscapeDataString(c.Event));
            if (c.Method is not ("GET" or "OPTIONS"))
            {
                request.Content = new StringContent(c.Body, Encoding.UTF8);
            }
            // Never a real connection id: a signed disconnected for one would end the bystanders' session, as it should.
            var connectionId = c.Headers.LastOrDefault(h => h.Name == "ce-connectionId").Value ?? "fuzzed";
            foreach (var (name, value) in c.Headers)
            {
                if (name == "Content-Type")
                {
                    request.Content?.Headers.TryAddWithoutValidation(name, value);
                }
                else
                {
                    request.Headers.TryAddWithoutValidation(name, value);
                }
            }
            if (c.Sign)
            {
                request.Headers.TryAddWithoutValidation("ce-signature", WebPubSubEventReader.Sign(connectionId, [_stack.Emulator.AccessKey]));
            }
            using var response = await http.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode < 500, $"{c} was answered {(int)response.StatusCode} {body}");
            if (response.StatusCode == HttpStatusCode.OK && response.Content.Headers.ContentType?.MediaType == "application/json" && JsonNode.Parse(body) is JsonObject { } reply && reply["event"] is not null)
            {
                Assert.True((string?)reply["event"] == Events.Error || (string?)reply["event"] == Events.HeartbeatPong, $"{c} was answered {body}");
            }
        }, seed: Seed, iter: Cases / 2, threads: 1);

        await AssertNothingChangedAsync();
    }

    // ---- REST ----

    public sealed record RestCase(string Method, string Path, string? Token, string? ContentType, string? Body)
    {
        public override string ToString() => $"{Method} {Path} token={(Token is null ? "none" : Token.Length > 20 ? Token[..20] + "…" : Token)} {ContentType} {(Body is { Length: > 200 } ? Body[..200] + "…" : Body)}";
    }

    [Fact]
    public async Task EveryRestRouteAnswersBelow500WithProblemJsonAndChangesNothing()
    {
        var ids = Gen.OneOf(Gen.OneOf("KIOSK_B", "KIOSK_H", "MONITOR_H", "..", ".", "%2e%2e", "a%2Fb", "%00", "%F0%9F%9A%82", "x%0D%0Ay", new string('k', 300)), IdChars);
        var paths = Gen.OneOf(
            Gen.OneOf("api/login", "api/logout", "api/negotiate", "api/me", "api/kiosks", "api/health", "api/devices", "api/devices/nonce", "api/devices/token", "api/accounts",
                "api/", "api", "api/webpubsub", "api//kiosks", "api/kiosks/", "api/login?x=1&x=2", "api/kiosks?pageSize=-1"),
            ids.Select(id => $"api/kiosks/{id}/events"),
            Gen.Select(ids, Gen.OneOf("-5", "0", "201", "abc", "50", "9999999999999"), Gen.OneOf("", "garbage", "%%%", "eyJ9"), (id, size, token) => $"api/kiosks/{id}/events?pageSize={size}&continuationToken={token}"),
            ids.Select(id => $"api/kiosks/{id}/enrolments"),
            ids.Select(id => $"api/devices/{id}"),
            ids.Select(id => $"api/accounts/{id}"),
            ids.Select(id => $"api/accounts/{id}/password"));
        // A garbage token, none, or the hostile monitor's own (which may read, but manages nothing).
        var tokens = Gen.OneOf(Gen.OneOf<string?>(null, "MONITOR"), Gen.OneOf<string?>("", "x", "Bearer", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJTVVBFUlZJU09SXzAxIn0.", new string('a', 5000)));
        var bodies = Gen.OneOf(Gen.Bool.Select(_ => (string?)null),
            Gen.OneOf<string?>("", "{}", "[]", "null", "{\"id\":\"NOBODY_1\",\"password\":\"wrong-password-1\"}", "{\"id\":42,\"password\":[]}", "{\"id\":\"\\ud800\",\"password\":\"x\"}",
                "{\"code\":\"nope\",\"publicKey\":{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}}", "{\"assertion\":\"a.b.c\"}", "{\"assertion\":42}", "{\"id\":\"NEW_1\",\"role\":\"supervisor\"}",
                "{\"password\":\"short\"}", "{\"id\":\"x\",\"id\":\"y\"}"),
            Gen.String.Select<string, string?>(s => s),
            Gen.Int[60_000, 200_000].Select<int, string?>(length => "{\"id\":\"" + new string('i', length) + "\"}"));
        var cases = Gen.Select(Gen.OneOf("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"), paths, tokens, Gen.OneOf<string?>(null, "application/json", "text/plain", "application/x-www-form-urlencoded"), bodies,
            (method, path, token, type, body) => new RestCase(method, path, token, type, body))
            // Requests that would legitimately change something for the hostile monitor itself are not hostile input.
            .Where(c => !(c.Token == "MONITOR" && c.Path.StartsWith("api/logout", StringComparison.Ordinal)));

        using var http = new HttpClient { BaseAddress = _stack.BaseUri };
        await cases.SampleAsync(async c =>
        {
            using var request = new HttpRequestMessage(new HttpMethod(c.Method), c.Path);
            if (c.Token is { } token)
            {
                request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + (token == "MONITOR" ? _monitorToken : token));
            }
            if (c.Body is { } body)
            {
                request.Content = new StringContent(body, Encoding.UTF8);
                request.Content.Headers.ContentType = c.ContentType is null ? null : new MediaTypeHeaderValue(c.ContentType);
            }
            using var response = await http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            var status = (int)response.StatusCode;
            Assert.True(status < 500, $"{c} was answered {status} {text}");
            // Kestrel itself refuses a path with an encoded NUL, CR or LF (an empty 400) before any of our code runs.
            var refusedByKestrel = status == 400 && text.Length == 0 && System.Text.RegularExpressions.Regex.IsMatch(c.Path, "%0[0AD]", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
            if (status >= 400 && c.Method != "HEAD" && !refusedByKestrel)
            {
                Assert.True(response.Content.Headers.ContentType?.MediaType == "application/problem+json", $"{c} was answered {status} as {response.Content.Headers.ContentType}: {text}");
                Assert.False(string.IsNullOrEmpty((string?)JsonNode.Parse(text)?["code"]), $"{c} was answered {status} without a code: {text}");
            }
        }, seed: Seed, iter: Cases / 2, threads: 1);

        await AssertNothingChangedAsync();
    }

    /// <summary>A signed-in, registered client on the plain JSON subprotocol that sends frames exactly as written.</summary>
    private sealed class RawClient : IAsyncDisposable
    {
        private readonly TestWebSocket _socket;
        private ulong _ackId;

        private RawClient(TestWebSocket socket) => _socket = socket;

        /// <summary>Messages that came in between replies and were none of them.</summary>
        public List<JsonObject> Unexpected { get; } = [];

        public System.Net.WebSockets.WebSocketCloseStatus? ClosedStatus => _socket.CloseStatus;

        public static async Task<RawClient> ConnectAsync(RailCloudStack stack, string id)
        {
            var login = await stack.Api.LoginAsync(id, RailCloudStack.Password);
            var negotiate = await stack.Api.NegotiateAsync(login.AccessToken);
            var client = new RawClient(await TestWebSocket.ConnectAsync(new Uri(negotiate.Url), "json.webpubsub.azure.v1"));
            var registered = await client.SendAsync(Roles.CanMonitor(login.Role) ? Events.RegisterMonitor : Events.RegisterKiosk, "{}");
            Assert.Equal(Events.Registered, (string?)registered["event"]);
            client.Unexpected.Clear();
            return client;
        }

        /// <summary>Sends an event with <paramref name="data"/> as raw JSON text and returns the reply that came with its ack.</summary>
        public async Task<JsonObject> SendAsync(string eventName, string data)
        {
            var ackId = ++_ackId;
            await _socket.SendTextAsync($$"""{"type":"event","event":{{Json(eventName)}},"dataType":"json","data":{{data}},"ackId":{{ackId}}}""");
            JsonObject? reply = null;
            while (true)
            {
                var frame = await _socket.ReceiveJsonAsync(timeout: Wait);
                if ((string?)frame["type"] == "ack" && (ulong?)frame["ackId"] == ackId)
                {
                    Assert.True((bool?)frame["success"] == true, $"{eventName} {data} was not acknowledged: {frame.ToJsonString()}");
                    return reply ?? throw new Xunit.Sdk.XunitException($"{eventName} {(data.Length > 200 ? data[..200] : data)} got no reply before its ack");
                }
                // The handler's reply reaches the sender before the ack; anything else is a notification.
                if (reply is null && (string?)frame["type"] == "message" && frame["data"] is JsonObject d && ((string?)d["requestEvent"] == eventName || (string?)d["event"] is Events.Registered))
                {
                    reply = d;
                }
                else
                {
                    Unexpected.Add(frame);
                }
            }
        }

        public ValueTask DisposeAsync() => _socket.DisposeAsync();
    }
}
