using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RailCloud.Signaling.Sessions;
using RailCloud.Signaling.Storage;

namespace RailCloud.LocalHost.Tests;

/// <summary>
/// Session rows that outlived what their members know: storage restored after a crash (an older version of the row,
/// its deadline passed, the sweep not there yet), a monitor back on a new connection whose resume never got through.
/// A monitor can always get out of its own session, and whoever takes a session over tells everyone in it.
/// </summary>
public sealed class StaleSessionTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private RailCloudStack _stack = null!;

    public async Task InitializeAsync()
    {
        // The sweep runs once an hour here, so a row past its deadline stays as it is until someone acts on it.
        _stack = await RailCloudStack.StartAsync(new Dictionary<string, string?> { ["Sessions:SweepInterval"] = "01:00:00" });
        await _stack.CreateAccountAsync("KIOSK_01", Roles.Kiosk);
        await _stack.CreateAccountAsync("MONITOR_01", Roles.Monitor);
        await _stack.CreateAccountAsync("MONITOR_02", Roles.Monitor);
    }

    public async Task DisposeAsync() => await _stack.DisposeAsync();

    private SessionStore Sessions => _stack.Services.GetRequiredService<SessionStore>();

    /// <summary>The row as storage could hand it back after a crash: the same session, its deadline already passed.</summary>
    private async Task PastItsDeadlineAsync(string kioskId)
    {
        var past = DateTimeOffset.UtcNow.AddSeconds(-5);
        var (_, written) = await Sessions.UpdateAsync(kioskId, s =>
        {
            (s.ExpiresAt, s.KioskExpiresAt, s.MonitorExpiresAt) = (past, past, past);
            return true;
        });
        Assert.True(written);
    }

    [Fact]
    public async Task AMonitorStopsASessionItsRowNamesEvenWhenTheRowIsPastItsDeadline()
    {
        await using var kiosk = await _stack.ConnectAsync("KIOSK_01");
        await using var monitor = await _stack.ConnectAsync("MONITOR_01");
        var started = await monitor.StartMonitoringAsync("KIOSK_01");
        await PastItsDeadlineAsync("KIOSK_01");

        var stopped = await monitor.StopMonitoringAsync("KIOSK_01");
        var ended = await kiosk.WaitForAsync(m => (string?)m["event"] == Events.MonitoringEnded, Wait);
        var again = await monitor.StartMonitoringAsync("KIOSK_01");

        Assert.Equal((string?)started["sessionId"], (string?)stopped["sessionId"]);
        Assert.Equal(((string?)started["sessionId"], EndReasons.Stopped), ((string?)ended["sessionId"], (string?)ended["reason"]));
        Assert.Equal((string?)again["sessionId"], (await Sessions.GetAsync("KIOSK_01"))?.SessionId);
    }

    [Fact]
    public async Task AMonitorBackOnANewConnectionTakesItsOwnSessionOverInsteadOfBeingToldBusy()
    {
        await using var kiosk = await _stack.ConnectAsync("KIOSK_01");
        await using var before = await _stack.ConnectAsync("MONITOR_01");
        var first = (string?)(await before.StartMonitoringAsync("KIOSK_01"))["sessionId"];

        // The same monitor on a new connection that did not (or could not) resume: a reload, or a resume refused
        // while storage was down.
        await using var after = await _stack.ConnectAsync("MONITOR_01");
        var second = (string?)(await after.StartMonitoringAsync("KIOSK_01"))["sessionId"];
        var kioskEnded = await kiosk.WaitForAsync(m => (string?)m["event"] == Events.MonitoringEnded, Wait);
        var kioskStarted = await kiosk.WaitForAsync(m => (string?)m["event"] == Events.MonitoringStarted && (string?)m["sessionId"] == second, Wait);
        var beforeEnded = await before.WaitForAsync(m => (string?)m["event"] == Events.MonitoringEnded, Wait);
        var listed = (await _stack.Api.ListKiosksAsync(after.AccessToken)).Single(k => k.KioskId == "KIOSK_01");
        var stopped = await after.StopMonitoringAsync("KIOSK_01");

        Assert.NotEqual(first, second);
        Assert.Equal((first, EndReasons.TakenOver), ((string?)kioskEnded["sessionId"], (string?)kioskEnded["reason"]));
        Assert.Equal("MONITOR_01", (string?)kioskStarted["monitorId"]);
        Assert.Equal((first, EndReasons.TakenOver), ((string?)beforeEnded["sessionId"], (string?)beforeEnded["reason"]));
        Assert.Equal("MONITOR_01", listed.MonitoredBy);
        Assert.Equal(second, (string?)stopped["sessionId"]);
        Assert.Null(await Sessions.GetAsync("KIOSK_01"));
    }

    [Fact]
    public async Task AnotherMonitorIsStillToldBusyByALiveSession()
    {
        await using var kiosk = await _stack.ConnectAsync("KIOSK_01");
        await using var monitor = await _stack.ConnectAsync("MONITOR_01");
        await using var other = await _stack.ConnectAsync("MONITOR_02");
        await monitor.StartMonitoringAsync("KIOSK_01");

        var busy = await Assert.ThrowsAsync<RailCloudException>(() => other.StartMonitoringAsync("KIOSK_01"));
        var stop = await Assert.ThrowsAsync<RailCloudException>(() => other.StopMonitoringAsync("KIOSK_01"));

        Assert.Equal((ErrorCodes.KioskBusy, ErrorCodes.NotSessionMember), (busy.Code, stop.Code));
        Assert.Equal("MONITOR_01", (await Sessions.GetAsync("KIOSK_01"))?.MonitorId);
    }

    [Fact]
    public async Task ASessionTakenOverAfterItExpiredTellsTheKioskItEndedBeforeTheNewOneStarts()
    {
        await using var kiosk = await _stack.ConnectAsync("KIOSK_01");
        await using var vanished = await _stack.ConnectAsync("MONITOR_01");
        var old = (string?)(await vanished.StartMonitoringAsync("KIOSK_01"))["sessionId"];
        await kiosk.WaitForAsync(m => (string?)m["event"] == Events.MonitoringStarted, Wait);
        await PastItsDeadlineAsync("KIOSK_01");   // its monitor went silent, and no sweep has ended it yet

        await using var other = await _stack.ConnectAsync("MONITOR_02");
        var current = (string?)(await other.StartMonitoringAsync("KIOSK_01"))["sessionId"];
        var told = new List<JsonObject>();
        await kiosk.WaitForAsync(m =>
        {
            told.Add(m);
            return (string?)m["event"] == Events.MonitoringStarted;
        }, Wait);

        var ended = Assert.Single(told, m => (string?)m["event"] == Events.MonitoringEnded);
        Assert.Equal((old, EndReasons.Expired), ((string?)ended["sessionId"], (string?)ended["reason"]));
        Assert.Equal(current, (string?)told[^1]["sessionId"]);
    }
}
