using System.Diagnostics;
using HdrHistogram;
using RailCloud.Client;
using RailCloud.Protocol;

namespace RailCloud.Cli;

/// <summary>
/// <c>railcloud load</c>: the fleet simulator (kiosks, monitors, a duration, socket drops, kiosk restarts; every
/// message counted), then the baselines beside RailCloud's own path. <c>--pairs N</c> instead runs the older quick
/// relay test: N pairs set up a session at once and relay candidates both ways. Placeholder SDP throughout: this is
/// signaling load, and media for hundreds of sessions would not fit two cores. Traffic goes only to --api
/// (loopback locally) and, for the baselines, to --webpubsub.
/// </summary>
public static class LoadCommand
{
    private const string Password = "load-test-password";

    public static async Task<int> RunAsync(Args args, CancellationToken cancellationToken) =>
        args.Get("pairs") is not null ? await PairsAsync(args, cancellationToken) : await FleetAsync(args, cancellationToken);

    private static async Task<int> FleetAsync(Args args, CancellationToken cancellationToken)
    {
        var settings = new Load.FleetSimulator.Settings(
            Kiosks: args.Int("kiosks", 20),
            Monitors: args.Int("monitors", 20),
            Duration: args.Duration("duration", TimeSpan.FromMinutes(1)),
            DropRate: args.Double("drop-rate", 0),
            RestartRate: args.Double("restart-rate", 0.01),
            Trickle: args.Int("trickle", 5),
            Password: Password,
            OnlineTimeout: args.Duration("online-timeout", TimeSpan.FromMinutes(1)));
        var api = Simulators.Api(args);
        Console.WriteLine($"Fleet against {api.Http.BaseAddress}: {settings.Kiosks} kiosks, {settings.Monitors} monitors for {settings.Duration}; each client's socket drops with probability {settings.DropRate} a minute, each kiosk restarts with probability {settings.RestartRate} a minute.");
        await Simulators.EnsureApiAsync(api, cancellationToken);
        var accounts = await AccountsCommand.OpenAsync(args, cancellationToken);
        var created = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, Math.Max(settings.Kiosks, settings.Monitors)), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            // An error just means the account exists already (from an earlier run).
            if (i < settings.Kiosks) await accounts.CreateAsync(Load.FleetSimulator.Settings.KioskId(i), Roles.Kiosk, Password, ct);
            if (i < settings.Monitors) await accounts.CreateAsync(Load.FleetSimulator.Settings.MonitorId(i), Roles.Monitor, Password, ct);
        });
        Console.WriteLine($"Accounts ready in {created.Elapsed.TotalSeconds:F1} s.");

        var before = await Load.BackendProbe.CountersAsync(api.Http, cancellationToken);
        var fleet = new Load.FleetSimulator(api, settings);
        await fleet.RunAsync(cancellationToken);
        var after = await Load.BackendProbe.CountersAsync(api.Http, cancellationToken);
        Load.FleetReport.Print(settings, fleet.Ledger, fleet.Watch.Elapsed, before, after, Load.BackendProbe.Memory());

        var (relayed, broadcasts) = (fleet.Ledger.Relayed(), fleet.Ledger.Broadcasts());
        var failed = relayed.Lost + relayed.Duplicated + broadcasts.Lost + broadcasts.Duplicated + fleet.Ledger.DoubleSessions > 0;
        if (args.Get("baselines") != "false")
        {
            var pairs = Math.Min(args.Int("baseline-pairs", 10), Math.Max(1, Math.Min(settings.Kiosks, settings.Monitors)));
            var rate = args.Int("rate", 15);
            var phase = args.Duration("baseline-duration", TimeSpan.FromSeconds(20));
            await Parallel.ForEachAsync(Enumerable.Range(0, pairs), cancellationToken, async (i, ct) =>
            {
                await accounts.CreateAsync(KioskId(i), Roles.Kiosk, Password, ct);
                await accounts.CreateAsync(MonitorId(i), Roles.Monitor, Password, ct);
            });
            var webPubSub = args.Get("webpubsub", "RAILCLOUD_WEBPUBSUB") ?? LocalEmulator;
            Console.WriteLine($"Baselines: {pairs} pairs, {rate} messages a second each way, {phase.TotalSeconds:0} s per path.");
            try
            {
                Load.FleetReport.PrintBaselines(await Load.Baselines.RunAsync(api, webPubSub, pairs, rate, phase, Password, cancellationToken), pairs, rate, phase);
            }
            catch (Exception ex) when (CliFailure.IsNetwork(ex))
            {
                // The fleet's own verdict above stands; the baselines just could not be measured.
                var failure = CliFailure.Unreachable($"Web PubSub at {EndpointOf(webPubSub)} for the baselines", ex,
                    "start ./run.sh (its emulator), pass --webpubsub <connection string>, or --baselines false");
                if (!failed)
                {
                    throw failure;
                }
                Console.Error.WriteLine("railcloud: " + failure.Message);
            }
        }
        if (failed)
        {
            throw new CliFailure(ExitCodes.Refused, "load: messages were lost or duplicated, or a kiosk had two sessions at once (see above).");
        }
        return ExitCodes.Success;
    }

    /// <summary>The endpoint of a Web PubSub connection string, never its key.</summary>
    private static string EndpointOf(string connectionString) =>
        connectionString.Split(';').Select(p => p.Trim()).FirstOrDefault(p => p.StartsWith("Endpoint=", StringComparison.OrdinalIgnoreCase))?["Endpoint=".Length..] ?? "the --webpubsub endpoint";

    /// <summary>The local emulator run.sh starts, with the public key of Microsoft's emulator (loopback only).</summary>
    private const string LocalEmulator = "Endpoint=http://127.0.0.1:8080;AccessKey=ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH;Version=1.0;";

    private static async Task<int> PairsAsync(Args args, CancellationToken cancellationToken)
    {
        var pairs = args.Int("pairs", 20);
        var candidates = args.Int("candidates", 20);
        // Each client stays under the backend's per-connection signaling limit (20/s by default), as real ones do.
        var perSecond = args.Int("rate", 15);
        var api = Simulators.Api(args);
        Console.WriteLine($"Load test against {api.Http.BaseAddress}: {pairs} pairs, {candidates} candidates each way per pair.");
        await Simulators.EnsureApiAsync(api, cancellationToken);

        var accounts = await AccountsCommand.OpenAsync(args, cancellationToken);
        await Parallel.ForEachAsync(Enumerable.Range(0, pairs), cancellationToken, async (i, ct) =>
        {
            await accounts.CreateAsync(KioskId(i), Roles.Kiosk, Password, ct);   // an error just means it exists already
            await accounts.CreateAsync(MonitorId(i), Roles.Monitor, Password, ct);
        });

        var connectWatch = Stopwatch.StartNew();
        var kiosks = new RailCloudConnection[pairs];
        var monitors = new RailCloudConnection[pairs];
        await Parallel.ForEachAsync(Enumerable.Range(0, pairs), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            kiosks[i] = await RailCloudConnection.ConnectAsync(api, KioskId(i), Password, ct);
            await kiosks[i].RegisterAsync(cancellationToken: ct);
            monitors[i] = await RailCloudConnection.ConnectAsync(api, MonitorId(i), Password, ct);
            await monitors[i].RegisterAsync(cancellationToken: ct);
        });
        connectWatch.Stop();
        Console.WriteLine($"{pairs * 2} clients logged in, connected and registered in {connectWatch.Elapsed.TotalSeconds:F1} s.");

        var setup = new LongHistogram(TimeStamp.Minutes(1), 3);
        var relay = new LongHistogram(TimeStamp.Minutes(1), 3);
        try
        {
            var setupWatch = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, pairs).Select(async i =>
            {
                var start = Stopwatch.GetTimestamp();
                var offerArrives = kiosks[i].WaitForAsync(m => (string?)m["event"] == Events.Offer, TimeSpan.FromSeconds(30), cancellationToken);
                await monitors[i].StartMonitoringAsync(KioskId(i), cancellationToken);
                await monitors[i].SendOfferAsync(KioskId(i), Simulators.FakeSdp(MonitorId(i)), cancellationToken);
                await offerArrives;
                var answerArrives = monitors[i].WaitForAsync(m => (string?)m["event"] == Events.Answer, TimeSpan.FromSeconds(30), cancellationToken);
                await kiosks[i].SendAnswerAsync(MonitorId(i), Simulators.FakeSdp(KioskId(i)), cancellationToken);
                await answerArrives;
                lock (setup) setup.RecordValue(Stopwatch.GetTimestamp() - start);
            }));
            setupWatch.Stop();

            var relayWatch = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, pairs).Select(async i =>
            {
                var pace = TimeSpan.FromSeconds(1.0 / perSecond);
                for (var n = 1; n <= candidates; n++)
                {
                    var next = Stopwatch.GetTimestamp() + (long)(pace.TotalSeconds * Stopwatch.Frequency);
                    await Task.WhenAll(
                        RelayOneAsync(monitors[i], kiosks[i], KioskId(i), n, relay, cancellationToken),
                        RelayOneAsync(kiosks[i], monitors[i], MonitorId(i), n, relay, cancellationToken));
                    var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait, cancellationToken);
                    }
                }
            }));
            relayWatch.Stop();

            static double Ms(LongHistogram h, double p) => h.GetValueAtPercentile(p) * 1000.0 / Stopwatch.Frequency;
            Console.WriteLine($"""

                | measure | result |
                |---|---|
                | sessions set up (start → offer → answer delivered) | {pairs} in {setupWatch.Elapsed.TotalSeconds:F2} s = {pairs / setupWatch.Elapsed.TotalSeconds:F1} sessions/s |
                | session setup latency p50 / p99 | {Ms(setup, 50):F1} ms / {Ms(setup, 99):F1} ms |
                | ICE candidates relayed | {relay.TotalCount:N0} in {relayWatch.Elapsed.TotalSeconds:F2} s ({perSecond}/s per client) |
                | relay latency p50 / p99 / max | {Ms(relay, 50):F2} ms / {Ms(relay, 99):F2} ms / {Ms(relay, 100):F2} ms |
                """);
        }
        finally
        {
            for (var i = 0; i < pairs; i++)
            {
                await monitors[i].DisposeAsync();
                await kiosks[i].DisposeAsync();
            }
        }
        return 0;
    }

    private static async Task RelayOneAsync(RailCloudConnection from, RailCloudConnection to, string targetId, int n, LongHistogram latency, CancellationToken cancellationToken)
    {
        var marker = $"candidate:{n} 1 udp {2122260223 - n} 127.0.0.1 {40000 + n} typ host";
        var start = Stopwatch.GetTimestamp();
        var arrives = to.WaitForAsync(m => (string?)m["event"] == Events.IceCandidate && (string?)m["candidate"]?["candidate"] == marker, TimeSpan.FromSeconds(30), cancellationToken);
        await from.SendIceCandidateAsync(targetId, marker, cancellationToken: cancellationToken);
        await arrives;
        lock (latency) latency.RecordValue(Stopwatch.GetTimestamp() - start);
    }

    public static string KioskId(int i) => $"LOAD_K_{i:D3}";

    public static string MonitorId(int i) => $"LOAD_M_{i:D3}";
}
