using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using RailCloud.Client;
using RailCloud.Protocol;

namespace RailCloud.Cli.Load;

/// <summary>The fleet's kiosks: heartbeats, crews on and off, answers and candidates, restarts.</summary>
public sealed partial class FleetSimulator
{
    // ---- Kiosks ----

    private async Task KioskAsync(int index, SemaphoreSlim signIns, CancellationToken end)
    {
        var id = Settings.KioskId(index);
        var random = new Random(index * 7919 + 1);
        var state = new KioskState();   // the session this kiosk answers for, across its connections
        var first = true;
        while (!end.IsCancellationRequested)
        {
            RailCloudConnection connection;
            try
            {
                connection = await SignInAsync(id, signIns, end);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            var restart = false;
            await using (connection)
            {
                connection.Received += message => OnKioskMessage(connection, id, message, state);
                _ = DrainAsync(connection);   // ends when the connection does
                try
                {
                    var registered = await connection.RegisterAsync(state.Held is { } held ? [held] : null, end);
                    if (registered["ended"] is JsonArray ended && ended.Any(e => (string?)e == state.Held))
                    {
                        state.Held = null;
                    }
                    if (first)
                    {
                        Interlocked.Increment(ref _connected);
                        first = false;
                    }
                    var heartbeat = TimeSpan.FromSeconds((int?)registered["heartbeatSeconds"] ?? 30);
                    var nextHeartbeat = Stopwatch.GetTimestamp() + (long)(heartbeat.TotalSeconds * random.NextDouble() * Stopwatch.Frequency);
                    var nextCrew = Stopwatch.GetTimestamp() + (long)(random.Next(10, 60) * Stopwatch.Frequency);
                    var crewOnDuty = new List<string>();
                    while (!end.IsCancellationRequested && connection.ClosedReason is null)
                    {
                        await Task.Delay(1000, end);
                        if (Stopwatch.GetTimestamp() >= nextHeartbeat)
                        {
                            nextHeartbeat += (long)(heartbeat.TotalSeconds * Stopwatch.Frequency);
                            await TryAsync(() => connection.HeartbeatAsync(end));
                        }
                        if (_ready.Task.IsCompleted && !Stopping && Stopwatch.GetTimestamp() >= nextCrew)
                        {
                            nextCrew = Stopwatch.GetTimestamp() + (long)(random.Next(30, 90) * Stopwatch.Frequency);
                            await CrewAsync(connection, crewOnDuty, random, end);
                        }
                        if (_ready.Task.IsCompleted && !Stopping && random.NextDouble() < settings.DropRate / 60)
                        {
                            _ledger.Dropped();
                            connection.SimulateNetworkDrop();   // recovered by the reliable protocol, same connection
                        }
                        if (_ready.Task.IsCompleted && !Stopping && random.NextDouble() < settings.RestartRate / 60)
                        {
                            // The kiosk box restarts: the process dies mid-session and a new one signs in, knowing nothing.
                            _ledger.Restarted();
                            if (state.Held is { } cut)
                            {
                                _ledger.Cut(cut);
                            }
                            state.Held = null;
                            connection.SimulateNetworkDrop();
                            restart = true;
                            break;
                        }
                    }
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (Exception ex) when (ex is RailCloudException or TimeoutException)
                {
                    Say($"{id}: {ex.Message}; connecting again.");
                }
            }
            if (!restart && connection.ClosedReason is { } reason && !end.IsCancellationRequested)
            {
                Say($"{id}'s connection ended ({reason}); connecting again and resuming.");
            }
        }
    }

    private sealed class KioskState
    {
        public volatile string? Held;
    }

    private void OnKioskMessage(RailCloudConnection connection, string id, JsonObject message, KioskState state)
    {
        switch ((string?)message["event"])
        {
            case Events.MonitoringStarted:
                state.Held = (string?)message["sessionId"];
                break;
            case Events.MonitoringEnded when (string?)message["sessionId"] == state.Held:
                state.Held = null;
                break;
            case Events.Offer:
                {
                    var sessionId = (string)message["sessionId"]!;
                    var monitorId = (string)message["fromId"]!;
                    _ledger.Arrived(MarkerOf((string?)message["offer"]?["sdp"]), id, Stopwatch.GetTimestamp());
                    _ = Task.Run(() => AnswerAndTrickleAsync(connection, sessionId, monitorId));
                    break;
                }
            case Events.IceCandidate:
                _ledger.Arrived(MarkerOf((string?)message["candidate"]?["candidate"]), id, Stopwatch.GetTimestamp());
                break;
        }
    }

    private async Task AnswerAndTrickleAsync(RailCloudConnection kiosk, string sessionId, string monitorId)
    {
        var answer = _ledger.Next();
        if (!await SendAsync(answer, "answer", sessionId, monitorId, () => kiosk.SendAnswerAsync(monitorId, Sdp(answer))))
        {
            return;
        }
        for (var n = 0; n < settings.Trickle; n++)
        {
            await Task.Delay(50);
            var candidate = _ledger.Next();
            if (!await SendAsync(candidate, "candidate", sessionId, monitorId, () => kiosk.SendIceCandidateAsync(monitorId, Candidate(candidate))))
            {
                return;
            }
        }
    }

    /// <summary>Signs a crew member on (or off, when someone is on duty and the coin says so); every monitor should hear it once.</summary>
    private async Task CrewAsync(RailCloudConnection kiosk, List<string> onDuty, Random random, CancellationToken end)
    {
        var marker = _ledger.Next();
        try
        {
            if (onDuty.Count > 0 && random.Next(2) == 0)
            {
                var crewId = onDuty[random.Next(onDuty.Count)];
                await kiosk.CrewSignOffAsync(crewId, end);
                onDuty.Remove(crewId);
            }
            else
            {
                var crewId = $"F{marker}";
                await kiosk.CrewSignOnAsync(crewId, "Fleet crew", end);
                onDuty.Add(crewId);
                _ledger.CrewSent(marker, settings.Monitors, Stopwatch.GetTimestamp());
            }
        }
        catch (RailCloudException ex)
        {
            _ledger.Refused(ex.Code);
        }
    }
}
