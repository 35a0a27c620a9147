using System.Text.Json;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace RailCloud.EndToEnd.Tests;

/// <summary>
/// Live video survives RailCloud: the Web PubSub emulator restarted and the API killed for longer than the session
/// TTL, while a monitor page in Chromium watches a kiosk page with a fake camera. The monitor page counts presented
/// frames with requestVideoFrameCallback; the test reports the longest gap between frames in each drill.
/// </summary>
public sealed class ResilienceTests(ITestOutputHelper output) : IAsyncLifetime
{
    private CoturnServer _turn = null!;
    private RailCloudStack? _stack;
    private Browser _browser = null!;

    public async Task InitializeAsync()
    {
        _turn = await CoturnServer.StartAsync();
        _browser = await Browser.LaunchAsync();
    }

    private async Task StartStackAsync(Dictionary<string, string?> sessions, AzuriteServer? azurite = null, LogCapture? logs = null)
    {
        var settings = new Dictionary<string, string?>(_turn.Settings);
        foreach (var (key, value) in sessions)
        {
            settings[key] = value;
        }
        _stack = await RailCloudStack.StartAsync(settings, azurite, logs: logs);
        await _stack!.CreateAccountAsync("KIOSK_01", Roles.Kiosk);
        await _stack!.CreateAccountAsync("MONITOR_01", Roles.Monitor);
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        if (_stack is not null)
        {
            await _stack!.DisposeAsync();
        }
        await _turn.DisposeAsync();
    }

    /// <summary>Kiosk and monitor pages, the monitor watching with video; both pages record every status they show.</summary>
    private async Task<(IPage Kiosk, IPage Monitor, string SessionId)> WatchingAsync()
    {
        var kiosk = await _browser.NewPageAsync(_stack!.BaseUri);
        await kiosk.GotoAsync("/kiosk");
        await Browser.SignInAsync(kiosk, "Kiosk id", "KIOSK_01", RailCloudStack.Password, "Online");
        var monitor = await _browser.NewPageAsync(_stack!.BaseUri);
        await monitor.GotoAsync("/monitor");
        await Browser.SignInAsync(monitor, "Monitor id", "MONITOR_01", RailCloudStack.Password, "Connected");
        await monitor.GetByRole(AriaRole.Button, new() { Name = "Start monitoring KIOSK_01" }).ClickAsync();
        await monitor.WaitForFunctionAsync("() => { const t = window.railcloudTiles().KIOSK_01; return t && t.framesDecoded > 0; }", null, new() { Timeout = 30_000, PollingInterval = 250 });
        foreach (var page in new[] { kiosk, monitor })
        {
            await page.EvaluateAsync("""
                () => {
                  const status = document.querySelector('#status');
                  window.statusLog = [status.textContent];
                  new MutationObserver(() => window.statusLog.push(status.textContent)).observe(status, { childList: true, characterData: true, subtree: true });
                }
                """);
        }
        await monitor.EvaluateAsync("""
            () => {
              const video = document.querySelector(".tile[data-kiosk='KIOSK_01'] video");
              window.framesAt = [];
              const onFrame = (now) => { window.framesAt.push(now); video.requestVideoFrameCallback(onFrame); };
              video.requestVideoFrameCallback(onFrame);
            }
            """);
        return (kiosk, monitor, (await SessionIdAsync(monitor))!);
    }

    private static async Task<string?> SessionIdAsync(IPage monitor) =>
        (await monitor.EvaluateAsync<JsonElement>("() => window.railcloudTiles().KIOSK_01")).GetProperty("sessionId").GetString();

    /// <summary>The longest time without a presented frame since the recording began, and how many frames there were.</summary>
    private static async Task<(double MaxGapMs, int Frames)> FramesAsync(IPage monitor)
    {
        var result = await monitor.EvaluateAsync<JsonElement>("""
            () => {
              const f = window.framesAt;
              let gap = 0;
              for (let i = 1; i < f.length; i++) gap = Math.max(gap, f[i] - f[i - 1]);
              gap = Math.max(gap, performance.now() - f[f.length - 1]);
              return { gap, frames: f.length };
            }
            """);
        return (result.GetProperty("gap").GetDouble(), result.GetProperty("frames").GetInt32());
    }

    private static async Task<string[]> StatusLogAsync(IPage page) => await page.EvaluateAsync<string[]>("() => window.statusLog");

    [Fact]
    public async Task RestartingTheEmulatorDoesNotInterruptTheVideoAndTheSessionIsResumed()
    {
        // The default TTL (90 s) and heartbeat (30 s): with the emulator down no heartbeat gets through, as in Azure.
        await StartStackAsync([]);
        var (kiosk, monitor, sessionId) = await WatchingAsync();

        await _stack!.RestartEmulatorAsync(TimeSpan.FromSeconds(5));
        await Assertions.Expect(kiosk.Locator("#status")).ToHaveTextAsync("Online", new() { Timeout = 45_000 });
        await Assertions.Expect(monitor.Locator("#status")).ToHaveTextAsync("Connected", new() { Timeout = 45_000 });
        await monitor.WaitForTimeoutAsync(3000);   // a few heartbeats on the new connections
        var (gap, frames) = await FramesAsync(monitor);
        output.WriteLine($"Emulator down 5 s: {frames} frames presented, longest gap between frames {gap:0} ms");
        output.WriteLine("Kiosk: " + await kiosk.Locator("#timeline").InnerTextAsync());
        output.WriteLine("Monitor: " + await monitor.Locator("#timeline").InnerTextAsync());
        output.WriteLine("Errors: " + string.Join("\n", _browser.ScriptErrors));

        Assert.Equal(sessionId, await SessionIdAsync(monitor));
        Assert.Contains(await StatusLogAsync(kiosk), s => s.StartsWith("Reconnecting to RailCloud", StringComparison.Ordinal));
        Assert.Contains(await StatusLogAsync(monitor), s => s.StartsWith("Reconnecting to RailCloud", StringComparison.Ordinal));
        Assert.True(gap < 2000, $"the video stopped for {gap:0} ms");
        await Assertions.Expect(kiosk.Locator("#viewer")).ToHaveTextAsync("Being viewed by MONITOR_01");
        await Assertions.Expect(monitor.Locator("#banner")).ToBeHiddenAsync();
        // Signaling still works on the new route: a start over (Stop, then Start) gets video again.
        await monitor.GetByRole(AriaRole.Button, new() { Name = "Stop monitoring KIOSK_01" }).ClickAsync();
        await Assertions.Expect(kiosk.Locator("#viewer")).ToHaveTextAsync("Not being viewed", new() { Timeout = 15_000 });
        Assert.True(_browser.ScriptErrors.Count == 0, string.Join("\n", _browser.ScriptErrors));
    }

    [Fact]
    public async Task KillingTheApiForLongerThanTheTtlExpiresNobodyAndACrewSignOnIsSentWhenItIsBack()
    {
        // A short TTL, so "down for longer than the TTL" takes seconds; the grace after an outage is the TTL too.
        await StartStackAsync(new()
        {
            ["Sessions:Ttl"] = "00:00:06",
            ["Sessions:HeartbeatInterval"] = "00:00:02",
            ["Sessions:SweepInterval"] = "00:00:00.500",
            // The pages retry a failed heartbeat after 2, 4, 8, then every 10 s: after a long outage the next one may
            // come 10 s after RailCloud is back, so the grace must be longer than that (the default, the TTL of 90 s, is).
            ["Sessions:OutageGrace"] = "00:00:12",
        });
        var (kiosk, monitor, sessionId) = await WatchingAsync();

        await _stack!.StopApiAsync();
        await Assertions.Expect(kiosk.Locator("#status")).ToHaveTextAsync("Can't reach RailCloud; video continues", new() { Timeout = 15_000 });
        await Assertions.Expect(monitor.Locator("#status")).ToHaveTextAsync("Can't reach RailCloud; video continues", new() { Timeout = 15_000 });
        await kiosk.GetByLabel("Crew id").FillAsync("C42");
        await kiosk.GetByRole(AriaRole.Button, new() { Name = "Sign on", Exact = true }).ClickAsync();
        await Assertions.Expect(kiosk.Locator("#crew-list")).ToContainTextAsync("queued, not yet recorded");
        await kiosk.WaitForTimeoutAsync(9000);   // down for longer than the 6 s TTL in all
        await _stack!.StartApiAsync();

        await Assertions.Expect(kiosk.Locator("#status")).ToHaveTextAsync("Online", new() { Timeout = 30_000 });
        await Assertions.Expect(monitor.Locator("#status")).ToHaveTextAsync("Connected", new() { Timeout = 30_000 });
        await Assertions.Expect(monitor.Locator("#timeline")).ToContainTextAsync("KIOSK_01: crew C42 signed on", new() { Timeout = 15_000 });
        await Assertions.Expect(kiosk.Locator("#crew-list")).ToHaveTextAsync("C42");
        await monitor.WaitForTimeoutAsync(14_000);   // longer than the grace: the sweep has had every chance to end things
        var (gap, frames) = await FramesAsync(monitor);
        output.WriteLine($"API down ≈ 12 s (TTL 6 s): {frames} frames presented, longest gap between frames {gap:0} ms");

        Assert.Equal(sessionId, await SessionIdAsync(monitor));
        Assert.True(gap < 2000, $"the video stopped for {gap:0} ms");
        await Assertions.Expect(monitor.Locator("tr[data-kiosk='KIOSK_01'] td").First).ToHaveTextAsync("Online");
        await Assertions.Expect(kiosk.Locator("#viewer")).ToHaveTextAsync("Being viewed by MONITOR_01");
        await Assertions.Expect(monitor.Locator("#timeline")).Not.ToContainTextAsync("session ended");
        await Assertions.Expect(monitor.Locator("#timeline")).Not.ToContainTextAsync("went offline");
        await Assertions.Expect(monitor.Locator("#banner")).ToBeHiddenAsync();
        Assert.True(_browser.ScriptErrors.Count == 0, string.Join("\n", _browser.ScriptErrors));
    }

    [Fact]
    public async Task StoppingStorageLeavesTheVideoFlowingKeepsAcknowledgedCrewAndRecoversByItself()
    {
        // Storage (Azurite, its data on disk) goes away for longer than the 6 s TTL and comes back on the same data.
        var azurite = await AzuriteServer.StartAsync(onDisk: true);
        var logs = new LogCapture(Microsoft.Extensions.Logging.LogLevel.Information);
        try
        {
            await StartStackAsync(new()
            {
                ["Sessions:Ttl"] = "00:00:06",
                ["Sessions:HeartbeatInterval"] = "00:00:02",
                ["Sessions:SweepInterval"] = "00:00:00.500",
                // The pages retry a failed heartbeat after 2, 4, 8, then every 10 s: after a long outage the next one may
                // come 10 s after RailCloud is back, so the grace must be longer than that (the default, the TTL of 90 s, is).
                ["Sessions:OutageGrace"] = "00:00:12",
                ["Logging:LogLevel:RailCloud"] = "Information",
            }, azurite, logs);
            var (kiosk, monitor, sessionId) = await WatchingAsync();
            await kiosk.GetByLabel("Crew id").FillAsync("C1");
            await kiosk.GetByRole(AriaRole.Button, new() { Name = "Sign on", Exact = true }).ClickAsync();
            await Assertions.Expect(monitor.Locator("#timeline")).ToContainTextAsync("KIOSK_01: crew C1 signed on", new() { Timeout = 15_000 });

            await azurite.StopAsync();
            await Assertions.Expect(kiosk.Locator("#status")).ToHaveTextAsync("Can't reach RailCloud; video continues", new() { Timeout = 20_000 });
            await kiosk.GetByLabel("Crew id").FillAsync("C2");
            await kiosk.GetByRole(AriaRole.Button, new() { Name = "Sign on", Exact = true }).ClickAsync();
            await Assertions.Expect(kiosk.Locator("#crew-list")).ToContainTextAsync("queued, not yet recorded", new() { Timeout = 15_000 });
            await kiosk.WaitForTimeoutAsync(8000);   // down for longer than the TTL in all
            azurite = await azurite.StartAgainAsync();

            await Assertions.Expect(kiosk.Locator("#status")).ToHaveTextAsync("Online", new() { Timeout = 30_000 });
            await Assertions.Expect(monitor.Locator("#status")).ToHaveTextAsync("Connected", new() { Timeout = 30_000 });
            await Assertions.Expect(monitor.Locator("#timeline")).ToContainTextAsync("KIOSK_01: crew C2 signed on", new() { Timeout = 20_000 });
            await monitor.WaitForTimeoutAsync(14_000);   // longer than the grace: the sweep has had every chance to end things
            var (gap, frames) = await FramesAsync(monitor);
            output.WriteLine($"Storage down ≈ 10 s (TTL 6 s): {frames} frames presented, longest gap between frames {gap:0} ms");
            output.WriteLine("Kiosk: " + await kiosk.Locator("#timeline").InnerTextAsync());
            output.WriteLine("Monitor: " + await monitor.Locator("#timeline").InnerTextAsync());
            output.WriteLine("Monitor statuses: " + string.Join(" | ", await StatusLogAsync(monitor)));
            output.WriteLine("API: " + string.Join("\n", logs.Errors.Where(e => e.Contains("Session", StringComparison.Ordinal) || e.Contains("sweep", StringComparison.OrdinalIgnoreCase) || e.Contains("offline", StringComparison.Ordinal))));

            Assert.Equal(sessionId, await SessionIdAsync(monitor));
            Assert.True(gap < 2000, $"the video stopped for {gap:0} ms");
            await Assertions.Expect(kiosk.Locator("#crew-list")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("C1.*C2|C2.*C1"));
            await Assertions.Expect(monitor.Locator("tr[data-kiosk='KIOSK_01'] td").First).ToHaveTextAsync("Online");
            await Assertions.Expect(kiosk.Locator("#viewer")).ToHaveTextAsync("Being viewed by MONITOR_01");
            await Assertions.Expect(monitor.Locator("#timeline")).Not.ToContainTextAsync("session ended");
            Assert.True(_browser.ScriptErrors.Count == 0, string.Join("\n", _browser.ScriptErrors));
        }
        finally
        {
            if (_stack is not null)
            {
                await _stack.DisposeAsync();
                _stack = null;
            }
            await azurite.DisposeAsync();
        }
    }
}
