using System.Text.Json.Nodes;
using RailCloud.Client;
using RailCloud.Protocol;

namespace RailCloud.Cli;

/// <summary>
/// <c>railcloud kiosk</c> and <c>railcloud monitor</c>: protocol-true simulators for demos and checks. They speak the
/// whole signaling flow with placeholder SDP and candidates (no media), and print what happens.
/// </summary>
public static class Simulators
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

    /// <summary>
    /// Signs the kiosk in: with <c>--enrol CODE</c> it enrols as a device first and keeps the key in its device file;
    /// with a device file for <c>--id</c> (and no password) it signs in with that key; else with the password.
    /// </summary>
    private static async Task<LoginResponse> KioskSignInAsync(RailCloudApi api, Args args, CancellationToken cancellationToken)
    {
        if (args.Get("enrol") is { } code)
        {
            using var key = DeviceKey.Create();
            var device = await api.RegisterDeviceAsync(code, key.PublicJwk, args.Get("name") ?? Environment.MachineName, cancellationToken);
            var path = DevicesCommand.DeviceFile.PathFor(args, device.KioskId);
            new DevicesCommand.DeviceFile(device.DeviceId, device.KioskId, key.ExportPrivateKeyPem()).Save(path);
            Say($"Enrolled as device {device.DeviceId} of {device.KioskId}; key kept in {path} (readable by you only).");
            return await api.SignInDeviceAsync(key, device.DeviceId, cancellationToken);
        }
        var id = args.Require("id");
        if (args.Get("password", "RAILCLOUD_PASSWORD") is null && DevicesCommand.DeviceFile.Load(DevicesCommand.DeviceFile.PathFor(args, id)) is { } file)
        {
            using var key = DeviceKey.FromPem(file.PrivateKey);
            Say($"Signing in as device {file.DeviceId} of {file.KioskId} with its key.");
            return await api.SignInDeviceAsync(key, file.DeviceId, cancellationToken);
        }
        return await api.LoginAsync(id, args.Require("password", "RAILCLOUD_PASSWORD"), cancellationToken);
    }

    /// <summary>
    /// <c>railcloud kiosk</c>: the kiosk agent. It streams real video (a camera, or the test pattern) with GStreamer,
    /// unless <c>--placeholder</c> makes it the signaling-only simulator with placeholder SDP.
    /// </summary>
    public static async Task<int> KioskAsync(Args args, CancellationToken cancellationToken)
    {
        var api = Api(args);
        string? held = null;   // the session this kiosk answers for: kept across connections, resumed on the next one
        RailCloudConnection? current = null;
        using var media = args.Get("placeholder") is null ? StartMedia(args) : null;
        if (args.Get("placeholder") is null && media is null)
        {
            return 1;
        }
        return await StayConnectedAsync(
            "kiosk",
            ct => KioskSignInAsync(api, args, ct),
            api,
            () => held is null ? [] : [held],
            (kiosk, registered) =>
            {
                current = kiosk;
                var every = (int?)registered["heartbeatSeconds"] ?? 30;
                Say($"{kiosk.Id} is online (connection {kiosk.ConnectionId}); heartbeat every {every} s. Type \"on <crewId> [name]\" or \"off <crewId>\".");
                if (Ended(registered).Contains(held))
                {
                    media?.Ended(held);
                    held = null;
                }
            },
            async (kiosk, words) =>
            {
                switch (words)
                {
                    case ["on", var crew, .. var name]:
                        await kiosk.CrewSignOnAsync(crew, name.Length > 0 ? string.Join(' ', name) : null, cancellationToken);
                        Say($"Crew {crew} signed on.");
                        break;
                    case ["off", var crew]:
                        await kiosk.CrewSignOffAsync(crew, cancellationToken);
                        Say($"Crew {crew} signed off.");
                        break;
                    default:
                        Say("Commands: on <crewId> [name] | off <crewId>");
                        break;
                }
            },
            async (kiosk, message) =>
            {
                switch ((string?)message["event"])
                {
                    case Events.MonitoringStarted:
                        held = (string?)message["sessionId"];
                        media?.Started(message);
                        Say($"Being viewed by {message["monitorId"]} (session {message["sessionId"]}).");
                        break;
                    case Events.Offer when media is not null:
                        held = (string?)message["sessionId"];
                        Say($"Offer from {message["fromId"]}; answering with video.");
                        await media.OfferAsync(() => current, message, cancellationToken);
                        break;
                    case Events.Offer:
                        var monitorId = (string)message["fromId"]!;
                        held = (string?)message["sessionId"];
                        Say($"Offer from {monitorId}; answering.");
                        await kiosk.SendAnswerAsync(monitorId, FakeSdp(kiosk.Id), cancellationToken);
                        await TrickleAsync(kiosk, monitorId, 50000, cancellationToken);
                        break;
                    case Events.IceCandidate when media is not null:
                        media.Candidate(message);
                        break;
                    case Events.IceCandidate:
                        Say($"ICE candidate from {message["fromId"]}: {message["candidate"]?["candidate"]}");
                        break;
                    case Events.MonitoringEnded:
                        media?.Ended((string?)message["sessionId"]);
                        if ((string?)message["sessionId"] == held)
                        {
                            held = null;
                        }
                        Say($"No longer viewed: {message["reason"]}.");
                        break;
                    default:
                        Say(message.ToJsonString());
                        break;
                }
            },
            cancellationToken);
    }

    /// <summary>The agent's video, or null (said why) when GStreamer cannot give it.</summary>
    private static Media.KioskMedia? StartMedia(Args args)
    {
        try
        {
            var source = Media.KioskMedia.SourceFrom(args);
            RailCloud.Media.GStreamer.EnsureAvailable();
            // The agent serves session after session for weeks: few malloc arenas, trimmed after each session.
            RailCloud.Media.NativeHeap.LimitArenas(2);
            Say($"Video: {Media.KioskMedia.Describe(source)} (GStreamer {RailCloud.Media.GStreamer.Version}).");
            // The first session's slow first-time work (plugins, the DTLS key) is done now, while the agent signs in.
            _ = RailCloud.Media.GStreamer.WarmUpAsync().ContinueWith(
                t => Say(t.IsCompletedSuccessfully
                    ? $"Video ready in {t.Result.Took.TotalMilliseconds:F0} ms (plugins loaded, DTLS certificate made)."
                    : $"Video warm-up failed: {t.Exception?.InnerException?.Message}"),
                TaskScheduler.Default);
            return new Media.KioskMedia(source, Media.KioskMedia.LocalAddressesFrom(args), Say);
        }
        catch (RailCloud.Media.MediaException ex)
        {
            Console.Error.WriteLine($"railcloud: {ex.Message} (or run the signaling-only simulator with --placeholder)");
            return null;
        }
    }

    public static async Task<int> MonitorAsync(Args args, CancellationToken cancellationToken)
    {
        var api = Api(args);
        var id = args.Require("id");
        var password = args.Require("password", "RAILCLOUD_PASSWORD");
        var watching = new Dictionary<string, string>();   // kiosk id → session id, kept across connections
        var first = args.Get("watch");

        async Task WatchAsync(RailCloudConnection monitor, string kioskId)
        {
            try
            {
                var started = await monitor.StartMonitoringAsync(kioskId, cancellationToken);
                watching[kioskId] = (string)started["sessionId"]!;
                Say($"Watching {kioskId} (session {started["sessionId"]}); sending the offer.");
                await monitor.SendOfferAsync(kioskId, FakeSdp(id), cancellationToken);
            }
            catch (RailCloudException ex)
            {
                Say($"Cannot watch {kioskId}: {ex.Code} — {ex.ServerMessage}");
            }
        }

        return await StayConnectedAsync(
            "monitor",
            ct => api.LoginAsync(id, password, ct),
            api,
            () => [.. watching.Values],
            (monitor, registered) =>
            {
                Say($"{id} is connected as {registered["role"]}. Type \"watch <kioskId>\", \"stop <kioskId>\" or \"list\".");
                PrintKiosks(registered["kiosks"]!.AsArray());
                var ended = Ended(registered);
                foreach (var (kioskId, _) in watching.Where(w => ended.Contains(w.Value)).ToList())
                {
                    watching.Remove(kioskId);
                }
                if (first is { } kiosk)
                {
                    first = null;
                    _ = WatchAsync(monitor, kiosk);
                }
            },
            async (monitor, words) =>
            {
                switch (words)
                {
                    case ["watch", var kioskId]:
                        await WatchAsync(monitor, kioskId);
                        break;
                    case ["stop", var kioskId]:
                        try
                        {
                            await monitor.StopMonitoringAsync(kioskId, cancellationToken);
                            watching.Remove(kioskId);
                            Say($"Stopped watching {kioskId}.");
                        }
                        catch (RailCloudException ex)
                        {
                            Say($"Cannot stop: {ex.Code} — {ex.ServerMessage}");
                        }
                        break;
                    case ["list"]:
                        PrintKiosks(JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(await api.ListKiosksAsync(monitor.AccessToken, cancellationToken), ProtocolJson.Options))!.AsArray());
                        break;
                    default:
                        Say("Commands: watch <kioskId> | stop <kioskId> | list");
                        break;
                }
            },
            async (monitor, message) =>
            {
                switch ((string?)message["event"])
                {
                    case Events.Answer:
                        var kioskId = (string)message["fromId"]!;
                        Say($"Answer from {kioskId}; trickling candidates.");
                        await TrickleAsync(monitor, kioskId, 40000, cancellationToken);
                        break;
                    case Events.IceCandidate:
                        Say($"ICE candidate from {message["fromId"]}: {message["candidate"]?["candidate"]}");
                        break;
                    case Events.KioskOnline:
                        Say($"{message["kioskId"]} came online.");
                        break;
                    case Events.KioskOffline:
                        Say($"{message["kioskId"]} went offline ({message["reason"]}).");
                        break;
                    case Events.CrewSignOn or Events.CrewSignOff:
                        Say($"{message["kioskId"]}: crew {message["crewId"]} {(message["event"]!.ToString() == Events.CrewSignOn ? "signed on" : "signed off")}{(message["name"] is { } n ? $" ({n})" : "")}.");
                        break;
                    case Events.MonitoringEnded:
                        watching.Remove((string)message["kioskId"]!);
                        Say($"Session with {message["kioskId"]} ended: {message["reason"]}.");
                        break;
                    default:
                        Say(message.ToJsonString());
                        break;
                }
            },
            cancellationToken);
    }

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

    private static void PrintKiosks(JsonArray kiosks)
    {
        Say($"{"KIOSK",-14} {"STATE",-8} {"WATCHED BY",-16} CREW");
        foreach (var k in kiosks)
        {
            var crew = string.Join(", ", k!["crew"]!.AsArray().Select(c => (string?)c!["crewId"]));
            Say($"{(string?)k["kioskId"],-14} {((bool)k["online"]! ? "online" : "offline"),-8} {(string?)k["monitoredBy"] ?? "-",-16} {crew}");
        }
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
