using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using RailCloud.Signaling.Kiosks;
using RailCloud.Signaling.Sessions;
using RailCloud.Signaling.Storage;

namespace RailCloud.LocalHost.Tests;

/// <summary>
/// What a fleet meets, drilled with real processes and sockets: storage going away and coming back on the same
/// data, two API hosts at once with one killed, a <c>disconnected</c> event that never comes, a host whose clock is
/// two minutes ahead. (Video through outages is drilled in Chromium, RailCloud.EndToEnd.Tests/ResilienceTests.)
/// </summary>
public sealed class FaultDrillTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The storage drills' lifetimes: a 6 s TTL; heartbeats every second (the drills' own loop), and a candidate's route
    /// cached for 5 s after each. The sweep runs every 2 s, so after an outage heartbeats get through before the sweep
    /// has granted its grace.
    /// </summary>
    private static Dictionary<string, string?> StorageDrillSettings()
    {
        var settings = Waiting.ShortSessions();
        settings["Sessions:Ttl"] = "00:00:06";
        settings["Sessions:HeartbeatInterval"] = "00:00:05";
        settings["Sessions:SweepInterval"] = "00:00:02";
        return settings;
    }

    [Fact]
    public async Task StorageStoppedMidSessionIsUnavailableMeanwhileThenRecoversByItselfLosingNoAcknowledgedCrew()
    {
        var azurite = await AzuriteServer.StartAsync(onDisk: true);
        try
        {
            var logs = new LogCapture();
            await using var stack = await RailCloudStack.StartAsync(StorageDrillSettings(), azurite, logs: logs);
            await stack.CreateAccountAsync("KIOSK_01", Roles.Kiosk);
            await stack.CreateAccountAsync("MONITOR_01", Roles.Monitor);
            await stack.CreateAccountAsync("MONITOR_02", Roles.Monitor);
            await using var kiosk = await stack.ConnectAsync("KIOSK_01");
            await using var monitor = await stack.ConnectAsync("MONITOR_01");
            await using var other = await stack.ConnectAsync("MONITOR_02");
            var sessionId = (string?)(await monitor.StartMonitoringAsync("KIOSK_01"))["sessionId"];
            await kiosk.CrewSignOnAsync("C1", "Acknowledged before the stop");
            await monitor.SendOfferAsync("KIOSK_01", "v=0\r\ns=monitor\r\n");
            await kiosk.WaitForAsync(m => (string?)m["event"] == Events.Offer, Wait);
            await kiosk.SendAnswerAsync("MONITOR_01", "v=0\r\ns=kiosk\r\n");
            await monitor.WaitForAsync(m => (string?)m["event"] == Events.Answer, Wait);
            var heartbeats = new Heartbeats(kiosk, monitor);

            await azurite.StopAsync();
            // A trickled candidate needs no storage (its route is in the connection state): signaling goes on.
            await kiosk.SendIceCandidateAsync("MONITOR_01", "candidate:1 1 udp 1 127.0.0.1 50001 typ host");
            var relayed = await monitor.WaitForAsync(m => (string?)m["event"] == Events.IceCandidate, Wait);
            var crew = await Assert.ThrowsAsync<RailCloudException>(() => kiosk.CrewSignOnAsync("C2", "Refused while storage is down"));
            var start = await Assert.ThrowsAsync<RailCloudException>(() => other.StartMonitoringAsync("KIOSK_01"));
            var list = await Assert.ThrowsAsync<RailCloudException>(() => stack.Api.ListKiosksAsync(other.AccessToken));
            await Task.Delay(TimeSpan.FromSeconds(7));   // longer than the 6 s TTL
            azurite = await azurite.StartAgainAsync();
            await Waiting.UntilAsync(() => heartbeats.SucceededSinceLastFailure >= 4, Wait);
            await Task.Delay(TimeSpan.FromSeconds(9));   // past the outage's grace: now only heartbeats keep it alive
            await heartbeats.StopAsync();
            var kiosks = await stack.Api.ListKiosksAsync(other.AccessToken);

            Assert.Equal((ErrorCodes.Unavailable, ErrorCodes.Unavailable), (crew.Code, start.Code));
            Assert.Equal((503, ErrorCodes.Unavailable), (list.HttpStatus, list.Code));
            Assert.Equal("KIOSK_01", (string?)relayed["fromId"]);
            Assert.True(heartbeats.Failed > 0, "the heartbeats during the outage should have been refused");
            var listed = kiosks.Single(k => k.KioskId == "KIOSK_01");
            Assert.Equal(["C1"], listed.Crew.Select(c => c.CrewId));   // acknowledged: kept; refused: never recorded
            Assert.True(listed.Online);
            Assert.Equal("MONITOR_01", listed.MonitoredBy);
            Assert.Equal(sessionId, (await stack.Services.GetRequiredService<SessionStore>().GetAsync("KIOSK_01"))?.SessionId);
            Assert.DoesNotContain(Waiting.Drain(monitor).Concat(Waiting.Drain(kiosk)), m => (string?)m["event"] is Events.MonitoringEnded or Events.KioskOffline);
            Assert.Empty(logs.Errors);   // storage going away is a warning, not an error, and nothing crashed
        }
        finally
        {
            await azurite.DisposeAsync();
        }
    }

    [Fact]
    public async Task AfterStorageIsKilledAndStartedAgainOnItsDataTheMonitorCanStopAndStartAgain()
    {
        var azurite = await AzuriteServer.StartAsync(onDisk: true);
        try
        {
            await using var stack = await RailCloudStack.StartAsync(StorageDrillSettings(), azurite);
            await stack.CreateAccountAsync("KIOSK_01", Roles.Kiosk);
            await stack.CreateAccountAsync("MONITOR_01", Roles.Monitor);
            await using var kiosk = await stack.ConnectAsync("KIOSK_01");
            await using var monitor = await stack.ConnectAsync("MONITOR_01");
            await monitor.StartMonitoringAsync("KIOSK_01");
            var heartbeats = new Heartbeats(kiosk, monitor);
            await Task.Delay(TimeSpan.FromSeconds(6));   // Azurite has written the session to disk (every 5 s) and heartbeats changed it since

            await azurite.KillAsync();
            await Task.Delay(TimeSpan.FromSeconds(7));   // longer than the 6 s TTL
            azurite = await azurite.StartAgainAsync();
            await Waiting.UntilAsync(() => heartbeats.SucceededSinceLastFailure >= 4, Wait);
            await heartbeats.StopAsync();
            // Whatever version of the row storage came back with, the monitor gets out of it and in again.
            var row = await stack.Services.GetRequiredService<SessionStore>().GetAsync("KIOSK_01");
            string? stopped = null;
            try
            {
                stopped = (string?)(await monitor.StopMonitoringAsync("KIOSK_01"))["sessionId"];
            }
            catch (RailCloudException ex) when (ex.Code == ErrorCodes.NoSession && row is null)
            {
                // Storage lost the session with the crash: there is nothing to stop.
            }
            var restarted = (string?)(await monitor.StartMonitoringAsync("KIOSK_01"))["sessionId"];
            var listed = (await stack.Api.ListKiosksAsync(monitor.AccessToken)).Single(k => k.KioskId == "KIOSK_01");

            Assert.Equal(row?.SessionId, stopped);
            Assert.NotEqual(stopped, restarted);
            Assert.Equal("MONITOR_01", listed.MonitoredBy);
            Assert.Equal(restarted, (await stack.Services.GetRequiredService<SessionStore>().GetAsync("KIOSK_01"))?.SessionId);
        }
        finally
        {
            await azurite.DisposeAsync();
        }
    }

    [Fact]
    public async Task TwoHostsAtOnceEndEachSessionOnceAndTellEachSurvivorOnceEvenWhenOneIsKilled()
    {
        // A 5 s TTL, not the usual 3 s: on two busy cores a heartbeat's round trip can take a second or two.
        var settings = Waiting.ShortSessions();
        settings["Sessions:Ttl"] = "00:00:05";
        await using var api = await ScaledOutApi.StartAsync([null, null], settings);
        var pairs = new List<(RailCloudConnection Kiosk, RailCloudConnection Monitor, string SessionId)>();
        var heard = new System.Collections.Concurrent.ConcurrentQueue<(string Who, JsonObject Message)>();   // everything every client received
        var connected = new List<(RailCloudConnection Kiosk, RailCloudConnection Monitor)>();
        Heartbeats? heartbeats = null;
        try
        {
            // Accounts and sign-ins first (password hashing is slow), so no registered kiosk or session waits on them for
            // its heartbeats.
            for (var i = 0; i < 6; i++)
            {
                await api.CreateAccountAsync($"KIOSK_{i}", Roles.Kiosk);
                await api.CreateAccountAsync($"MONITOR_{i}", Roles.Monitor);
                var kiosk = await RailCloudConnection.ConnectAsync(api.Api, $"KIOSK_{i}", RailCloudStack.Password);
                var (kioskId, monitorId) = ($"KIOSK_{i}", $"MONITOR_{i}");
                kiosk.Received += m => heard.Enqueue((kioskId, m));
                var monitor = await RailCloudConnection.ConnectAsync(api.Api, $"MONITOR_{i}", RailCloudStack.Password);
                monitor.Received += m => heard.Enqueue((monitorId, m));
                connected.Add((kiosk, monitor));
            }
            // Pairs 0–2 fall silent while both hosts sweep; pairs 3–5 heartbeat through whichever host is up, from
            // moments after they registered.
            for (var i = 0; i < 6; i++)
            {
                var (kiosk, monitor) = connected[i];
                await kiosk.RegisterAsync();
                await monitor.RegisterAsync();
                pairs.Add((kiosk, monitor, (string)(await monitor.StartMonitoringAsync($"KIOSK_{i}"))["sessionId"]!));
            }
            heartbeats = new Heartbeats([.. pairs.Skip(3).SelectMany(p => new[] { p.Kiosk, p.Monitor })]);
            foreach (var (kiosk, monitor, sessionId) in pairs.Take(3))
            {
                await monitor.WaitForAsync(m => (string?)m["event"] == Events.MonitoringEnded && (string?)m["sessionId"] == sessionId, Wait);
                await kiosk.WaitForAsync(m => (string?)m["event"] == Events.MonitoringEnded && (string?)m["sessionId"] == sessionId, Wait);
            }
            await api.KillAsync(0);   // mid-session for pairs 3–5
            await Task.Delay(TimeSpan.FromSeconds(6));   // more than a TTL on host 1 alone
            for (var i = 3; i < 6; i++)
            {
                await pairs[i].Monitor.SendIceCandidateAsync($"KIOSK_{i}", "candidate:1 1 udp 1 127.0.0.1 50001 typ host");
                await pairs[i].Kiosk.WaitForAsync(m => (string?)m["event"] == Events.IceCandidate, Wait);
                await pairs[i].Monitor.StopMonitoringAsync($"KIOSK_{i}");
                await pairs[i].Kiosk.WaitForAsync(m => (string?)m["event"] == Events.MonitoringEnded && (string?)m["reason"] == EndReasons.Stopped, Wait);
            }
            await heartbeats.StopAsync();
            heartbeats = null;
            await Task.Delay(1000);   // anything sent twice would have arrived by now

            var audit = api.Services(1)!.GetRequiredService<AuditStore>();
            for (var i = 0; i < 6; i++)
            {
                var (kiosk, monitor, sessionId) = pairs[i];
                var ended = (await audit.PageAsync($"KIOSK_{i}", 200, null)).Items.Where(e => e.Kind == "session-ended" && e.SessionId == sessionId).ToList();
                Assert.True(ended.Count == 1, $"session {i} was ended {ended.Count} times: {string.Join(", ", ended.Select(e => e.Reason))}");
                Assert.Equal(i < 3 ? EndReasons.Expired : EndReasons.Stopped, ended[0].Reason);
                foreach (var who in new[] { $"KIOSK_{i}", $"MONITOR_{i}" })
                {
                    var told = heard.Count(h => h.Who == who && (string?)h.Message["event"] is Events.MonitoringEnded or Events.MonitoringStopped && (string?)h.Message["sessionId"] == sessionId);
                    Assert.True(told == 1, $"{who} was told {told} times that session {i} ended");
                }
            }
        }
        finally
        {
            if (heartbeats is not null)
            {
                await heartbeats.StopAsync();
            }
            foreach (var (kiosk, monitor) in connected)
            {
                await monitor.DisposeAsync();
                await kiosk.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task WhenDisconnectedNeverArrivesTheHeartbeatTtlTakesTheKioskOfflineAndEndsItsSession()
    {
        // This emulator never sends `disconnected`: the backend hears of a gone kiosk only through its silence.
        await using var stack = await RailCloudStack.StartAsync(Waiting.ShortSessions(), systemEvents: "connect,connected");
        await stack.CreateAccountAsync("KIOSK_01", Roles.Kiosk);
        await stack.CreateAccountAsync("MONITOR_01", Roles.Monitor);
        await using var monitor = await stack.ConnectAsync("MONITOR_01");
        var kiosk = await stack.ConnectAsync("KIOSK_01");
        var sessionId = (string?)(await monitor.StartMonitoringAsync("KIOSK_01"))["sessionId"];
        var heartbeats = new Heartbeats(monitor);

        await kiosk.DisposeAsync();
        var ended = await monitor.WaitForAsync(m => (string?)m["event"] == Events.MonitoringEnded, Wait);
        var offline = await monitor.WaitForAsync(m => (string?)m["event"] == Events.KioskOffline, Wait);
        await heartbeats.StopAsync();

        Assert.Equal((sessionId, EndReasons.Expired), ((string?)ended["sessionId"], (string?)ended["reason"]));
        Assert.Equal(("KIOSK_01", "heartbeat-lost"), ((string?)offline["kioskId"], (string?)offline["reason"]));
        Assert.Null(await stack.Services.GetRequiredService<SessionStore>().GetAsync("KIOSK_01"));
    }

    [Fact]
    public async Task AHostWhoseClockIsTwoMinutesAheadEndsNoLiveSessionEarly()
    {
        // Host 1's machine clock runs two minutes ahead of host 0's; both sweep four times a second.
        var settings = Waiting.ShortSessions();
        settings["Sessions:Ttl"] = "00:00:06";
        await using var api = await ScaledOutApi.StartAsync([null, new SkewedClock(TimeSpan.FromMinutes(2))], settings);
        await api.CreateAccountAsync("KIOSK_01", Roles.Kiosk);
        await api.CreateAccountAsync("MONITOR_01", Roles.Monitor);
        await api.CreateAccountAsync("KIOSK_02", Roles.Kiosk);
        await api.CreateAccountAsync("MONITOR_02", Roles.Monitor);
        await using var kiosk = await Connect(api, "KIOSK_01");
        await using var monitor = await Connect(api, "MONITOR_01");
        await using var silentKiosk = await Connect(api, "KIOSK_02");
        await using var silentMonitor = await Connect(api, "MONITOR_02");
        var live = (string?)(await monitor.StartMonitoringAsync("KIOSK_01"))["sessionId"];
        var heartbeats = new Heartbeats(kiosk, monitor);
        var silent = (string?)(await silentMonitor.StartMonitoringAsync("KIOSK_02"))["sessionId"];

        await Task.Delay(TimeSpan.FromSeconds(2));   // within the 6 s TTL of the silent pair: nobody may have ended it yet
        var silentStillLive = await api.Services(0)!.GetRequiredService<SessionStore>().GetLiveAsync("KIOSK_02", DateTimeOffset.UtcNow);
        var expired = await silentMonitor.WaitForAsync(m => (string?)m["event"] == Events.MonitoringEnded, Wait);   // but it does end, at its TTL
        await Task.Delay(TimeSpan.FromSeconds(6));   // another whole TTL for the heartbeating pair
        await heartbeats.StopAsync();
        var offset = api.Services(1)!.GetRequiredService<StorageClock>().Offset;

        Assert.Equal(silent, silentStillLive?.SessionId);
        Assert.Equal((silent, EndReasons.Expired), ((string?)expired["sessionId"], (string?)expired["reason"]));
        Assert.Equal(live, (await api.Services(0)!.GetRequiredService<SessionStore>().GetLiveAsync("KIOSK_01", DateTimeOffset.UtcNow))?.SessionId);
        Assert.DoesNotContain(Waiting.Drain(monitor).Concat(Waiting.Drain(kiosk)), m => (string?)m["event"] is Events.MonitoringEnded or Events.KioskOffline && (string?)m["kioskId"] == "KIOSK_01");
        Assert.InRange(offset.TotalSeconds, -122, -118);   // host 1 follows storage's clock, not its own
    }

    private static async Task<RailCloudConnection> Connect(ScaledOutApi api, string id)
    {
        var connection = await RailCloudConnection.ConnectAsync(api.Api, id, RailCloudStack.Password);
        await connection.RegisterAsync();
        return connection;
    }

    /// <summary>A machine clock off by a fixed amount.</summary>
    private sealed class SkewedClock(TimeSpan skew) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + skew;
    }

    /// <summary>Connections heartbeat once a second in the background, as the pages do; failures are counted, not thrown.</summary>
    private sealed class Heartbeats
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private int _failed;
        private int _succeededSinceLastFailure;

        public Heartbeats(params RailCloudConnection[] connections)
        {
            _loop = Task.WhenAll(connections.Select(async connection =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    try
                    {
                        await connection.HeartbeatAsync(_stop.Token);
                        Interlocked.Increment(ref _succeededSinceLastFailure);
                    }
                    catch (Exception ex) when (ex is RailCloudException or TimeoutException)
                    {
                        Interlocked.Increment(ref _failed);
                        Interlocked.Exchange(ref _succeededSinceLastFailure, 0);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                    await Task.Delay(1000, _stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }
            }));
        }

        public int Failed => Volatile.Read(ref _failed);

        public int SucceededSinceLastFailure => Volatile.Read(ref _succeededSinceLastFailure);

        public async Task StopAsync()
        {
            await _stop.CancelAsync();
            await _loop.WaitAsync(TimeSpan.FromSeconds(35));
            _stop.Dispose();
        }
    }
}
