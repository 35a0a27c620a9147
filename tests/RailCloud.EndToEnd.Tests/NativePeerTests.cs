using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace RailCloud.EndToEnd.Tests;

/// <summary>
/// The native peers against the whole local stack and coturn: the kiosk agent (<c>railcloud kiosk</c>, GStreamer,
/// the test pattern) streaming to the dashboard in Chromium and to <c>railcloud probe</c>; the kiosk page in Chromium
/// streaming to the probe; and the agent coming back by itself after the emulator, the API and its socket go away.
/// ICE is kept to 127.0.0.1 (Chromium is started with --allow-loopback-in-peer-connection).
/// </summary>
public sealed class NativePeerTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(45);
    private CoturnServer _turn = null!;
    private RailCloudStack _stack = null!;
    private Browser? _browser;
    private readonly List<RailcloudCommand> _agents = [];

    public async Task InitializeAsync()
    {
        _turn = await CoturnServer.StartAsync();
        _stack = await RailCloudStack.StartAsync(_turn.Settings);
        foreach (var (id, role) in new[] { ("KIOSK_01", Roles.Kiosk), ("KIOSK_02", Roles.Kiosk), ("MONITOR_01", Roles.Monitor), ("MONITOR_02", Roles.Monitor) })
        {
            await _stack.CreateAccountAsync(id, role);
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var agent in _agents)
        {
            agent.Dispose();
        }
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }
        await _stack.DisposeAsync();
        await _turn.DisposeAsync();
    }

    private string[] Api => ["--api", _stack.BaseUri.ToString()];

    /// <summary>The kiosk agent with the test pattern, online.</summary>
    private async Task<RailcloudCommand> AgentAsync(string kioskId = "KIOSK_01")
    {
        var agent = new RailcloudCommand(["kiosk", "--id", kioskId, "--password", RailCloudStack.Password, "--test-pattern", "--local-address", "127.0.0.1", .. Api]);
        _agents.Add(agent);
        await agent.WaitForOutputAsync($"{kioskId} is online", Wait);
        return agent;
    }

    private Task<(int ExitCode, string Output)> ProbeAsync(string kioskId, params string[] more) =>
        RailcloudCommand.RunAsync(["probe", kioskId, "--id", "MONITOR_02", "--password", RailCloudStack.Password, "--duration", "3s", "--local-address", "127.0.0.1", .. more, .. Api], TimeSpan.FromMinutes(1));

    private async Task<IPage> PageAsync(string path, string label, string id, string status)
    {
        _browser ??= await Browser.LaunchAsync();
        var page = await _browser.NewPageAsync(_stack.BaseUri);
        await page.GotoAsync(path);
        await Browser.SignInAsync(page, label, id, RailCloudStack.Password, status);
        return page;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TheKioskAgentStreamsToTheDashboardDirectAndThroughTurn(bool relayOnly)
    {
        var agent = await AgentAsync();
        var monitor = await PageAsync(relayOnly ? "/monitor?relay=1" : "/monitor", "Monitor id", "MONITOR_01", "Connected");

        await monitor.GetByRole(AriaRole.Button, new() { Name = "Start monitoring KIOSK_01" }).ClickAsync();
        try
        {
            await monitor.WaitForFunctionAsync("() => { const t = window.railcloudTiles().KIOSK_01; return t && t.framesDecoded > 15 && t.codec !== '–' && t.path !== '–'; }", null,
                new() { Timeout = 45_000, PollingInterval = 250 });
        }
        catch (TimeoutException)
        {
            var tile = await monitor.EvaluateAsync<JsonElement>("() => window.railcloudTiles().KIOSK_01");
            throw new Xunit.Sdk.XunitException($"No video in the dashboard. Tile: {tile}\nAgent:\n{agent.Output}");
        }
        var shown = await monitor.EvaluateAsync<JsonElement>("() => window.railcloudTiles().KIOSK_01");

        Assert.Equal("VP8", shown.GetProperty("codec").GetString());
        Assert.Equal(relayOnly ? "relay" : "host", shown.GetProperty("path").GetString());
        Assert.Equal((640, 360), (shown.GetProperty("width").GetInt32(), shown.GetProperty("height").GetInt32()));
        await Assertions.Expect(monitor.Locator(".tile[data-kiosk='KIOSK_01'] .badge")).ToContainTextAsync("VP8");
        Assert.Contains("Answered MONITOR_01's offer with test pattern", agent.Output);
    }

    [Fact]
    public async Task TheKioskPageStreamsToTheProbeWhenBothOnlyRelayThroughTurn()
    {
        // Both behind NATs that only TURN gets through: the browser must accept the probe's relayed candidate to open
        // a permission for it, which it refused while the probe named its m-line "0" instead of webrtcbin's "video0".
        _browser ??= await Browser.LaunchAsync();
        var kiosk = await _browser.NewPageAsync(_stack.BaseUri);
        await kiosk.AddInitScriptAsync("""
            (() => {
              const Native = window.RTCPeerConnection;
              window.RTCPeerConnection = class extends Native { constructor(config) { super({ ...(config ?? {}), iceTransportPolicy: "relay" }); } };
            })();
            """);
        await kiosk.GotoAsync("/kiosk");
        await Browser.SignInAsync(kiosk, "Kiosk id", "KIOSK_01", RailCloudStack.Password, "Online");

        var probed = await ProbeAsync("KIOSK_01", "--relay-only");

        Assert.True(probed.ExitCode == 0, probed.Output);
        Assert.Matches(@"KIOSK_01: video flows\..* VP8; path relay;", probed.Output);
    }

    [Fact]
    public async Task TheKioskPageStreamsToTheProbeWhichSavesASnapshotAndNamesBusyAndOfflineKiosks()
    {
        var kiosk = await PageAsync("/kiosk", "Kiosk id", "KIOSK_01", "Online");
        var snapshot = Path.Combine(Path.GetTempPath(), $"railcloud-probe-{Guid.NewGuid():N}.jpg");
        try
        {
            var probed = await ProbeAsync("KIOSK_01", "--snapshot", snapshot);
            var bytes = await File.ReadAllBytesAsync(snapshot);
            var monitor = await PageAsync("/monitor", "Monitor id", "MONITOR_01", "Connected");
            await monitor.GetByRole(AriaRole.Button, new() { Name = "Start monitoring KIOSK_01" }).ClickAsync();
            await Assertions.Expect(kiosk.Locator("#viewer")).ToHaveTextAsync("Being viewed by MONITOR_01", new() { Timeout = 15_000 });
            var busy = await ProbeAsync("KIOSK_01");
            var offline = await ProbeAsync("KIOSK_02");

            Assert.True(probed.ExitCode == 0, probed.Output);
            Assert.Matches(@"KIOSK_01: video flows\. First frame [0-9.]+ s after the start; [0-9.]+ frames/s \([0-9]+ frames\); [0-9]+×[0-9]+ VP8; path host", probed.Output);
            Assert.True(bytes.Length > 1000 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[^2] == 0xFF && bytes[^1] == 0xD9, $"not a whole JPEG ({bytes.Length} bytes)");
            Assert.Equal(4, busy.ExitCode);
            Assert.Contains("KIOSK_01: busy", busy.Output);
            Assert.Contains("MONITOR_01", busy.Output);
            Assert.Equal(3, offline.ExitCode);
            Assert.Contains("KIOSK_02: offline", offline.Output);
        }
        finally
        {
            File.Delete(snapshot);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TheKioskAgentStreamsToTheProbeWithNoBrowserAtAll(bool relayOnly)
    {
        await AgentAsync();

        var probed = await ProbeAsync("KIOSK_01", relayOnly ? ["--relay-only"] : []);

        Assert.True(probed.ExitCode == 0, probed.Output);
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(probed.Output, $@"KIOSK_01: video flows\..* 640×360 VP8; path {(relayOnly ? "relay" : "host")};"), probed.Output);
    }

    [Fact]
    public async Task TheKioskAgentComesBackByItselfAfterTheEmulatorTheApiAndItsConnectionGoAway()
    {
        var agent = await AgentAsync();
        Assert.Equal(0, (await ProbeAsync("KIOSK_01")).ExitCode);

        // The emulator restarted: every socket cut at once, and a new service that knows no connection.
        var mark = agent.Output.Length;
        await _stack.RestartEmulatorAsync(TimeSpan.FromSeconds(2));
        await agent.WaitForOutputAsync("KIOSK_01 is online", Wait, mark);
        var afterEmulator = await ProbeAsync("KIOSK_01");

        // The API restarted (a crash: nothing drained).
        mark = agent.Output.Length;
        await _stack.StopApiAsync();
        await Task.Delay(TimeSpan.FromSeconds(3));
        await _stack.StartApiAsync();
        var afterApi = await ProbeAsync("KIOSK_01");

        // Its connection closed by the service.
        mark = agent.Output.Length;
        var connectionId = System.Text.RegularExpressions.Regex.Matches(agent.Output, @"KIOSK_01 is online \(connection ([^)]+)\)")[^1].Groups[1].Value;
        await _stack.Services.GetRequiredService<RailCloud.WebPubSub.WebPubSubServiceClient>().CloseConnectionAsync(connectionId, "cut by the test");
        await agent.WaitForOutputAsync("KIOSK_01 is online", Wait, mark);
        var afterCut = await ProbeAsync("KIOSK_01");

        Assert.True(afterEmulator.ExitCode == 0, afterEmulator.Output + "\nAgent:\n" + agent.Output);
        Assert.True(afterApi.ExitCode == 0, afterApi.Output + "\nAgent:\n" + agent.Output);
        Assert.True(afterCut.ExitCode == 0, afterCut.Output + "\nAgent:\n" + agent.Output);
        Assert.False(agent.Process.HasExited);
    }
}
