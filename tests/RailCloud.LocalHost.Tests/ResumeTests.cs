using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RailCloud.Signaling.Kiosks;
using RailCloud.Signaling.Sessions;
using RailCloud.Signaling.Storage;

namespace RailCloud.LocalHost.Tests;

/// <summary>
/// Sessions outlive signaling connections: a peer that comes back on a new Web PubSub connection resumes the
/// session it holds, and an outage of RailCloud itself (the API, then the Web PubSub emulator) expires nobody.
/// </summary>
public sealed class ResumeTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private RailCloudStack _stack = null!;

    public async Task InitializeAsync()
    {
        _stack = await RailCloudStack.StartAsync(Waiting.ShortSessions());
        await _stack.CreateAccountAsync("KIOSK_01", Roles.Kiosk);
        await _stack.CreateAccountAsync("MONITOR_01", Roles.Monitor);
    }

    public async Task DisposeAsync() => await _stack.DisposeAsync();

    private async Task<SessionEntity?> SessionRow() => await _stack.Services.GetRequiredService<SessionStore>().GetAsync("KIOSK_01");

    private async Task<RailCloudConnection> ConnectAsync(string id) => await _stack.ConnectAsync(id, register: false);

    [Fact]
    public async Task BothPeersResumeTheirSessionOnNewConnectionsAndSignalingFlowsOnItsNewRoute()
    {
        var oldMonitor = await _stack.ConnectAsync("MONITOR_01");
        var oldKiosk = await _stack.ConnectAsync("KIOSK_01");
        var sessionId = (string)(await oldMonitor.StartMonitoringAsync("KIOSK_01"))["sessionId"]!;

        await using var kiosk = await ConnectAsync("KIOSK_01");
        var kioskRegistered = await kiosk.RegisterAsync([sessionId, "0123456789abcdef0123456789abcdef"]);
        await using var monitor = await ConnectAsync("MONITOR_01");
        var monitorRegistered = await monitor.RegisterAsync([sessionId]);
        await monitor.SendOfferAsync("KIOSK_01", "v=0\r\ns=monitor\r\n");
        var offer = await kiosk.WaitForAsync(m => (string?)m["event"] == Events.Offer, Wait);
        await kiosk.SendAnswerAsync("MONITOR_01", "v=0\r\ns=kiosk\r\n");
        var answer = await monitor.WaitForAsync(m => (string?)m["event"] == Events.Answer, Wait);
        await kiosk.SendIceCandidateAsync("MONITOR_01", "candidate:1 1 udp 2122260222 127.0.0.1 50001 typ host");
        var candidate = await monitor.WaitForAsync(m => (string?)m["event"] == Events.IceCandidate, Wait);

        Assert.Equal([sessionId], Ids(kioskRegistered["resumed"]));
        Assert.Equal(["0123456789abcdef0123456789abcdef"], Ids(kioskRegistered["ended"]));
        Assert.Equal([sessionId], Ids(monitorRegistered["resumed"]));
        Assert.Empty(Ids(monitorRegistered["ended"]));
        Assert.Equal(sessionId, (string?)offer["sessionId"]);
        Assert.Equal(sessionId, (string?)answer["sessionId"]);
        Assert.Equal(sessionId, (string?)candidate["sessionId"]);
        var row = await SessionRow();
        Assert.Equal((sessionId, kiosk.ConnectionId, monitor.ConnectionId), (row!.SessionId, row.KioskConnectionId, row.MonitorConnectionId));
        // The old connections leaving (the backend closed the kiosk's; the monitor's goes now) ends nothing.
        await oldMonitor.DisposeAsync();
        await oldKiosk.DisposeAsync();
        await Task.Delay(1000);
        Assert.Equal(sessionId, (await SessionRow())?.SessionId);
        Assert.DoesNotContain(Waiting.Drain(monitor).Concat(Waiting.Drain(kiosk)), m => (string?)m["event"] == Events.MonitoringEnded);
    }

    [Fact]
    public async Task KioskAndMonitorResumingTheSameSessionAtTheSameMomentBothKeepIt()
    {
        await using var firstMonitor = await _stack.ConnectAsync("MONITOR_01");
        await using var firstKiosk = await _stack.ConnectAsync("KIOSK_01");
        var sessionId = (string)(await firstMonitor.StartMonitoringAsync("KIOSK_01"))["sessionId"]!;

        // Both come back after one outage, several times over; each pair of registrations runs truly at once.
        // The connections stay open (closing a resumed one would end the session, as it should).
        var open = new List<RailCloudConnection>();
        for (var round = 0; round < 5; round++)
        {
            var kiosk = await ConnectAsync("KIOSK_01");
            var monitor = await ConnectAsync("MONITOR_01");
            open.AddRange([kiosk, monitor]);
            var both = await Task.WhenAll(kiosk.RegisterAsync([sessionId]), monitor.RegisterAsync([sessionId]));

            Assert.All(both, registered => Assert.Equal([sessionId], Ids(registered["resumed"])));
            var row = await SessionRow();
            Assert.Equal((kiosk.ConnectionId, monitor.ConnectionId), (row!.KioskConnectionId, row.MonitorConnectionId));
        }
        foreach (var connection in open)
        {
            await connection.DisposeAsync();
        }
    }

    [Fact]
    public async Task AKioskThatComesBackWithoutTheSessionStillReplacesIt()
    {
        await using var monitor = await _stack.ConnectAsync("MONITOR_01");
        await using var oldKiosk = await _stack.ConnectAsync("KIOSK_01");
        var sessionId = (string)(await monitor.StartMonitoringAsync("KIOSK_01"))["sessionId"]!;

        await using var reloaded = await ConnectAsync("KIOSK_01");
        var registered = await reloaded.RegisterAsync([]);
        var ended = await monitor.WaitForAsync(m => (string?)m["event"] == Events.MonitoringEnded, Wait);

        Assert.Empty(Ids(registered["resumed"]));
        Assert.Equal((sessionId, EndReasons.Replaced), ((string?)ended["sessionId"], (string?)ended["reason"]));
    }

    [Fact]
    public async Task AResumeListThatIsNotAListOfIdsIsRefusedAndChangesNothing()
    {
        await using var kiosk = await ConnectAsync("KIOSK_01");

        var notAList = await Assert.ThrowsAsync<RailCloudException>(() => kiosk.RequestAsync(Events.RegisterKiosk, new { resume = "abc" }, _ => false));
        var tooMany = await Assert.ThrowsAsync<RailCloudException>(() => kiosk.RequestAsync(Events.RegisterKiosk, new { resume = Enumerable.Range(0, 65).Select(i => $"s{i}").ToArray() }, _ => false));
        var badId = await Assert.ThrowsAsync<RailCloudException>(() => kiosk.RequestAsync(Events.RegisterKiosk, new { resume = new[] { "../x" } }, _ => false));

        Assert.All([notAList, tooMany, badId], e => Assert.Equal(ErrorCodes.InvalidPayload, e.Code));
        var row = await _stack.Services.GetRequiredService<KioskStore>().GetAsync("KIOSK_01");
        Assert.False(row!.Online);
    }

    [Fact]
    public async Task AnApiOutageLongerThanTheTtlExpiresNobody()
    {
        await using var monitor = await _stack.ConnectAsync("MONITOR_01");
        await using var kiosk = await _stack.ConnectAsync("KIOSK_01");
        var sessionId = (string)(await monitor.StartMonitoringAsync("KIOSK_01"))["sessionId"]!;

        await _stack.StopApiAsync();
        var refused = await Assert.ThrowsAsync<RailCloudException>(() => kiosk.HeartbeatAsync());
        await Task.Delay(TimeSpan.FromSeconds(5));   // longer than the 3 s TTL
        await _stack.StartApiAsync();
        // Heartbeats come through again, as the clients retry them; meanwhile the sweep has run several times.
        for (var i = 0; i < 8; i++)
        {
            await kiosk.HeartbeatAsync();
            await monitor.HeartbeatAsync();
            await Task.Delay(500);
        }

        Assert.Equal(ErrorCodes.Unavailable, refused.Code);
        Assert.Equal(sessionId, (await SessionRow())?.SessionId);
        var listed = Assert.Single(await _stack.Api.ListKiosksAsync(monitor.AccessToken));
        Assert.True(listed.Online);
        Assert.Equal("MONITOR_01", listed.MonitoredBy);
        Assert.DoesNotContain(Waiting.Drain(monitor).Concat(Waiting.Drain(kiosk)), m => (string?)m["event"] is Events.MonitoringEnded or Events.KioskOffline);
    }

    [Fact]
    public async Task TheGraceAfterAnOutageEndsWhoeverStaysSilent()
    {
        await using var monitor = await _stack.ConnectAsync("MONITOR_01");
        await using var kiosk = await _stack.ConnectAsync("KIOSK_01");
        var sessionId = (string)(await monitor.StartMonitoringAsync("KIOSK_01"))["sessionId"]!;

        await _stack.StopApiAsync();
        await Task.Delay(TimeSpan.FromSeconds(4));
        await _stack.StartApiAsync();
        // Nobody heartbeats after the restart: the grace (the TTL, 3 s) runs out and the sweep ends the session.
        var ended = await monitor.WaitForAsync(m => (string?)m["event"] == Events.MonitoringEnded, Wait);

        Assert.Equal((sessionId, EndReasons.Expired), ((string?)ended["sessionId"], (string?)ended["reason"]));
    }

    [Fact]
    public async Task AfterTheEmulatorRestartsBothPeersComeBackOnNewConnectionsAndResume()
    {
        // The default TTL here: this is about connections, not about heartbeats.
        await using var stack = await RailCloudStack.StartAsync();
        await stack.CreateAccountAsync("KIOSK_01", Roles.Kiosk);
        await stack.CreateAccountAsync("MONITOR_01", Roles.Monitor);
        var monitor = await stack.ConnectAsync("MONITOR_01");
        var kiosk = await stack.ConnectAsync("KIOSK_01");
        var sessionId = (string)(await monitor.StartMonitoringAsync("KIOSK_01"))["sessionId"]!;

        await stack.RestartEmulatorAsync(TimeSpan.FromSeconds(1));
        await Waiting.UntilAsync(() => kiosk.ClosedReason is not null && monitor.ClosedReason is not null);
        await kiosk.DisposeAsync();
        await monitor.DisposeAsync();
        await using var newKiosk = await stack.ConnectAsync("KIOSK_01", register: false);
        await using var newMonitor = await stack.ConnectAsync("MONITOR_01", register: false);
        var kioskRegistered = await newKiosk.RegisterAsync([sessionId]);
        var monitorRegistered = await newMonitor.RegisterAsync([sessionId]);
        await newMonitor.SendOfferAsync("KIOSK_01", "v=0\r\ns=monitor\r\n");
        var offer = await newKiosk.WaitForAsync(m => (string?)m["event"] == Events.Offer, Wait);

        Assert.Equal([sessionId], Ids(kioskRegistered["resumed"]));
        Assert.Equal([sessionId], Ids(monitorRegistered["resumed"]));
        Assert.Equal(sessionId, (string?)offer["sessionId"]);
    }

    private static List<string?> Ids(JsonNode? node) => node is JsonArray array ? [.. array.Select(n => (string?)n)] : [];


}
