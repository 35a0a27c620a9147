using System.Text.Json.Nodes;
using RailCloud.Client;
using RailCloud.Protocol;

namespace RailCloud.Cli;

/// <summary>
/// <c>railcloud kiosk</c> and <c>railcloud monitor</c>: protocol-true simulators for demos and checks. They speak the
/// whole signaling flow with placeholder SDP and candidates (no media), and print what happens.
/// </summary>
public static partial class Simulators
{
    /// <summary>The API's base URL: --api, else RAILCLOUD_API, else the local host run.sh starts.</summary>
    public static string ApiUrl(Args args) => (args.Get("api", "RAILCLOUD_API") ?? "http://127.0.0.1:7071").TrimEnd('/') + "/";

    /// <summary>A client of the API. A request that gets no answer for 30 s fails (HttpClient's own default is 100 s).</summary>
    public static RailCloudApi Api(Args args) =>
        new(new HttpClient { BaseAddress = new Uri(ApiUrl(args)), Timeout = TimeSpan.FromSeconds(30) });

    /// <summary>
    /// Fails fast, with the way out, when the API is not there or not healthy: the commands that would otherwise retry
    /// (the fleet's clients) or wait (sign-ins) call this first.
    /// </summary>
    public static async Task EnsureApiAsync(RailCloudApi api, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        HttpResponseMessage response;
        try
        {
            response = await api.Http.GetAsync("api/health", timeout.Token);
        }
        catch (Exception ex) when (CliFailure.IsNetwork(ex) || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw CliFailure.Unreachable($"the API at {api.Http.BaseAddress}", ex is OperationCanceledException ? new TimeoutException("no answer within 10 s") : ex,
                "is ./run.sh running? (--api, or RAILCLOUD_API)");
        }
        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                throw new CliFailure(ExitCodes.Unreachable, $"the API at {api.Http.BaseAddress} answers but is not healthy ({(int)response.StatusCode}: {(body.Length > 200 ? body[..200] : body)}); its storage or Web PubSub is out of reach: see its log");
            }
        }
    }

    public static string FakeSdp(string id) =>
        $"v=0\r\no=- {Random.Shared.NextInt64(1, long.MaxValue)} 2 IN IP4 127.0.0.1\r\ns=railcloud-simulator-{id}\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\n";

    /// <summary>Two placeholder host candidates, as a browser would trickle them after the offer/answer.</summary>
    private static async Task TrickleAsync(RailCloudConnection from, string targetId, int basePort, CancellationToken cancellationToken)
    {
        for (var i = 1; i <= 2; i++)
        {
            await from.SendIceCandidateAsync(targetId, FakeCandidate(i, basePort + i), cancellationToken: cancellationToken);
        }
    }

    public static string FakeCandidate(int n, int port) => $"candidate:{n} 1 udp {2122260223 - n} 127.0.0.1 {port} typ host";

    private static IReadOnlyList<string?> Ended(JsonObject registered) =>
        registered["ended"] is JsonArray ended ? [.. ended.Select(e => (string?)e)] : [];

    /// <summary>
    /// Signs in, connects and registers, then heartbeats, reads typed commands and handles messages until the
    /// connection is over; then does it all again with backoff, resuming the sessions it holds, until Ctrl+C. A
    /// refused sign-in (wrong password, revoked device) ends it with exit code 1: trying again would not help.
    /// </summary>
    private static async Task<int> StayConnectedAsync(
        string role, Func<CancellationToken, Task<LoginResponse>> signIn, RailCloudApi api, Func<IReadOnlyCollection<string>> held,
        Action<RailCloudConnection, JsonObject> onRegistered, Func<RailCloudConnection, string[], Task> onCommand,
        Func<RailCloudConnection, JsonObject, Task> onMessage, CancellationToken cancellationToken)
    {
        RailCloudConnection? current = null;
        var input = ReadCommandsAsync(async words =>
        {
            if (current is { ClosedReason: null } connection)
            {
                await onCommand(connection, words);
            }
            else
            {
                Say("Not connected right now; try again once reconnected.");
            }
        }, cancellationToken);
        var wait = TimeSpan.FromSeconds(1);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    var login = await signIn(cancellationToken);
                    await using var connection = await RailCloudConnection.ConnectAsync(api, login, cancellationToken);
                    var resume = held();
                    var registered = await connection.RegisterAsync(resume.Count > 0 ? resume : null, cancellationToken);
                    foreach (var sessionId in registered["resumed"]?.AsArray().Select(r => (string?)r) ?? [])
                    {
                        Say($"Resumed session {sessionId} on the new connection.");
                    }
                    foreach (var sessionId in Ended(registered))
                    {
                        Say($"Session {sessionId} ended while disconnected.");
                    }
                    onRegistered(connection, registered);
                    current = connection;
                    wait = TimeSpan.FromSeconds(1);
                    await RunAsync(connection, TimeSpan.FromSeconds((int?)registered["heartbeatSeconds"] ?? 30), m => onMessage(connection, m), cancellationToken);
                    if (cancellationToken.IsCancellationRequested)
                    {
                        break;
                    }
                    Say($"Connection lost ({connection.ClosedReason}); reconnecting as a new connection.");
                }
                catch (RailCloudException ex) when (ex.HttpStatus is 400 or 401 or 403 or 404)
                {
                    Say($"Sign-in refused: {ex.Code} — {ex.ServerMessage}");
                    return 1;
                }
                catch (Exception ex) when (ex is HttpRequestException or RailCloudException or System.Net.WebSockets.WebSocketException or TimeoutException or System.Text.Json.JsonException)
                {
                    // As the server asks when it throttles; otherwise backoff. Either way with jitter, so a depot's kiosks that
                    // lost power together do not retry in lockstep.
                    var delay = (ex is RailCloudException { RetryAfter: { } asked } && asked > wait ? asked : wait) * (1 + Random.Shared.NextDouble() / 2);
                    Say($"Cannot reach RailCloud as a {role} ({ex.Message}); trying again in {delay.TotalSeconds:0} s.");
                    await Task.Delay(delay, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, TimeSpan.FromSeconds(15).Ticks));
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C.
        }
        // The command reader may sit in a blocking read of the console; it ends with the process.
        await input.WaitAsync(TimeSpan.FromMilliseconds(100)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return 0;
    }

    /// <summary>Heartbeats and incoming messages until the connection is over or Ctrl+C.</summary>
    private static async Task RunAsync(RailCloudConnection connection, TimeSpan heartbeatEvery, Func<JsonObject, Task> onMessage, CancellationToken cancellationToken)
    {
        using var background = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var heartbeats = Loop(heartbeatEvery, async () => await connection.HeartbeatAsync(cancellationToken), background.Token);
        try
        {
            await foreach (var message in connection.Messages.ReadAllAsync(cancellationToken))
            {
                try
                {
                    await onMessage(message);
                }
                catch (RailCloudException ex)
                {
                    Say($"{ex.RequestEvent ?? "request"} refused or not delivered: {ex.Code} — {ex.ServerMessage}");
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C.
        }
        await background.CancelAsync();
        await heartbeats;
    }

    private static async Task Loop(TimeSpan every, Func<Task> work, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(every);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                try
                {
                    await work();
                }
                catch (Exception ex) when (ex is RailCloudException or TimeoutException)
                {
                    // Not delivered (RailCloud unreachable) or refused: say so, and try again sooner than the interval.
                    Say($"Heartbeat not acknowledged ({(ex as RailCloudException)?.Code ?? "timeout"}); trying again in 2 s.");
                    await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
                    try
                    {
                        await work();
                    }
                    catch (Exception again) when (again is RailCloudException or TimeoutException)
                    {
                        // The next tick tries again.
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>Reads commands on a thread of its own: Console.In blocks even in its async methods.</summary>
    private static Task ReadCommandsAsync(Func<string[], Task> handle, CancellationToken cancellationToken) =>
        Task.Run(() => ReadCommandsCoreAsync(handle, cancellationToken), CancellationToken.None);

    private static async Task ReadCommandsCoreAsync(Func<string[], Task> handle, CancellationToken cancellationToken)
    {
        try
        {
            while (await Console.In.ReadLineAsync(cancellationToken) is { } line)
            {
                var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                if (words.Length > 0)
                {
                    await handle(words);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private static void Say(string text) => Console.WriteLine($"{DateTime.Now:HH:mm:ss} {text}");
}
