using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using RailCloud.Signaling.Sessions;
using RailCloud.Signaling.Storage;
using RailCloud.WebPubSub;

namespace RailCloud.LocalHost.Tests;

/// <summary>Every refusal code of DESIGN.md, each with nothing forwarded and nothing changed.</summary>
public sealed class ErrorCodeTests : IAsyncLifetime
{
    private RailCloudStack _stack = null!;

    public async Task InitializeAsync()
    {
        _stack = await RailCloudStack.StartAsync(new Dictionary<string, string?>
        {
            ["Sessions:SignalingBurst"] = "5",
            ["Sessions:SignalingPerSecond"] = "1",
        });
        foreach (var (id, role) in new[] { ("KIOSK_01", Roles.Kiosk), ("KIOSK_02", Roles.Kiosk), ("MONITOR_01", Roles.Monitor), ("MONITOR_02", Roles.Monitor) })
        {
            await _stack.CreateAccountAsync(id, role);
        }
    }

    public async Task DisposeAsync() => await _stack.DisposeAsync();

    private static async Task<string> CodeOf(Func<Task> action)
    {
        var error = await Assert.ThrowsAsync<RailCloudException>(action);
        return error.Code;
    }

    [Fact]
    public async Task AKeyGivenTwiceIsInvalidPayloadAndChangesNothing()
    {
        await using var monitor = await _stack.ConnectAsync("MONITOR_01");
        await using var kiosk = await _stack.ConnectAsync("KIOSK_01");
        // Raw JSON, so the duplicate key reaches the backend exactly as written.
        static System.Text.Json.JsonElement Raw(string json) => System.Text.Json.JsonDocument.Parse(json).RootElement.Clone();

        var twice = await CodeOf(() => monitor.SendAsync(Events.StartMonitoring, Raw("""{"kioskId":"KIOSK_01","kioskId":"KIOSK_02"}""")));
        var crewTwice = await CodeOf(() => kiosk.SendAsync(Events.CrewSignOn, Raw("""{"crewId":"C1","crewId":"C2"}""")));

        Assert.Equal([ErrorCodes.InvalidPayload, ErrorCodes.InvalidPayload], [twice, crewTwice]);
        var listed = (await _stack.Api.ListKiosksAsync(monitor.AccessToken)).Single(k => k.KioskId == "KIOSK_01");
        Assert.Empty(listed.Crew);
        Assert.Null(listed.MonitoredBy);
        Assert.DoesNotContain(Waiting.Drain(monitor), m => (string?)m["event"] is Events.CrewSignOn or Events.MonitoringStarted);
    }

    [Fact]
    public async Task AKioskMayNotDoAMonitorsJobNorAMonitorAKiosks()
    {
        await using var kiosk = await _stack.ConnectAsync("KIOSK_01");
        await using var monitor = await _stack.ConnectAsync("MONITOR_01");

        Assert.Equal(ErrorCodes.Forbidden, await CodeOf(() => kiosk.StartMonitoringAsync("KIOSK_02")));
        Assert.Equal(ErrorCodes.Forbidden, await CodeOf(() => kiosk.RequestAsync(Events.RegisterMonitor, new { }, m => (string?)m["event"] == Events.Registered)));
        Assert.Equal(ErrorCodes.Forbidden, await CodeOf(() => monitor.CrewSignOnAsync("C1")));
        Assert.Equal(ErrorCodes.Forbidden, await CodeOf(() => monitor.SendAnswerAsync("KIOSK_01", "v=0")));
        Assert.Equal(ErrorCodes.Forbidden, await CodeOf(() => kiosk.SendOfferAsync("MONITOR_01", "v=0")));
    }

    [Fact]
    public async Task NothingButRegisteringWorksBeforeRegistering()
    {
        await using var monitor = await _stack.ConnectAsync("MONITOR_01", register: false);
        Assert.Equal(ErrorCodes.NotRegistered, await CodeOf(() => monitor.StartMonitoringAsync("KIOSK_01")));
        Assert.Equal(ErrorCodes.NotRegistered, await CodeOf(() => monitor.HeartbeatAsync()));
    }

    [Fact]
    public async Task StartingNeedsAKnownOnlineIdleKiosk()
    {
        await using var first = await _stack.ConnectAsync("MONITOR_01");
        await using var second = await _stack.ConnectAsync("MONITOR_02");

        Assert.Equal(ErrorCodes.UnknownKiosk, await CodeOf(() => first.StartMonitoringAsync("KIOSK_99")));
        Assert.Equal(ErrorCodes.KioskOffline, await CodeOf(() => first.StartMonitoringAsync("KIOSK_02")));
        await using var kiosk = await _stack.ConnectAsync("KIOSK_01");
        await first.StartMonitoringAsync("KIOSK_01");
        var busy = await Assert.ThrowsAsync<RailCloudException>(() => second.StartMonitoringAsync("KIOSK_01"));

        Assert.Equal(ErrorCodes.KioskBusy, busy.Code);
        Assert.Contains("MONITOR_01", busy.ServerMessage);
        Assert.Equal("MONITOR_01", (await _stack.Services.GetRequiredService<SessionStore>().GetAsync("KIOSK_01"))!.MonitorId);
    }

    [Fact]
    public async Task SignalingOutsideASessionIsRefused()
    {
        await using var kiosk = await _stack.ConnectAsync("KIOSK_01");
        await using var watcher = await _stack.ConnectAsync("MONITOR_01");
        await using var stranger = await _stack.ConnectAsync("MONITOR_02");

        Assert.Equal(ErrorCodes.NoSession, await CodeOf(() => watcher.StopMonitoringAsync("KIOSK_01")));
        Assert.Equal(ErrorCodes.NoSession, await CodeOf(() => watcher.SendOfferAsync("KIOSK_01", "v=0")));
        Assert.Equal(ErrorCodes.NoSession, await CodeOf(() => kiosk.SendAnswerAsync("MONITOR_01", "v=0")));
        await watcher.StartMonitoringAsync("KIOSK_01");
        Assert.Equal(ErrorCodes.NotSessionMember, await CodeOf(() => stranger.SendOfferAsync("KIOSK_01", "v=0")));
        Assert.Equal(ErrorCodes.NotSessionMember, await CodeOf(() => stranger.SendIceCandidateAsync("KIOSK_01", "candidate:1 1 udp 1 127.0.0.1 9 typ host")));
        Assert.Equal(ErrorCodes.NotSessionMember, await CodeOf(() => stranger.StopMonitoringAsync("KIOSK_01")));
        Assert.Equal(ErrorCodes.NotSessionMember, await CodeOf(() => kiosk.SendAnswerAsync("MONITOR_02", "v=0")));

        // The kiosk never heard from the stranger; the session is untouched.
        await Task.Delay(300);
        Assert.DoesNotContain(Waiting.Drain(kiosk), m => (string?)m["event"] is Events.Offer or Events.IceCandidate);
        Assert.Equal("MONITOR_01", (await _stack.Services.GetRequiredService<SessionStore>().GetAsync("KIOSK_01"))!.MonitorId);
    }

    [Theory]
    [InlineData("start-monitoring", "{\"kioskId\":\"../../etc\"}")]
    [InlineData("start-monitoring", "{}")]
    [InlineData("offer", "{\"targetId\":\"KIOSK_01\",\"offer\":{\"type\":\"answer\",\"sdp\":\"v=0\"}}")]
    [InlineData("offer", "{\"targetId\":\"KIOSK_01\",\"offer\":{\"type\":\"offer\",\"sdp\":\"not sdp\"}}")]
    [InlineData("offer", "{\"targetId\":\"KIOSK_01\",\"offer\":\"v=0\"}")]
    [InlineData("ice-candidate", "{\"targetId\":\"KIOSK_01\",\"candidate\":{\"candidate\":42}}")]
    [InlineData("ice-candidate", "{\"targetId\":\"KIOSK_01\",\"candidate\":{\"candidate\":\"a=evil\"}}")]
    [InlineData("crew-sign-on", "{\"crewId\":\"\"}")]
    [InlineData("heartbeat-ping", "[1,2]")]
    [InlineData("teleport", "{}")]
    public async Task MalformedPayloadsAreInvalid(string eventName, string json)
    {
        await using var monitor = await _stack.ConnectAsync(eventName == "crew-sign-on" ? "KIOSK_01" : "MONITOR_01");
        var data = System.Text.Json.Nodes.JsonNode.Parse(json)!;
        var error = await Assert.ThrowsAsync<RailCloudException>(() => monitor.SendAsync(eventName, data));
        Assert.Equal(ErrorCodes.InvalidPayload, error.Code);
        Assert.Equal(eventName, error.RequestEvent);
    }

    [Fact]
    public async Task OversizedSignalingIsPayloadTooLargeAndNotForwarded()
    {
        await using var kiosk = await _stack.ConnectAsync("KIOSK_01");
        await using var monitor = await _stack.ConnectAsync("MONITOR_01");
        await monitor.StartMonitoringAsync("KIOSK_01");

        var hugeSdp = "v=0\r\n" + new string('a', 70 * 1024);
        Assert.Equal(ErrorCodes.PayloadTooLarge, await CodeOf(() => monitor.SendOfferAsync("KIOSK_01", hugeSdp)));
        Assert.Equal(ErrorCodes.PayloadTooLarge, await CodeOf(() => monitor.SendIceCandidateAsync("KIOSK_01", "candidate:" + new string('1', 2000))));
        var tenThousandCandidates = "v=0\r\n" + string.Concat(Enumerable.Repeat("a=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\n", 10_000));
        Assert.Equal(ErrorCodes.PayloadTooLarge, await CodeOf(() => monitor.SendOfferAsync("KIOSK_01", tenThousandCandidates)));
        await Task.Delay(300);
        Assert.DoesNotContain(Waiting.Drain(kiosk), m => (string?)m["event"] == Events.Offer);
    }

    [Fact]
    public async Task AFloodOfSignalingIsRateLimitedWithoutHurtingOthers()
    {
        await using var kiosk = await _stack.ConnectAsync("KIOSK_01");
        await using var monitor = await _stack.ConnectAsync("MONITOR_01");
        await using var otherKiosk = await _stack.ConnectAsync("KIOSK_02");
        await using var otherMonitor = await _stack.ConnectAsync("MONITOR_02");
        await monitor.StartMonitoringAsync("KIOSK_01");
        await otherMonitor.StartMonitoringAsync("KIOSK_02");

        var codes = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            try
            {
                await monitor.SendIceCandidateAsync("KIOSK_01", $"candidate:{i} 1 udp 1 127.0.0.1 9 typ host");
                codes.Add("ok");
            }
            catch (RailCloudException ex)
            {
                codes.Add(ex.Code);
            }
        }
        await otherMonitor.SendIceCandidateAsync("KIOSK_02", "candidate:1 1 udp 1 127.0.0.1 9 typ host");
        var delivered = await otherKiosk.WaitForAsync(m => (string?)m["event"] == Events.IceCandidate, TimeSpan.FromSeconds(10));

        Assert.Contains(ErrorCodes.RateLimited, codes);
        Assert.InRange(codes.Count(c => c == "ok"), 5, 8); // the burst, plus what refilled meanwhile
        Assert.Equal("MONITOR_02", (string?)delivered["fromId"]);
    }

    [Fact]
    public async Task AnEventWithoutOurConnectionStateIsUnauthorized()
    {
        // A correctly signed event for a connection our connect handler never accepted (so it has no state).
        var connectionId = "never-accepted";
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_stack.BaseUri, "api/webpubsub/heartbeat-ping"))
        {
            Content = new StringContent("{}", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("ce-specversion", "1.0");
        request.Headers.Add("ce-type", "azure.webpubsub.user.heartbeat-ping");
        request.Headers.Add("ce-hub", "railcloud");
        request.Headers.Add("ce-connectionId", connectionId);
        request.Headers.Add("ce-eventName", "heartbeat-ping");
        request.Headers.Add("ce-userId", "KIOSK_01");
        request.Headers.Add("ce-signature", WebPubSubEventReader.Sign(connectionId, [_stack.Emulator.AccessKey]));
        using var response = await _stack.Api.Http.SendAsync(request);
        var reply = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal((Events.Error, ErrorCodes.Unauthorized), ((string?)reply["event"], (string?)reply["code"]));
    }

    [Fact]
    public async Task WhenStorageIsDownRequestsAreUnavailableNotCrashes()
    {
        var ownAzurite = await AzuriteServer.StartAsync();
        await using var stack = await RailCloudStack.StartAsync(azurite: ownAzurite);
        await stack.CreateAccountAsync("KIOSK_01", Roles.Kiosk);
        await stack.CreateAccountAsync("MONITOR_01", Roles.Monitor);
        await using var kiosk = await stack.ConnectAsync("KIOSK_01");
        await using var monitor = await stack.ConnectAsync("MONITOR_01");

        await ownAzurite.DisposeAsync();
        var error = await Assert.ThrowsAsync<RailCloudException>(() => monitor.StartMonitoringAsync("KIOSK_01"));
        var crew = await Assert.ThrowsAsync<RailCloudException>(() => kiosk.CrewSignOnAsync("C1"));
        using var health = await stack.Api.Http.GetAsync("api/health");
        var list = await Assert.ThrowsAsync<RailCloudException>(() => stack.Api.ListKiosksAsync(monitor.AccessToken));
        var negotiate = await Assert.ThrowsAsync<RailCloudException>(() => stack.Api.NegotiateAsync(monitor.AccessToken));

        Assert.Equal(ErrorCodes.Unavailable, error.Code);
        Assert.Equal(ErrorCodes.Unavailable, crew.Code);
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.Equal((503, ErrorCodes.Unavailable), (list.HttpStatus, list.Code));
        Assert.Equal((503, ErrorCodes.Unavailable), (negotiate.HttpStatus, negotiate.Code));
        Assert.Null(monitor.ClosedReason);
        Assert.Null(kiosk.ClosedReason);
    }

}
