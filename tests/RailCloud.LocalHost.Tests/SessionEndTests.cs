using Microsoft.Extensions.DependencyInjection;
using RailCloud.Signaling.Kiosks;
using RailCloud.Signaling.Sessions;
using RailCloud.Signaling.Storage;

namespace RailCloud.LocalHost.Tests;

/// <summary>Every way a session ends, with the other side told why each time.</summary>
public sealed class SessionEndTests : IAsyncLifetime
{
    private RailCloudStack _stack = null!;

    public async Task InitializeAsync()
    {
        // A short TTL and a fast sweep, so "no heartbeat for the TTL" takes seconds, not minutes.
        _stack = await RailCloudStack.StartAsync(Waiting.ShortSessions());
        await _stack.CreateAccountAsync("KIOSK_01", Roles.Kiosk);
        await _stack.CreateAccountAsync("MONITOR_01", Roles.Monitor);
    }

    public async Task DisposeAsync() => await _stack.DisposeAsync();

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    private async Task<SessionEntity?> SessionRow() => await _stack.Services.GetRequiredService<SessionStore>().GetAsync("KIOSK_01");

    [Fact]
    public async Task WhenTheKioskDisconnectsTheMonitorIsToldAndTheKioskGoesOffline()
    {
        await using var monitor = await _stack.ConnectAsync("MONITOR_01");
        var kiosk = await _stack.ConnectAsync("KIOSK_01");
        var started = await monitor.StartMonitoringAsync("KIOSK_01");

        await kiosk.DisposeAsync();
        var ended = await monitor.WaitForAsync(m => (string?)m["event"] == Events.MonitoringEnded, Wait);
        var offline = await monitor.WaitForAsync(m => (string?)m["event"] == Events.KioskOffline, Wait);

        Assert.Equal(((string?)started["sessionId"], EndReasons.KioskDisconnected), ((string?)ended["sessionId"], (string?)ended["reason"]));
        Assert.Equal("KIOSK_01", (string?)offline["kioskId"]);
        Assert.Null(await SessionRow());
    }

    [Fact]
    public async Task WhenTheMonitorDisconnectsTheKioskIsTold()
    {
        await using var kiosk = await _stack.ConnectAsync("KIOSK_01");
        var monitor = await _stack.ConnectAsync("MONITOR_01");
        var started = await monitor.StartMonitoringAsync("KIOSK_01");

        await monitor.DisposeAsync();
        var ended = await kiosk.WaitForAsync(m => (string?)m["event"] == Events.MonitoringEnded, Wait);

        Assert.Equal(((string?)started["sessionId"], EndReasons.MonitorDisconnected), ((string?)ended["sessionId"], (string?)ended["reason"]));
        Assert.Null(await SessionRow());
    }

    [Fact]
    public async Task WithoutHeartbeatsTheSessionExpiresAndTheKioskGoesOffline()
    {
        // Nobody sends heartbeats, as when the kiosk's network dies without a close and `disconnected` is lost.
        await using var kiosk = await _stack.ConnectAsync("KIOSK_01");
        await using var monitor = await _stack.ConnectAsync("MONITOR_01");
        var started = await monitor.StartMonitoringAsync("KIOSK_01");

        var monitorTold = await monitor.WaitForAsync(m => (string?)m["event"] == Events.MonitoringEnded, Wait);
        var kioskTold = await kiosk.WaitForAsync(m => (string?)m["event"] == Events.MonitoringEnded, Wait);
        var offline = await monitor.WaitForAsync(m => (string?)m["event"] == Events.KioskOffline, Wait);

        Assert.Equal(((string?)started["sessionId"], EndReasons.Expired), ((string?)monitorTold["sessionId"], (string?)monitorTold["reason"]));
        Assert.Equal(EndReasons.Expired, (string?)kioskTold["reason"]);
        Assert.Equal("heartbeat-lost", (string?)offline["reason"]);
        Assert.Null(await SessionRow());
    }

    [Fact]
    public async Task HeartbeatsKeepPresenceAndTheSessionAlive()
    {
        await using var kiosk = await _stack.ConnectAsync("KIOSK_01");
        await using var monitor = await _stack.ConnectAsync("MONITOR_01");
        var started = await monitor.StartMonitoringAsync("KIOSK_01");

        for (var i = 0; i < 8; i++) // 8 × 0.75 s = twice the TTL
        {
            await kiosk.HeartbeatAsync();
            await monitor.HeartbeatAsync();
            await Task.Delay(750);
        }

        var row = await SessionRow();
        Assert.Equal((string?)started["sessionId"], row?.SessionId);
        Assert.DoesNotContain(Waiting.Drain(monitor), m => (string?)m["event"] is Events.MonitoringEnded or Events.KioskOffline);
    }

    [Fact]
    public async Task AMonitorThatFallsSilentLosesTheSessionThoughTheKioskKeepsHeartbeating()
    {
        // The monitor's `disconnected` never arrives (its network died while the API was down, say): only its own
        // heartbeats count for it, so the kiosk's cannot hold the session, and another monitor may watch.
        await using var kiosk = await _stack.ConnectAsync("KIOSK_01");
        await using var silent = await _stack.ConnectAsync("MONITOR_01");
        var started = await silent.StartMonitoringAsync("KIOSK_01");
        var heartbeats = Task.Run(async () =>
        {
            for (var i = 0; i < 10; i++)
            {
                await kiosk.HeartbeatAsync();
                await Task.Delay(500);
            }
        });

        var kioskTold = await kiosk.WaitForAsync(m => (string?)m["event"] == Events.MonitoringEnded, Wait);
        await _stack.CreateAccountAsync("MONITOR_02", Roles.Monitor);
        await using var other = await _stack.ConnectAsync("MONITOR_02");
        var restarted = await other.StartMonitoringAsync("KIOSK_01");
        await heartbeats;

        Assert.Equal(((string?)started["sessionId"], EndReasons.Expired), ((string?)kioskTold["sessionId"], (string?)kioskTold["reason"]));
        Assert.NotEqual((string?)started["sessionId"], (string?)restarted["sessionId"]);
        Assert.True((await _stack.Services.GetRequiredService<KioskStore>().GetAsync("KIOSK_01"))!.IsOnline(DateTimeOffset.UtcNow), "the kiosk that kept heartbeating stays online");
    }

    [Fact]
    public async Task AfterStopTheKiosksTrickledCandidatesNoLongerReachTheFormerMonitor()
    {
        await using var kiosk = await _stack.ConnectAsync("KIOSK_01");
        await using var monitor = await _stack.ConnectAsync("MONITOR_01");
        await monitor.StartMonitoringAsync("KIOSK_01");
        await monitor.SendOfferAsync("KIOSK_01", "v=0\r\ns=monitor\r\n");
        await kiosk.WaitForAsync(m => (string?)m["event"] == Events.Offer, Wait);
        await kiosk.SendAnswerAsync("MONITOR_01", "v=0\r\ns=kiosk\r\n");
        await kiosk.SendIceCandidateAsync("MONITOR_01", "candidate:1 1 udp 1 127.0.0.1 50001 typ host");
        await monitor.WaitForAsync(m => (string?)m["event"] == Events.IceCandidate, Wait);   // the route is now cached in the kiosk's connection state

        await monitor.StopMonitoringAsync("KIOSK_01");
        await kiosk.WaitForAsync(m => (string?)m["event"] == Events.MonitoringEnded, Wait);
        await kiosk.SendIceCandidateAsync("MONITOR_01", "candidate:2 1 udp 1 127.0.0.1 50002 typ host");
        await monitor.HeartbeatAsync();   // anything relayed before this pong would have arrived before it

        Assert.DoesNotContain(Waiting.Drain(monitor), m => (string?)m["event"] == Events.IceCandidate && ((string?)m["candidate"]?["candidate"])!.StartsWith("candidate:2", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AKioskThatConnectsAgainReplacesItsOldConnectionAndSession()
    {
        await using var monitor = await _stack.ConnectAsync("MONITOR_01");
        await using var oldKiosk = await _stack.ConnectAsync("KIOSK_01");
        var started = await monitor.StartMonitoringAsync("KIOSK_01");

        await using var newKiosk = await _stack.ConnectAsync("KIOSK_01");
        var ended = await monitor.WaitForAsync(m => (string?)m["event"] == Events.MonitoringEnded, Wait);
        await Waiting.UntilAsync(() => oldKiosk.ClosedReason is not null);
        var restarted = await monitor.StartMonitoringAsync("KIOSK_01");
        var toNew = await newKiosk.WaitForAsync(m => (string?)m["event"] == Events.MonitoringStarted, Wait);

        Assert.Equal(((string?)started["sessionId"], EndReasons.Replaced), ((string?)ended["sessionId"], (string?)ended["reason"]));
        Assert.Contains("Replaced", oldKiosk.ClosedReason);
        Assert.Equal((string?)restarted["sessionId"], (string?)toNew["sessionId"]);
    }

    [Fact]
    public async Task StoppingTellsTheKioskAndFreesTheKioskForTheNextMonitor()
    {
        await using var kiosk = await _stack.ConnectAsync("KIOSK_01");
        await using var monitor = await _stack.ConnectAsync("MONITOR_01");
        var first = await monitor.StartMonitoringAsync("KIOSK_01");
        await monitor.StopMonitoringAsync("KIOSK_01");
        var ended = await kiosk.WaitForAsync(m => (string?)m["event"] == Events.MonitoringEnded, Wait);
        var second = await monitor.StartMonitoringAsync("KIOSK_01");

        Assert.Equal(EndReasons.Stopped, (string?)ended["reason"]);
        Assert.NotEqual((string?)first["sessionId"], (string?)second["sessionId"]);
    }


}
