using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using RailCloud.Cli.Load;
using RailCloud.Protocol;
using RailCloud.Signaling.Hub;
using RailCloud.Testing;
using RailCloud.Testing.Wan;

namespace RailCloud.Benchmarks;

/// <summary>
/// Time to first frame over a simulated network (<see cref="WanProfile"/>): from the click on Start (or the probe's
/// start) to the first decoded frame, through the whole stack behind delaying proxies, with media forced through
/// TURN behind the client legs. Beside it the baseline: the same two browser pages exchanging offer, answer and
/// candidates through one plain WebSocket relay over the same legs and the same TURN. Then what a session costs.
/// </summary>
public static partial class TimeToFirstFrame
{
    public sealed record Settings(WanProfile Profile, int Rounds, TimeSpan Minute, bool Native);

    public static async Task<int> RunAsync(Settings settings)
    {
        var profile = settings.Profile;
        Console.WriteLine($"Network profile {profile.Name}: {profile.Description}; media relayed through coturn behind the client legs.");
        await using var wan = await WanStack.StartAsync(profile);
        var stack = wan.Stack;
        foreach (var (id, role) in new[] { ("KIOSK_01", "kiosk"), ("KIOSK_02", "kiosk"), ("MONITOR_01", "monitor"), ("MONITOR_02", "monitor") })
        {
            await stack.CreateAccountAsync(id, role);
        }
        await using var browser = await BenchmarkBrowser.LaunchAsync(wan.ClientUri, WanPages.RelayOnly);
        using var meter = new CostMeter();

        // The baseline first: two pages and a plain relay over the same legs and TURN.
        var baseline = await BaselineAsync(wan, browser, settings.Rounds);
        Console.WriteLine($"baseline (plain relay): {Stats.Of(baseline)}");

        var monitor = await browser.SignInAsync("/monitor", "Monitor id", "MONITOR_01", "Connected");
        var kiosk = await browser.SignInAsync("/kiosk", "Kiosk id", "KIOSK_01", "Online");
        await Assertions.Expect(monitor.GetByRole(AriaRole.Button, new() { Name = "Start monitoring KIOSK_01" })).ToBeEnabledAsync(new() { Timeout = 15_000 });
        var rows = new List<(string Pair, List<double> Times)>();
        var failures = new List<string>();
        var before = meter.Snapshot();
        var browsers = await ClickToFirstFrameAsync(monitor, "KIOSK_01", settings.Rounds);
        var sessions = meter.Snapshot() - before;
        rows.Add(("browser kiosk → browser monitor (click on Start → first decoded frame)", browsers));
        Console.WriteLine($"browser → browser: {Stats.Of(browsers)}");

        // A watched minute, then an idle one (the kiosk online, nobody watching).
        var watched = await MinuteAsync(meter, settings.Minute, () => StartAsync(monitor, "KIOSK_01"), () => StopAsync(monitor, "KIOSK_01"));
        var idle = await MinuteAsync(meter, settings.Minute, () => Task.CompletedTask, () => Task.CompletedTask);

        if (settings.Native)
        {
            string[] api = ["--api", wan.ClientUri.ToString(), "--local-address", "127.0.0.1", "--relay-only"];
            var toProbe = new List<double>();
            string? probeFailure = null;
            for (var round = 0; round < settings.Rounds + 1 && probeFailure is null; round++)
            {
                var (code, output) = await RailcloudCommand.RunAsync(["probe", "KIOSK_01", "--id", "MONITOR_02", "--password", RailCloudStack.Password, "--duration", "1s", .. api], TimeSpan.FromMinutes(1));
                if (code != 0)
                {
                    // Said in the table rather than thrown: the other pairs' figures still count.
                    probeFailure = output.Split('\n').LastOrDefault(l => l.Contains("KIOSK_01", StringComparison.Ordinal))?.Trim() ?? $"exit code {code}";
                }
                else if (round > 0)
                {
                    toProbe.Add(FirstFrame(output));
                }
            }
            if (probeFailure is null)
            {
                rows.Add(("browser kiosk → C# probe (start-monitoring sent → first decoded frame)", toProbe));
                Console.WriteLine($"browser → probe: {Stats.Of(toProbe)}");
            }
            else
            {
                failures.Add($"browser kiosk → C# probe: no figures; after {toProbe.Count} good rounds the probe said: {probeFailure}");
                Console.WriteLine(failures[^1]);
            }
            await kiosk.Context.CloseAsync();

            using var agent = new RailcloudCommand(["kiosk", "--id", "KIOSK_02", "--password", RailCloudStack.Password, "--test-pattern", "--width", "640", "--height", "360", "--fps", "15", .. api],
                new Dictionary<string, string> { ["MALLOC_ARENA_MAX"] = "2" });
            await agent.WaitForOutputAsync("KIOSK_02 is online", TimeSpan.FromSeconds(30));
            await Assertions.Expect(monitor.GetByRole(AriaRole.Button, new() { Name = "Start monitoring KIOSK_02" })).ToBeEnabledAsync(new() { Timeout = 15_000 });
            var fromAgent = new List<double>();
            try
            {
                await ClickToFirstFrameAsync(monitor, "KIOSK_02", settings.Rounds, fromAgent);
            }
            catch (InvalidOperationException ex)
            {
                // Said in the table rather than thrown, with what the agent and coturn said.
                var turnErrors = wan.Turn.Log.Where(l => l.Contains("error", StringComparison.OrdinalIgnoreCase) || l.Contains("quota", StringComparison.OrdinalIgnoreCase)).TakeLast(5);
                failures.Add($"C# kiosk agent → browser monitor: stopped after {fromAgent.Count} good rounds: {ex.Message.Split('\n')[0]}");
                Console.WriteLine($"{failures[^1]}\nThe agent said:\n{agent.Output}\ncoturn's last errors:\n{string.Join("\n", turnErrors)}");
            }
            if (fromAgent.Count > 0)
            {
                rows.Insert(1, ($"C# kiosk agent → browser monitor (click on Start → first decoded frame; {fromAgent.Count} rounds)", fromAgent));
            }
            if (fromAgent.Count > 0) Console.WriteLine($"agent → browser: {Stats.Of(fromAgent)}");
        }

        var reference = Stats.Of(baseline);
        Console.WriteLine($"""

            ## Time to first frame, profile `{profile.Name}` ({profile.Description}; {settings.Rounds} rounds after a warm-up; {Environment.ProcessorCount} cores; {DateTime.UtcNow:yyyy-MM-dd})

            | pair | RailCloud median | p90 | p99 | baseline median | p90 | p99 | ratio (median) |
            |---|---|---|---|---|---|---|---|
            {string.Join("\n", rows.Select(r => Row(r.Pair, Stats.Of(r.Times), reference)))}
            {string.Join("\n", failures)}

            The baseline is two browser pages exchanging offer, answer and candidates through one plain WebSocket relay
            over the same client legs, with the same TURN; it is the reference for every row.

            ## What a session costs (counted by the backend's and the emulator's own meters)

            | per | Function invocations | table transactions | Web PubSub messages (2 KB units) |
            |---|---|---|---|
            {CostRow("session setup (start → video, then stop)", sessions, browsers.Count + 1)}
            {CostRow($"watched minute (one session, {settings.Minute.TotalSeconds:0} s)", watched, settings.Minute.TotalMinutes)}
            {CostRow($"idle kiosk minute (online, nobody watching, {settings.Minute.TotalSeconds:0} s)", idle, settings.Minute.TotalMinutes)}

            Invocations per session setup, by handler: {ByHandler(sessions, browsers.Count + 1)}
            Per watched minute: {ByHandler(watched, settings.Minute.TotalMinutes)}
            Per idle minute: {ByHandler(idle, settings.Minute.TotalMinutes)}
            """);
        return 0;
    }

    private static string Row(string pair, Stats product, Stats baseline) =>
        $"| {pair} | {product.Median:F0} ms | {product.P90:F0} ms | {product.P99:F0} ms | {baseline.Median:F0} ms | {baseline.P90:F0} ms | {baseline.P99:F0} ms | {(product.Median / baseline.Median).ToString("F2", CultureInfo.InvariantCulture)}× |";

    private static string ByHandler(CostMeter.Totals totals, double per) =>
        string.Join(", ", totals.ByHandler().Select(h => $"{h.Handler} {h.Count / per:0.#}"));

    private static string CostRow(string what, CostMeter.Totals totals, double per) =>
        $"| {what} | {totals.Invocations / per:0.0} | {totals.Storage / per:0.0} | {totals.Messages / per:0.0} ({totals.Units / per:0.0}) |";

    private static async Task<CostMeter.Totals> MinuteAsync(CostMeter meter, TimeSpan over, Func<Task> start, Func<Task> stop)
    {
        await start();
        var before = meter.Snapshot();
        await Task.Delay(over);
        var totals = meter.Snapshot() - before;
        await stop();
        return totals;
    }

    private static async Task<List<double>> BaselineAsync(WanStack wan, BenchmarkBrowser browser, int rounds)
    {
        await using var relay = await PlainRelay.StartAsync();
        await using var toRelay = TcpDelayProxy.Start(relay.Port, wan.Profile.ClientLeg);
        var iceServers = JsonSerializer.Serialize(wan.Stack.Services.GetRequiredService<IceServerProvider>().For("BASELINE"), ProtocolJson.Options);
        var origin = $"http://127.0.0.1:{toRelay.Port}/";
        var kiosk = await browser.BlankPageAsync();
        await kiosk.GotoAsync(origin);
        await kiosk.EvaluateAsync($"({WanPages.BaselineKiosk})({{ relayUrl: 'ws://127.0.0.1:{toRelay.Port}/relay/1/a', iceServers: {iceServers} }})");
        var monitor = await browser.BlankPageAsync();
        await monitor.GotoAsync(origin);
        await monitor.EvaluateAsync($"({WanPages.BaselineMonitor})({{ relayUrl: 'ws://127.0.0.1:{toRelay.Port}/relay/1/b', iceServers: {iceServers} }})");
        var times = new List<double>();
        for (var round = 0; round < rounds + 1; round++)
        {
            var ms = await monitor.EvaluateAsync<double>("() => window.baselineRound()");
            if (round > 0) times.Add(ms);
            await Task.Delay(200);   // the kiosk page closes its peer
        }
        await kiosk.Context.CloseAsync();
        await monitor.Context.CloseAsync();
        return times;
    }

    /// <summary>Click on Start → first decoded frame, <paramref name="rounds"/> times after a warm-up, stopping after each.</summary>
    internal static async Task<List<double>> ClickToFirstFrameAsync(IPage monitor, string kioskId, int rounds, List<double>? into = null)
    {
        var times = into ?? [];
        for (var round = 0; round < rounds + 1; round++)
        {
            await StartAsync(monitor, kioskId);
            var ms = await monitor.EvaluateAsync<double>($"() => window.railcloudFirstFrameAt.{kioskId} - window.railcloudClickedAt.{kioskId}");
            if (round > 0) times.Add(ms);   // the first round warms up JIT, connection pools and TURN
            await StopAsync(monitor, kioskId);
        }
        return times;
    }

    private static async Task StartAsync(IPage monitor, string kioskId)
    {
        await monitor.GetByRole(AriaRole.Button, new() { Name = $"Start monitoring {kioskId}" }).ClickAsync();
        try
        {
            await monitor.WaitForFunctionAsync($"() => window.railcloudFirstFrameAt && window.railcloudFirstFrameAt.{kioskId}", null, new() { Timeout = 30_000, PollingInterval = 20 });
        }
        catch (TimeoutException)
        {
            // Say what the dashboard saw, so a run that gets no video can be diagnosed.
            var tile = string.Join(" | ", await monitor.Locator(".tile-message").AllInnerTextsAsync());
            var events = await monitor.Locator("#timeline").InnerTextAsync();
            throw new InvalidOperationException($"No video from {kioskId} within 30 s. The dashboard's tile says: {tile}; its events:\n{events}");
        }
    }

    private static async Task StopAsync(IPage monitor, string kioskId)
    {
        await monitor.GetByRole(AriaRole.Button, new() { Name = $"Stop monitoring {kioskId}" }).ClickAsync();
        await Assertions.Expect(monitor.GetByRole(AriaRole.Button, new() { Name = $"Start monitoring {kioskId}" })).ToBeEnabledAsync(new() { Timeout = 15_000 });
    }

    /// <summary>The probe's "First frame … s after the start", in milliseconds.</summary>
    internal static double FirstFrame(string output) =>
        double.Parse(FirstFramePattern().Match(output).Groups[1].Value, CultureInfo.InvariantCulture) * 1000;

    [GeneratedRegex(@"First frame ([0-9.]+) s after the start")]
    private static partial Regex FirstFramePattern();
}

/// <summary>Median, 90th and 99th percentile (nearest rank) of a set of times.</summary>
public sealed record Stats(int Count, double Median, double P90, double P99, double Max)
{
    public static Stats Of(IReadOnlyCollection<double> values)
    {
        var sorted = values.Order().ToArray();
        double Rank(double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
        var median = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
        return new(sorted.Length, median, Rank(0.90), Rank(0.99), sorted[^1]);
    }

    public override string ToString() => $"n={Count} median {Median:F0} ms, p90 {P90:F0} ms, p99 {P99:F0} ms, max {Max:F0} ms";
}
