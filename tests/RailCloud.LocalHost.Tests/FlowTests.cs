using System.Text.Json.Nodes;

namespace RailCloud.LocalHost.Tests;

/// <summary>Every row of DESIGN.md's event table, through the emulator, the local host and Azurite.</summary>
public sealed class FlowTests : IAsyncLifetime
{
    private RailCloudStack _stack = null!;

    public async Task InitializeAsync()
    {
        _stack = await RailCloudStack.StartAsync();
        await _stack.CreateAccountAsync("KIOSK_01", Roles.Kiosk);
        await _stack.CreateAccountAsync("KIOSK_02", Roles.Kiosk);
        await _stack.CreateAccountAsync("MONITOR_01", Roles.Monitor);
        await _stack.CreateAccountAsync("SUPERVISOR_01", Roles.Supervisor);
    }

    public async Task DisposeAsync() => await _stack.DisposeAsync();

    private static TimeSpan Wait => TimeSpan.FromSeconds(10);

    [Fact]
    public async Task AMonitorSeesAKioskComeOnlineWatchesItAndSignalingFlowsBothWays()
    {
        await using var monitor = await _stack.ConnectAsync("MONITOR_01");
        await using var kiosk = await RailCloudConnection.ConnectAsync(_stack.Api, "KIOSK_01", RailCloudStack.Password);

        var registered = await kiosk.RegisterAsync();
        var online = await monitor.WaitForAsync(m => (string?)m["event"] == Events.KioskOnline, Wait);
        Assert.Equal(("kiosk", "KIOSK_01", 30), ((string?)registered["role"], (string?)registered["id"], (int)registered["heartbeatSeconds"]!));
        Assert.Equal("KIOSK_01", (string?)online["kioskId"]);

        var started = await monitor.StartMonitoringAsync("KIOSK_01");
        var kioskTold = await kiosk.WaitForAsync(m => (string?)m["event"] == Events.MonitoringStarted, Wait);
        var sessionId = (string)started["sessionId"]!;
        Assert.Equal(sessionId, (string?)kioskTold["sessionId"]);
        Assert.Equal("MONITOR_01", (string?)kioskTold["monitorId"]);
        Assert.Contains(started["iceServers"]!.AsArray(), s => (string?)s!["username"] is { } u && u.EndsWith(":MONITOR_01", StringComparison.Ordinal));
        Assert.Contains(kioskTold["iceServers"]!.AsArray(), s => (string?)s!["username"] is { } u && u.EndsWith(":KIOSK_01", StringComparison.Ordinal));

        await monitor.SendOfferAsync("KIOSK_01", "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n");
        var offer = await kiosk.WaitForAsync(m => (string?)m["event"] == Events.Offer, Wait);
        await kiosk.SendAnswerAsync("MONITOR_01", "v=0\r\no=- 3 4 IN IP4 127.0.0.1\r\n");
        var answer = await monitor.WaitForAsync(m => (string?)m["event"] == Events.Answer, Wait);
        await monitor.SendIceCandidateAsync("KIOSK_01", "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host");
        await kiosk.SendIceCandidateAsync("MONITOR_01", "candidate:2 1 udp 2122260223 127.0.0.1 50001 typ host");
        var toKiosk = await kiosk.WaitForAsync(m => (string?)m["event"] == Events.IceCandidate, Wait);
        var toMonitor = await monitor.WaitForAsync(m => (string?)m["event"] == Events.IceCandidate, Wait);

        Assert.Equal(("MONITOR_01", sessionId, "offer"), ((string?)offer["fromId"], (string?)offer["sessionId"], (string?)offer["offer"]!["type"]));
        Assert.StartsWith("v=0", (string?)offer["offer"]!["sdp"]);
        Assert.Equal(("KIOSK_01", sessionId, "answer"), ((string?)answer["fromId"], (string?)answer["sessionId"], (string?)answer["answer"]!["type"]));
        Assert.Equal(("MONITOR_01", sessionId), ((string?)toKiosk["fromId"], (string?)toKiosk["sessionId"]));
        Assert.Contains("50000", (string?)toKiosk["candidate"]!["candidate"]);
        Assert.Equal(("KIOSK_01", sessionId), ((string?)toMonitor["fromId"], (string?)toMonitor["sessionId"]));
        Assert.Equal(0, (int)toMonitor["candidate"]!["sdpMLineIndex"]!);

        var stopped = await monitor.StopMonitoringAsync("KIOSK_01");
        var ended = await kiosk.WaitForAsync(m => (string?)m["event"] == Events.MonitoringEnded, Wait);
        Assert.Equal(sessionId, (string?)stopped["sessionId"]);
        Assert.Equal((sessionId, EndReasons.Stopped), ((string?)ended["sessionId"], (string?)ended["reason"]));
    }

    [Fact]
    public async Task TheOfferMayComeWithTheStartAndTheKioskGetsItRightAfterMonitoringStarted()
    {
        await using var kiosk = await _stack.ConnectAsync("KIOSK_01");
        await using var monitor = await _stack.ConnectAsync("MONITOR_01");
        var order = new System.Collections.Concurrent.ConcurrentQueue<string>();
        kiosk.Received += m => order.Enqueue((string?)m["event"] ?? "");

        var started = await monitor.StartMonitoringAsync("KIOSK_01", "v=0\r\no=- 7 8 IN IP4 127.0.0.1\r\n");
        var offer = await kiosk.WaitForAsync(m => (string?)m["event"] == Events.Offer, Wait);
        await kiosk.SendAnswerAsync("MONITOR_01", "v=0\r\no=- 9 10 IN IP4 127.0.0.1\r\n");
        var answer = await monitor.WaitForAsync(m => (string?)m["event"] == Events.Answer, Wait);
        await monitor.SendIceCandidateAsync("KIOSK_01", "candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host");
        var candidate = await kiosk.WaitForAsync(m => (string?)m["event"] == Events.IceCandidate, Wait);

        var sessionId = (string)started["sessionId"]!;
        Assert.Equal([Events.MonitoringStarted, Events.Offer], order.Where(e => e is Events.MonitoringStarted or Events.Offer).Take(2));
        Assert.Equal(("MONITOR_01", sessionId, "offer"), ((string?)offer["fromId"], (string?)offer["sessionId"], (string?)offer["offer"]!["type"]));
        Assert.Contains("o=- 7 8", (string?)offer["offer"]!["sdp"]);
        Assert.Equal(("KIOSK_01", sessionId), ((string?)answer["fromId"], (string?)answer["sessionId"]));
        Assert.Equal(sessionId, (string?)candidate["sessionId"]);
    }

    [Theory]
    [InlineData("{\"type\":\"answer\",\"sdp\":\"v=0\\r\\n\"}", ErrorCodes.InvalidPayload)]
    [InlineData("{\"type\":\"offer\",\"sdp\":\"not an sdp\"}", ErrorCodes.InvalidPayload)]
    [InlineData("{\"type\":\"offer\",\"sdp\":42}", ErrorCodes.InvalidPayload)]
    [InlineData("\"v=0\"", ErrorCodes.InvalidPayload)]
    [InlineData("{\"type\":\"offer\",\"sdp\":\"v=0BIG\"}", ErrorCodes.PayloadTooLarge)]
    public async Task ABadOfferWithTheStartIsRefusedAndStartsNothing(string offer, string code)
    {
        await using var kiosk = await _stack.ConnectAsync("KIOSK_02");
        await using var monitor = await _stack.ConnectAsync("MONITOR_01");
        offer = offer.Replace("BIG", new string('a', 70_000), StringComparison.Ordinal);

        var refusal = await Assert.ThrowsAsync<RailCloudException>(() =>
            monitor.RequestAsync(Events.StartMonitoring, JsonNode.Parse($"{{\"kioskId\":\"KIOSK_02\",\"offer\":{offer}}}")!, m => (string?)m["event"] == Events.MonitoringStarted));
        var kiosks = await _stack.Api.ListKiosksAsync(monitor.AccessToken);
        var startedAfter = await monitor.StartMonitoringAsync("KIOSK_02");
        var first = await kiosk.WaitForAsync(m => (string?)m["event"] is Events.MonitoringStarted or Events.Offer, Wait);

        Assert.Equal(code, refusal.Code);
        Assert.Null(kiosks.Single(k => k.KioskId == "KIOSK_02").MonitoredBy);
        Assert.Equal(Events.MonitoringStarted, (string?)first["event"]);   // nothing was forwarded for the refused start
        Assert.NotNull((string?)startedAfter["sessionId"]);
    }

    [Fact]
    public async Task RegisteringAMonitorListsTheKiosksWithTheirState()
    {
        await using var kiosk = await _stack.ConnectAsync("KIOSK_01");
        await using var first = await _stack.ConnectAsync("SUPERVISOR_01");
        await first.StartMonitoringAsync("KIOSK_01");
        await using var monitor = await RailCloudConnection.ConnectAsync(_stack.Api, "MONITOR_01", RailCloudStack.Password);

        var registered = await monitor.RegisterAsync();

        Assert.Equal(("monitor", "MONITOR_01"), ((string?)registered["role"], (string?)registered["id"]));
        var kiosks = registered["kiosks"]!.AsArray().Select(k => k!.AsObject()).ToDictionary(k => (string)k["kioskId"]!);
        Assert.Equal(["KIOSK_01", "KIOSK_02"], kiosks.Keys.Order());
        Assert.True((bool)kiosks["KIOSK_01"]["online"]!);
        Assert.Equal("SUPERVISOR_01", (string?)kiosks["KIOSK_01"]["monitoredBy"]);
        Assert.NotNull(kiosks["KIOSK_01"]["lastSeen"]);
        Assert.False((bool)kiosks["KIOSK_02"]["online"]!);
        Assert.Null(kiosks["KIOSK_02"]["monitoredBy"]);
    }

    [Fact]
    public async Task HeartbeatsAreAnsweredWithTheServerTime()
    {
        await using var kiosk = await _stack.ConnectAsync("KIOSK_01");
        var before = DateTimeOffset.UtcNow.AddSeconds(-5);
        var pong = await kiosk.HeartbeatAsync();
        Assert.InRange(DateTimeOffset.Parse((string)pong["serverTime"]!, System.Globalization.CultureInfo.InvariantCulture), before, DateTimeOffset.UtcNow.AddSeconds(5));
    }

    [Fact]
    public async Task CrewSignOnAndOffAreStoredAndBroadcastToEveryMonitor()
    {
        await using var monitor = await _stack.ConnectAsync("MONITOR_01");
        await using var supervisor = await _stack.ConnectAsync("SUPERVISOR_01");
        await using var kiosk = await _stack.ConnectAsync("KIOSK_02");

        await kiosk.CrewSignOnAsync("C1234", "Ada Lovelace");
        var seenByMonitor = await monitor.WaitForAsync(m => (string?)m["event"] == Events.CrewSignOn, Wait);
        var seenBySupervisor = await supervisor.WaitForAsync(m => (string?)m["event"] == Events.CrewSignOn, Wait);
        var login = await _stack.Api.LoginAsync("MONITOR_01", RailCloudStack.Password);
        var onDuty = (await _stack.Api.ListKiosksAsync(login.AccessToken)).Single(k => k.KioskId == "KIOSK_02").Crew;
        await kiosk.CrewSignOffAsync("C1234");
        var signedOff = await monitor.WaitForAsync(m => (string?)m["event"] == Events.CrewSignOff, Wait);
        var afterwards = (await _stack.Api.ListKiosksAsync(login.AccessToken)).Single(k => k.KioskId == "KIOSK_02").Crew;

        Assert.Equal(("KIOSK_02", "C1234", "Ada Lovelace"), ((string?)seenByMonitor["kioskId"], (string?)seenByMonitor["crewId"], (string?)seenByMonitor["name"]));
        Assert.NotNull(seenByMonitor["at"]);
        Assert.Equal("C1234", (string?)seenBySupervisor["crewId"]);
        Assert.Equal("C1234", Assert.Single(onDuty).CrewId);
        Assert.Equal(("KIOSK_02", "C1234"), ((string?)signedOff["kioskId"], (string?)signedOff["crewId"]));
        Assert.Empty(afterwards);
    }

    [Fact]
    public async Task SigningOffACrewThatIsNotOnDutyIsRefusedAndNobodyIsTold()
    {
        await using var monitor = await _stack.ConnectAsync("MONITOR_01");
        await using var kiosk = await _stack.ConnectAsync("KIOSK_02");

        var refused = await Assert.ThrowsAsync<RailCloudException>(() => kiosk.CrewSignOffAsync("NEVER_ON"));
        await kiosk.CrewSignOnAsync("C9", "Nine");
        var next = await monitor.WaitForAsync(m => (string?)m["event"] is Events.CrewSignOn or Events.CrewSignOff, Wait);
        var token = (await _stack.Api.LoginAsync("MONITOR_01", RailCloudStack.Password)).AccessToken;
        var audit = await _stack.Api.KioskEventsAsync(token, "KIOSK_02");

        Assert.Equal(ErrorCodes.NotOnDuty, refused.Code);
        Assert.Equal((Events.CrewSignOn, "C9"), ((string?)next["event"], (string?)next["crewId"]));   // the refused sign-off was never broadcast
        Assert.DoesNotContain(audit.Items, e => e.CrewId == "NEVER_ON");
        await kiosk.CrewSignOffAsync("C9");
    }

    [Fact]
    public async Task AKioskHoldsAtMostAHundredCrewOnDutyAndSaysSoClearly()
    {
        await _stack.CreateAccountAsync("KIOSK_CROWDED", Roles.Kiosk);
        await using var kiosk = await _stack.ConnectAsync("KIOSK_CROWDED");
        for (var i = 0; i < Limits.MaxCrewOnDuty; i++)
        {
            await kiosk.CrewSignOnAsync($"C{i:000}", $"Crew member number {i} with a long-ish name");
            await Task.Delay(60);   // within the per-connection allowance (20 a second)
        }

        var full = await Assert.ThrowsAsync<RailCloudException>(() => kiosk.CrewSignOnAsync("C999", "One too many"));
        await kiosk.CrewSignOnAsync("C007", "Signed on again");   // already on duty: refreshes, does not grow
        var token = (await _stack.Api.LoginAsync("MONITOR_01", RailCloudStack.Password)).AccessToken;
        var listed = (await _stack.Api.ListKiosksAsync(token)).Single(k => k.KioskId == "KIOSK_CROWDED");

        Assert.Equal(ErrorCodes.CrewFull, full.Code);
        Assert.Equal(Limits.MaxCrewOnDuty, listed.Crew.Count);
        Assert.DoesNotContain(listed.Crew, c => c.CrewId == "C999");
        Assert.Equal("Signed on again", listed.Crew.Single(c => c.CrewId == "C007").Name);
    }

    [Fact]
    public async Task AKioskThatRegistersAgainIsToldWhoIsOnDutyThere()
    {
        await using (var first = await _stack.ConnectAsync("KIOSK_01"))
        {
            await first.CrewSignOnAsync("C42", "Grace Hopper");
        }
        await using var again = await RailCloudConnection.ConnectAsync(_stack.Api, "KIOSK_01", RailCloudStack.Password);

        var registered = await again.RegisterAsync();

        var crew = Assert.Single(registered["crew"]!.AsArray())!;
        Assert.Equal(("C42", "Grace Hopper"), ((string?)crew["crewId"], (string?)crew["name"]));
        await again.CrewSignOffAsync("C42");
    }

    [Fact]
    public async Task TheAuditTrailListsCrewAndSessionEventsNewestFirstPageByPage()
    {
        await using var monitor = await _stack.ConnectAsync("MONITOR_01");
        await using var kiosk = await _stack.ConnectAsync("KIOSK_01");
        await kiosk.CrewSignOnAsync("C1", "One");
        await monitor.StartMonitoringAsync("KIOSK_01");
        await monitor.StopMonitoringAsync("KIOSK_01");
        await kiosk.CrewSignOffAsync("C1");
        var token = (await _stack.Api.LoginAsync("MONITOR_01", RailCloudStack.Password)).AccessToken;

        var first = await _stack.Api.KioskEventsAsync(token, "KIOSK_01", pageSize: 2);
        var second = await _stack.Api.KioskEventsAsync(token, "KIOSK_01", pageSize: 2, continuationToken: first.ContinuationToken);

        Assert.Equal(["crew-sign-off", "session-ended"], first.Items.Select(e => e.Kind));
        Assert.Equal(["session-started", "crew-sign-on"], second.Items.Select(e => e.Kind));
        Assert.Equal(EndReasons.Stopped, first.Items[1].Reason);
        Assert.Equal("MONITOR_01", second.Items[0].MonitorId);
        Assert.NotNull(first.ContinuationToken);
    }

    [Fact]
    public async Task TheKioskListAndAuditTrailAreForMonitorsOnly()
    {
        var kioskToken = (await _stack.Api.LoginAsync("KIOSK_01", RailCloudStack.Password)).AccessToken;
        var error = await Assert.ThrowsAsync<RailCloudException>(() => _stack.Api.ListKiosksAsync(kioskToken));
        Assert.Equal((403, ErrorCodes.Forbidden), (error.HttpStatus, error.Code));
        var anonymous = await Assert.ThrowsAsync<RailCloudException>(() => _stack.Api.KioskEventsAsync("not-a-token", "KIOSK_01"));
        Assert.Equal((401, ErrorCodes.Unauthorized), (anonymous.HttpStatus, anonymous.Code));
    }

    [Fact]
    public async Task HealthSaysStorageAndWebPubSubAnswer()
    {
        using var response = await _stack.Api.Http.GetAsync("api/health");
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(("healthy", "ok", "ok"), ((string?)body["status"], (string?)body["storage"], (string?)body["webPubSub"]));
    }
}
