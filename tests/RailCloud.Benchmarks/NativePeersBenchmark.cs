using System.Globalization;
using Microsoft.Playwright;
using RailCloud.Testing;

namespace RailCloud.Benchmarks;

/// <summary>
/// Time to first frame over the three kinds of pair, through the whole local stack on loopback (median of N rounds
/// each, after one warm-up): browser → browser, the C# kiosk agent → the dashboard in Chromium, the kiosk page in
/// Chromium → the C# probe; then the agent's CPU and memory while it streams 640×360 at 15 fps to a probe.
/// </summary>
public static class NativePeersBenchmark
{
    public static async Task<int> RunAsync(int rounds, int sessions)
    {
        await using var turn = await CoturnServer.StartAsync();
        await using var stack = await RailCloudStack.StartAsync(turn.Settings);
        foreach (var (id, role) in new[] { ("KIOSK_01", "kiosk"), ("KIOSK_02", "kiosk"), ("MONITOR_01", "monitor"), ("MONITOR_02", "monitor") })
        {
            await stack.CreateAccountAsync(id, role);
        }
        string[] api = ["--api", stack.BaseUri.ToString()];
        await using var browser = await BenchmarkBrowser.LaunchAsync(stack.BaseUri);
        Task<IPage> SignInAsync(string path, string label, string id, string expected) => browser.SignInAsync(path, label, id, expected);
        var monitor = await SignInAsync("/monitor", "Monitor id", "MONITOR_01", "Connected");

        // Browser → browser.
        var kioskPage = await SignInAsync("/kiosk", "Kiosk id", "KIOSK_01", "Online");
        var browsers = await TimeToFirstFrame.ClickToFirstFrameAsync(monitor, "KIOSK_01", rounds);

        // The kiosk page → the C# probe: the probe's own "first frame … after the start" (start = its start-monitoring).
        var toProbe = new List<double>();
        for (var round = 0; round < rounds + 1; round++)
        {
            var (code, output) = await RailcloudCommand.RunAsync(["probe", "KIOSK_01", "--id", "MONITOR_02", "--password", RailCloudStack.Password, "--duration", "1s", "--local-address", "127.0.0.1", .. api], TimeSpan.FromMinutes(1));
            if (code != 0)
            {
                throw new InvalidOperationException("The probe got no video:\n" + output);
            }
            if (round > 0) toProbe.Add(TimeToFirstFrame.FirstFrame(output));
        }
        await kioskPage.Context.CloseAsync();

        // The C# agent → the dashboard.
        // Started as the systemd unit starts it (deploy/railcloud-kiosk.service), with two malloc arenas.
        using var agent = new RailcloudCommand(["kiosk", "--id", "KIOSK_02", "--password", RailCloudStack.Password, "--test-pattern", "--width", "640", "--height", "360", "--fps", "15", "--local-address", "127.0.0.1", .. api],
            new Dictionary<string, string> { ["MALLOC_ARENA_MAX"] = "2" });
        await agent.WaitForOutputAsync("KIOSK_02 is online", TimeSpan.FromSeconds(30));
        await Assertions.Expect(monitor.GetByRole(AriaRole.Button, new() { Name = "Start monitoring KIOSK_02" })).ToBeEnabledAsync(new() { Timeout = 15_000 });
        var fromAgent = await TimeToFirstFrame.ClickToFirstFrameAsync(monitor, "KIOSK_02", rounds);

        // The agent's CPU and memory while it streams to a probe for 10 s (and idle, for comparison).
        var pid = agent.Process.Id;
        var idle = await SampleAsync(pid, TimeSpan.FromSeconds(5));
        var probing = RailcloudCommand.RunAsync(["probe", "KIOSK_02", "--id", "MONITOR_02", "--password", RailCloudStack.Password, "--duration", "12s", "--local-address", "127.0.0.1", .. api], TimeSpan.FromMinutes(1));
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        var streaming = await SampleAsync(pid, TimeSpan.FromSeconds(10));
        var (probeCode, probeOutput) = await probing;
        if (probeCode != 0)
        {
            throw new InvalidOperationException("The probe got no video from the agent:\n" + probeOutput);
        }

        // Memory over many sessions: an agent runs for weeks, one session after another.
        var served = rounds + 2;   // the dashboard's rounds, its warm-up and the probe above
        var memory = new List<(int Sessions, double RssMiB)> { (served, (await SampleAsync(pid, TimeSpan.FromSeconds(1))).RssMiB) };
        for (var more = 1; more <= sessions; more++)
        {
            var (code, output) = await RailcloudCommand.RunAsync(["probe", "KIOSK_02", "--id", "MONITOR_02", "--password", RailCloudStack.Password, "--duration", "1s", "--local-address", "127.0.0.1", .. api], TimeSpan.FromMinutes(1));
            if (code != 0)
            {
                throw new InvalidOperationException($"Session {served + more} got no video from the agent:\n{output}");
            }
            if (more % 10 == 0 || more == sessions)
            {
                memory.Add((served + more, (await SampleAsync(pid, TimeSpan.FromSeconds(1))).RssMiB));
            }
        }

        Console.WriteLine($"""

            ## Native peers (loopback, 2 cores, {rounds} rounds each after a warm-up, {DateTime.UtcNow:yyyy-MM-dd})

            | pair | time to first frame: median | min | max |
            |---|---|---|---|
            | browser kiosk → browser monitor (click on Start → first decoded frame) | {Stats.Of(browsers).Median:F0} ms | {browsers.Min():F0} ms | {browsers.Max():F0} ms |
            | C# kiosk agent → browser monitor (click on Start → first decoded frame) | {Stats.Of(fromAgent).Median:F0} ms | {fromAgent.Min():F0} ms | {fromAgent.Max():F0} ms |
            | browser kiosk → C# probe (start-monitoring sent → first decoded frame) | {Stats.Of(toProbe).Median:F0} ms | {toProbe.Min():F0} ms | {toProbe.Max():F0} ms |

            | the kiosk agent (test pattern, VP8 640×360 at 15 fps) | CPU (of one core) | resident memory |
            |---|---|---|
            | online, nobody watching | {idle.CpuPercent:F1} % | {idle.RssMiB:F0} MiB |
            | streaming to one probe | {streaming.CpuPercent:F1} % | {streaming.RssMiB:F0} MiB |

            {probeOutput.Split('\n').FirstOrDefault(l => l.Contains("video flows", StringComparison.Ordinal))?.Trim()}

            | sessions the agent has served (one probe of 1 s each after the first {served}) | resident memory |
            |---|---|
            {string.Join("\n", memory.Select(m => $"| {m.Sessions} | {m.RssMiB:F0} MiB |"))}
            """);
        return 0;
    }

    /// <summary>CPU used by the process (utime + stime from /proc, as a percentage of one core) over a while, and its resident memory at the end.</summary>
    private static async Task<(double CpuPercent, double RssMiB)> SampleAsync(int pid, TimeSpan over)
    {
        static long Ticks(int pid)
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);   // utime, stime
        }
        var before = Ticks(pid);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await Task.Delay(over);
        var cpu = (Ticks(pid) - before) / 100.0 / watch.Elapsed.TotalSeconds * 100;   // USER_HZ is 100 on Linux
        var rss = File.ReadAllLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        return (cpu, long.Parse(rss, CultureInfo.InvariantCulture) / 1024.0);
    }
}
