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
