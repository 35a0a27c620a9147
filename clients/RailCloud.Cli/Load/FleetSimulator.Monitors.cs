using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using RailCloud.Client;
using RailCloud.Protocol;

namespace RailCloud.Cli.Load;

/// <summary>The fleet's monitors: pick an idle kiosk, watch it for a while (offer, answer, candidates), stop, pick another.</summary>
public sealed partial class FleetSimulator
{
    // ---- Monitors ----

    private async Task MonitorAsync(int index, SemaphoreSlim signIns, CancellationToken end)
    {
        var id = Settings.MonitorId(index);
        var random = new Random(index * 104729 + 3);
        var online = new ConcurrentDictionary<string, byte>();
        var fromKiosk = new ConcurrentDictionary<string, int>();          // session → candidates that arrived from its kiosk
        var endedSessions = new ConcurrentDictionary<string, byte>();
        var busyUntil = new Dictionary<string, long>();                   // kiosks found watched by someone else, and until when to leave them be
        RailCloudConnection connection;
        try
        {
            connection = await SignInAsync(id, signIns, end);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        await using var owned = connection;
        _ = DrainAsync(connection);   // ends when the connection does
        connection.Received += message =>
        {
            switch ((string?)message["event"])
            {
                case Events.KioskOnline when Settings.IsFleetKiosk((string?)message["kioskId"]):
                    online[(string)message["kioskId"]!] = 0;
                    break;
                case Events.KioskOffline:
                    online.TryRemove((string)message["kioskId"]!, out byte _);
                    break;
                case Events.Answer:
                    _ledger.Arrived(MarkerOf((string?)message["answer"]?["sdp"]), id, Stopwatch.GetTimestamp());
                    break;
                case Events.IceCandidate:
                    _ledger.Arrived(MarkerOf((string?)message["candidate"]?["candidate"]), id, Stopwatch.GetTimestamp());
                    fromKiosk.AddOrUpdate((string)message["sessionId"]!, 1, (_, n) => n + 1);
                    break;
                case Events.CrewSignOn when ((string?)message["crewId"])?.StartsWith('F') == true:
                    _ledger.CrewArrived(long.Parse(((string)message["crewId"]!)[1..], CultureInfo.InvariantCulture), index);
                    break;
                case Events.MonitoringEnded:
                    endedSessions[(string)message["sessionId"]!] = 0;
                    break;
            }
        };
        var registered = await connection.RegisterAsync(cancellationToken: end);
        foreach (var kiosk in registered["kiosks"]?.AsArray() ?? [])
        {
            if ((bool?)kiosk?["online"] == true && Settings.IsFleetKiosk((string?)kiosk["kioskId"]))
            {
                online[(string)kiosk!["kioskId"]!] = 0;
            }
        }
        Interlocked.Increment(ref _connected);
        var heartbeat = TimeSpan.FromSeconds((int?)registered["heartbeatSeconds"] ?? 30);
        using var background = CancellationTokenSource.CreateLinkedTokenSource(end);
        var chores = Task.Run(async () =>
        {
            var nextHeartbeat = Stopwatch.GetTimestamp() + (long)(heartbeat.TotalSeconds * random.NextDouble() * Stopwatch.Frequency);
            while (!background.IsCancellationRequested)
            {
                await Task.Delay(1000, background.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                if (Stopwatch.GetTimestamp() >= nextHeartbeat)
                {
                    nextHeartbeat += (long)(heartbeat.TotalSeconds * Stopwatch.Frequency);
                    await TryAsync(() => connection.HeartbeatAsync(background.Token));
                }
                if (_ready.Task.IsCompleted && !Stopping && Random.Shared.NextDouble() < settings.DropRate / 60)
                {
                    _ledger.Dropped();
                    connection.SimulateNetworkDrop();
                }
            }
        }, CancellationToken.None);

        try
        {
            await _ready.Task.WaitAsync(end);
            while (!Stopping && !end.IsCancellationRequested)
            {
                var candidates = online.Keys.Where(k => busyUntil.GetValueOrDefault(k) < Stopwatch.GetTimestamp()).ToList();
                if (candidates.Count == 0)
                {
                    await Task.Delay(500, end);
                    continue;
                }
                var kioskId = candidates[random.Next(candidates.Count)];
                var started = Stopwatch.GetTimestamp();
                _ledger.StartAttempted();
                string sessionId;
                try
                {
                    sessionId = (string)(await connection.StartMonitoringAsync(kioskId, end))["sessionId"]!;
                }
                catch (RailCloudException ex)
                {
                    _ledger.Refused(ex.Code);   // kiosk-busy most of all: another monitor got there first
                    if (ex.Code == ErrorCodes.KioskBusy)
                    {
                        busyUntil[kioskId] = Stopwatch.GetTimestamp() + 20 * Stopwatch.Frequency;   // as a dashboard shows "Watched by …" instead of Start
                    }
                    await Task.Delay(random.Next(200, 800), end);
                    continue;
                }
                _ledger.Started(Stopwatch.GetElapsedTime(started));
                _ledger.Hold(kioskId, sessionId, id);
                try
                {
                    await WatchAsync(connection, id, kioskId, sessionId, fromKiosk, endedSessions, random, end);
                }
                finally
                {
                    _ledger.Release(kioskId, sessionId);
                }
                await Task.Delay(random.Next(1000, 5000), end);
            }
        }
        catch (OperationCanceledException)
        {
            // The run is over.
        }
        await background.CancelAsync();
        await chores;
    }

    /// <summary>One session: offer, answer, candidates both ways, a while of watching, stop.</summary>
    private async Task WatchAsync(RailCloudConnection monitor, string id, string kioskId, string sessionId, ConcurrentDictionary<string, int> fromKiosk,
        ConcurrentDictionary<string, byte> endedSessions, Random random, CancellationToken end)
    {
        bool Ended() => endedSessions.ContainsKey(sessionId);
        var offer = _ledger.Next();
        var answered = monitor.WaitForAsync(m => (string?)m["event"] == Events.Answer && (string?)m["sessionId"] == sessionId, TimeSpan.FromSeconds(60), end);
        if (!await SendAsync(offer, "offer", sessionId, kioskId, () => monitor.SendOfferAsync(kioskId, Sdp(offer))))
        {
            return;
        }
        try
        {
            await answered;
        }
        catch (TimeoutException)
        {
            if (!Ended())
            {
                Say($"{id}: no answer from {kioskId} in session {sessionId[..8]} within 60 s.");
            }
            return;
        }
        for (var n = 0; n < settings.Trickle && !Ended(); n++)
        {
            await Task.Delay(50, end);
            var candidate = _ledger.Next();
            if (!await SendAsync(candidate, "candidate", sessionId, kioskId, () => monitor.SendIceCandidateAsync(kioskId, Candidate(candidate))))
            {
                return;
            }
        }
        // Everything the kiosk trickles lands before the monitor leaves, so nothing is in flight at the stop.
        var waitUntil = Stopwatch.GetTimestamp() + 60 * Stopwatch.Frequency;
        while (fromKiosk.GetValueOrDefault(sessionId) < settings.Trickle && !Ended() && Stopwatch.GetTimestamp() < waitUntil)
        {
            await Task.Delay(50, end);
        }
        var hold = Stopwatch.GetTimestamp() + random.Next(10, 40) * Stopwatch.Frequency;
        while (!Ended() && !Stopping && Stopwatch.GetTimestamp() < hold)
        {
            await Task.Delay(250, end);
        }
        if (!Ended())
        {
            try
            {
                await monitor.StopMonitoringAsync(kioskId, end);
            }
            catch (RailCloudException ex) when (ex.Code is ErrorCodes.NoSession)
            {
                // It ended on its own meanwhile (the kiosk restarted); the notice is on its way.
            }
        }
    }
}
