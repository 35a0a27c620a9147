using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using RailCloud.Client;
using RailCloud.Protocol;

namespace RailCloud.Cli.Load;

/// <summary>
/// A fleet day, compressed: kiosks that heartbeat, sign crews on and off, answer offers and trickle candidates, and
/// now and then restart; monitors that pick an idle kiosk, watch it for a while, stop, and pick another; sockets
/// that drop at random. Placeholder SDP (no media: hundreds of sessions would not fit two cores with video).
/// Every relayed message and crew broadcast carries a marker, so what was lost or duplicated is counted.
/// </summary>
public sealed partial class FleetSimulator(RailCloudApi api, FleetSimulator.Settings settings)
{
    /// <param name="OnlineTimeout">How long the fleet may go without one more client getting online before the run gives up, saying why.</param>
    public sealed record Settings(int Kiosks, int Monitors, TimeSpan Duration, double DropRate, double RestartRate, int Trickle, string Password, TimeSpan OnlineTimeout)
    {
        private const string KioskPrefix = "FLEET_K_";

        public static string KioskId(int i) => $"{KioskPrefix}{i:D3}";

        /// <summary>One of the fleet's own kiosks: the only ones its monitors watch (another kiosk on the same backend, a
        /// real one or one still listed online in an outage's grace, would answer nothing the ledger can count).</summary>
        public static bool IsFleetKiosk(string? id) => id?.StartsWith(KioskPrefix, StringComparison.Ordinal) == true;

        public static string MonitorId(int i) => $"FLEET_M_{i:D3}";
    }

    private readonly FleetLedger _ledger = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _connected;

    public FleetLedger Ledger => _ledger;

    /// <summary>Runs the fleet for the duration (after every client is online), then lets everything in flight land.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var end = new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(end.Token, cancellationToken);
        var clients = settings.Kiosks + settings.Monitors;
        // Sign-ins are spread over the first seconds, as a fleet coming online (each login checks a password hash).
        using var signIns = new SemaphoreSlim(8);
        var kiosks = Enumerable.Range(0, settings.Kiosks).Select(i => Task.Run(() => KioskAsync(i, signIns, linked.Token), CancellationToken.None)).ToList();
        var monitors = Enumerable.Range(0, settings.Monitors).Select(i => Task.Run(() => MonitorAsync(i, signIns, linked.Token), CancellationToken.None)).ToList();
        var online = Stopwatch.StartNew();
        var (seen, progressAt) = (0, TimeSpan.Zero);
        while (Volatile.Read(ref _connected) < clients && !cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(200, CancellationToken.None);
            if (Volatile.Read(ref _connected) > seen)
            {
                (seen, progressAt) = (Volatile.Read(ref _connected), online.Elapsed);
            }
            // Give up, saying why, when nobody new got online for a minute (or the whole fleet took five).
            if (online.Elapsed - progressAt > settings.OnlineTimeout || online.Elapsed > TimeSpan.FromMinutes(5))
            {
                await end.CancelAsync();
                await Task.WhenAll(kiosks.Concat(monitors)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                throw NotOnline(Volatile.Read(ref _connected), clients, online.Elapsed);
            }
        }
        Say($"{clients} clients online in {online.Elapsed.TotalSeconds:F1} s; running for {settings.Duration}.");
        Watch = Stopwatch.StartNew();
        _ready.TrySetResult();
        await Task.Delay(settings.Duration, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        Watch.Stop();
        Say("Time is up: monitors stop their sessions, then everything in flight lands.");
        Stopping = true;
        await Task.WhenAll(monitors);
        await Task.Delay(TimeSpan.FromSeconds(3), CancellationToken.None);   // the last broadcasts and relays
        await end.CancelAsync();
        await Task.WhenAll(kiosks);
    }

    /// <summary>Why sign-ins failed while the fleet came online: a refusal's code, or "unreachable", with how often.</summary>
    private readonly ConcurrentDictionary<string, int> _signInFailures = new();

    private CliFailure NotOnline(int connected, int clients, TimeSpan elapsed)
    {
        var failures = _signInFailures.OrderByDescending(f => f.Value).ToList();
        var summary = failures.Count == 0 ? "no sign-in failed; see the API's log"
            : "sign-ins failed " + string.Join(", ", failures.Select(f => $"{f.Value:N0} times {f.Key}"));
        var head = $"only {connected} of {clients} clients got online in {elapsed.TotalSeconds:0} s ({summary})";
        if (failures.Count > 0 && failures[0].Key == ErrorCodes.RateLimited)
        {
            return new CliFailure(ExitCodes.Refused, head + ". The API allows a number of password sign-ins a minute from one address "
                + "(Auth:LoginsPerMinutePerAddress: 30 in production; run.sh sets 1000): for a load test from one machine, raise it on the API, or run fewer clients.");
        }
        return new CliFailure(ExitCodes.Unreachable, head + ". Is the API healthy? (./run.sh, --api)");
    }

    /// <summary>How long the fleet ran once online.</summary>
    public Stopwatch Watch { get; private set; } = new();

    private volatile bool Stopping;

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

    // ---- Plumbing ----

    /// <summary>Logs in and connects, a few clients at a time (each login checks a password hash).</summary>
    /// <summary>
    /// Signs in and connects, trying again until it works or the run ends: after a refusal as long as the server asks
    /// (Retry-After), else a second; with jitter, so refused clients do not come back in lockstep. Each failure is
    /// counted by its reason, for the verdict when the fleet does not get online.
    /// </summary>
    private async Task<RailCloudConnection> SignInAsync(string id, SemaphoreSlim signIns, CancellationToken end)
    {
        while (true)
        {
            TimeSpan wait;
            await signIns.WaitAsync(end);
            try
            {
                return await RailCloudConnection.ConnectAsync(api, id, settings.Password, end);
            }
            catch (RailCloudException ex)
            {
                _signInFailures.AddOrUpdate(ex.Code, 1, (_, n) => n + 1);
                wait = ex.RetryAfter ?? TimeSpan.FromSeconds(1);
            }
            catch (Exception ex) when (CliFailure.IsNetwork(ex))
            {
                _signInFailures.AddOrUpdate("unreachable", 1, (_, n) => n + 1);
                wait = TimeSpan.FromSeconds(1);
            }
            finally
            {
                signIns.Release();
            }
            await Task.Delay(wait * (1 + Random.Shared.NextDouble() / 2), end);
        }
    }

    /// <summary>Nobody reads the connection's message channel here (the ledger hears everything through Received): empty it as it fills.</summary>
    private static Task DrainAsync(RailCloudConnection connection) => Task.Run(async () =>
    {
        await foreach (var _ in connection.Messages.ReadAllAsync())
        {
        }
    });

    /// <summary>Sends one marked message; false (and counted) when it is refused or not acknowledged.</summary>
    private async Task<bool> SendAsync(long marker, string kind, string sessionId, string to, Func<Task> send)
    {
        _ledger.Sending(marker, kind, sessionId, to);
        try
        {
            await send();
            _ledger.Accepted(marker);
            return true;
        }
        catch (RailCloudException ex)
        {
            _ledger.Refused(ex.Code);
            return false;
        }
        catch (TimeoutException)
        {
            _ledger.Refused("timeout");
            return false;
        }
    }

    private async Task TryAsync(Func<Task> work)
    {
        try
        {
            await work();
        }
        catch (RailCloudException ex)
        {
            _ledger.Refused(ex.Code);
        }
        catch (TimeoutException)
        {
            _ledger.Refused("timeout");
        }
        catch (OperationCanceledException)
        {
            // The run is over; the caller's loop sees it.
        }
    }

    private static string Sdp(long marker) =>
        $"v=0\r\no=- {marker} 2 IN IP4 127.0.0.1\r\ns=fleet-{marker}\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n";

    private static string Candidate(long marker) => $"candidate:{marker} 1 udp 2122260223 127.0.0.1 9 typ host";

    private static long MarkerOf(string? text) =>
        text is not null && MarkerPattern().Match(text) is { Success: true } match ? long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;

    [GeneratedRegex(@"(?:s=fleet-|^candidate:)(\d+)")]
    private static partial Regex MarkerPattern();

    private static void Say(string text) => Console.WriteLine($"{DateTime.Now:HH:mm:ss} {text}");
}
