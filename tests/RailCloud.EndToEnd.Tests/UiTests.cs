using System.Text.Json;
using Microsoft.Playwright;

namespace RailCloud.EndToEnd.Tests;

/// <summary>
/// The kiosk page and the monitor dashboard in real Chromium with a fake camera, against the whole local stack
/// (emulator, API, Azurite, coturn), used the way a person would: typing, clicking, reading the screen.
/// </summary>
public sealed class UiTests : IAsyncLifetime
{
    private CoturnServer _turn = null!;
    private RailCloudStack _stack = null!;
    private Browser _browser = null!;

    public async Task InitializeAsync()
    {
        _turn = await CoturnServer.StartAsync();
        _stack = await RailCloudStack.StartAsync(_turn.Settings);
        foreach (var (id, role) in new[] { ("KIOSK_01", Roles.Kiosk), ("KIOSK_02", Roles.Kiosk), ("MONITOR_01", Roles.Monitor), ("MONITOR_02", Roles.Monitor) })
        {
            await _stack.CreateAccountAsync(id, role);
        }
        _browser = await Browser.LaunchAsync();
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        await _stack.DisposeAsync();
        await _turn.DisposeAsync();
    }

    private async Task<IPage> KioskAsync(string id)
    {
        var page = await _browser.NewPageAsync(_stack.BaseUri);
        await page.GotoAsync("/kiosk");
        await Browser.SignInAsync(page, "Kiosk id", id, RailCloudStack.Password, "Online");
        return page;
    }

    private async Task<IPage> MonitorAsync(string id, bool relayOnly = false)
    {
        var page = await _browser.NewPageAsync(_stack.BaseUri);
        await page.GotoAsync(relayOnly ? "/monitor?relay=1" : "/monitor");
        await Browser.SignInAsync(page, "Monitor id", id, RailCloudStack.Password, "Connected");
        return page;
    }

    private static ILocator StartButton(IPage monitor, string kioskId) =>
        monitor.GetByRole(AriaRole.Button, new() { Name = $"Start monitoring {kioskId}" });

    /// <summary>The tile's live numbers, from the page's own stats overlay (getStats).</summary>
    private static async Task<JsonElement> TileAsync(IPage monitor, string kioskId) =>
        (await monitor.EvaluateAsync<JsonElement>("() => window.railcloudTiles()")).GetProperty(kioskId);

    private static async Task<JsonElement> WaitForVideoAsync(IPage monitor, string kioskId)
    {
        await monitor.WaitForFunctionAsync(
            "id => { const t = window.railcloudTiles()[id]; return t && t.framesDecoded > 0 && t.width > 0; }", kioskId,
            new() { Timeout = 30_000, PollingInterval = 250 });
        return await TileAsync(monitor, kioskId);
    }

    private async Task ScreenshotAsync(IPage page, string name) =>
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ArtifactsFolder, name + ".png"), FullPage = true });

    [Fact]
    public async Task AMonitorSeesTheKioskComeOnlineAndWatchesLiveVideoUntilStopped()
    {
        var monitor = await MonitorAsync("MONITOR_01");
        var kiosk = await KioskAsync("KIOSK_01");
        await Assertions.Expect(monitor.Locator("tr[data-kiosk='KIOSK_01'] td").First).ToHaveTextAsync("Online", new() { Timeout = 10_000 });

        await StartButton(monitor, "KIOSK_01").ClickAsync();
        var tile = await WaitForVideoAsync(monitor, "KIOSK_01");
        await Assertions.Expect(kiosk.Locator("#viewer")).ToHaveTextAsync("Being viewed by MONITOR_01");
        await monitor.WaitForTimeoutAsync(1500); // let the stats overlay fill in for the screenshot
        await ScreenshotAsync(monitor, "monitor");
        await ScreenshotAsync(kiosk, "kiosk");

        Assert.Equal("connected", tile.GetProperty("state").GetString());
        Assert.True(tile.GetProperty("framesDecoded").GetInt32() > 0);
        Assert.True(tile.GetProperty("width").GetInt32() > 0 && tile.GetProperty("height").GetInt32() > 0);
        Assert.True(await monitor.Locator(".tile[data-kiosk='KIOSK_01'] video").EvaluateAsync<bool>("v => v.videoWidth > 0 && !v.paused"));

        await monitor.GetByRole(AriaRole.Button, new() { Name = "Stop monitoring KIOSK_01" }).ClickAsync();
        await Assertions.Expect(monitor.Locator(".tile[data-kiosk='KIOSK_01']")).ToHaveCountAsync(0);
        await Assertions.Expect(kiosk.Locator("#viewer")).ToHaveTextAsync("Not being viewed");
        Assert.True(_browser.ConsoleErrors.Count == 0, string.Join("\n", _browser.ConsoleErrors));
    }

    [Fact]
    public async Task WithRelayOnlyIceTheVideoGoesThroughCoturn()
    {
        var kiosk = await KioskAsync("KIOSK_01");
        var monitor = await MonitorAsync("MONITOR_01", relayOnly: true);
        await StartButton(monitor, "KIOSK_01").ClickAsync();

        JsonElement tile;
        try
        {
            tile = await WaitForVideoAsync(monitor, "KIOSK_01");
        }
        catch (TimeoutException)
        {
            throw new Xunit.Sdk.XunitException($"No relayed video. Tile: {await TileAsync(monitor, "KIOSK_01")}\ncoturn:\n{string.Join("\n", _turn.Log.TakeLast(60))}");
        }
        await monitor.WaitForFunctionAsync("() => window.railcloudTiles().KIOSK_01.path !== '–'", null, new() { Timeout = 10_000 });
        tile = await TileAsync(monitor, "KIOSK_01");

        Assert.Equal("relay", tile.GetProperty("path").GetString());
        Assert.True(tile.GetProperty("framesDecoded").GetInt32() > 0);
        Assert.True(_browser.ConsoleErrors.Count == 0, string.Join("\n", _browser.ConsoleErrors));
    }

    [Fact]
    public async Task ASecondMonitorSeesWhoIsWatchingAndCannotStartABusyKiosk()
    {
        var kiosk = await KioskAsync("KIOSK_01");
        var first = await MonitorAsync("MONITOR_01");
        await StartButton(first, "KIOSK_01").ClickAsync();
        await WaitForVideoAsync(first, "KIOSK_01");
        var second = await MonitorAsync("MONITOR_02");

        // Start would be refused, so the second monitor's list says who is watching instead, and there is no tile.
        await Assertions.Expect(StartButton(second, "KIOSK_01")).ToBeDisabledAsync();
        await Assertions.Expect(StartButton(second, "KIOSK_01")).ToHaveTextAsync("Watched by MONITOR_01");
        await Assertions.Expect(second.Locator("tr[data-kiosk='KIOSK_01']")).ToContainTextAsync("MONITOR_01");
        await Assertions.Expect(second.Locator(".tile")).ToHaveCountAsync(0);
        Assert.True(_browser.ConsoleErrors.Count == 0, string.Join("\n", _browser.ConsoleErrors));
    }

    [Fact]
    public async Task AKioskThatNeverAnswersIsNamedOnItsTileWithTryAgain()
    {
        // A kiosk that is online (it registered and heartbeats) but never answers an offer: a hung kiosk app.
        await using var silent = await _stack.ConnectAsync("KIOSK_02");
        var monitor = await MonitorAsync("MONITOR_01");
        await StartButton(monitor, "KIOSK_02").ClickAsync();

        var tile = monitor.Locator(".tile[data-kiosk='KIOSK_02']");
        await Assertions.Expect(tile.Locator(".tile-message")).ToContainTextAsync("KIOSK_02 is not answering.", new() { Timeout = 30_000 });
        await Assertions.Expect(tile).ToHaveAttributeAsync("data-state", "not-answering");
        var firstSession = (await TileAsync(monitor, "KIOSK_02")).GetProperty("sessionId").GetString();
        await tile.GetByRole(AriaRole.Button, new() { Name = "Try again" }).ClickAsync();
        await monitor.WaitForFunctionAsync("s => { const t = window.railcloudTiles().KIOSK_02; return t && t.sessionId && t.sessionId !== s; }", firstSession, new() { Timeout = 15_000 });

        Assert.True(_browser.ConsoleErrors.Count == 0, string.Join("\n", _browser.ConsoleErrors));
    }

    [Fact]
    public async Task ClosingTheKioskPageTellsTheMonitorTileAndTheVideoComesBackWithTheKiosk()
    {
        var kiosk = await KioskAsync("KIOSK_01");
        var monitor = await MonitorAsync("MONITOR_01");
        await StartButton(monitor, "KIOSK_01").ClickAsync();
        var before = await WaitForVideoAsync(monitor, "KIOSK_01");

        await kiosk.Context.CloseAsync();

        await Assertions.Expect(monitor.Locator(".tile[data-kiosk='KIOSK_01'] .tile-message")).ToContainTextAsync("the kiosk disconnected", new() { Timeout = 20_000 });
        await Assertions.Expect(monitor.Locator("tr[data-kiosk='KIOSK_01'] td").First).ToHaveTextAsync("Offline");

        // The kiosk restarts (a new page signs in); the monitor's tile picks it up again by itself.
        await KioskAsync("KIOSK_01");
        await monitor.WaitForFunctionAsync("s => { const t = window.railcloudTiles().KIOSK_01; return t.sessionId && t.sessionId !== s && t.framesDecoded > 0; }",
            before.GetProperty("sessionId").GetString(), new() { Timeout = 30_000, PollingInterval = 250 });
        Assert.True(_browser.ConsoleErrors.Count == 0, string.Join("\n", _browser.ConsoleErrors));
    }

    [Fact]
    public async Task CrewSignOnAtTheKioskShowsOnTheMonitorsTimeline()
    {
        var monitor = await MonitorAsync("MONITOR_01");
        var kiosk = await KioskAsync("KIOSK_02");

        await kiosk.GetByLabel("Crew id").FillAsync("C1234");
        await kiosk.GetByLabel("Name (optional)").FillAsync("Ada Lovelace");
        await kiosk.GetByRole(AriaRole.Button, new() { Name = "Sign on" }).ClickAsync();

        await Assertions.Expect(monitor.Locator("#timeline")).ToContainTextAsync("KIOSK_02: crew C1234 (Ada Lovelace) signed on");
        await Assertions.Expect(monitor.Locator("tr[data-kiosk='KIOSK_02']")).ToContainTextAsync("C1234 (Ada Lovelace)");
        await Assertions.Expect(kiosk.Locator("#crew-list")).ToContainTextAsync("C1234 – Ada Lovelace");
    }

    [Fact]
    public async Task AReloadedKioskPageShowsTheCrewOnDutyThatTheDashboardShows()
    {
        var monitor = await MonitorAsync("MONITOR_02");
        var kiosk = await KioskAsync("KIOSK_02");
        await kiosk.GetByLabel("Crew id").FillAsync("C777");
        await kiosk.GetByLabel("Name (optional)").FillAsync("Katherine Johnson");
        await kiosk.GetByRole(AriaRole.Button, new() { Name = "Sign on" }).ClickAsync();
        await Assertions.Expect(monitor.Locator("tr[data-kiosk='KIOSK_02']")).ToContainTextAsync("C777 (Katherine Johnson)");

        await kiosk.ReloadAsync();
        await Browser.SignInAsync(kiosk, "Kiosk id", "KIOSK_02", RailCloudStack.Password, "Online");

        await Assertions.Expect(kiosk.Locator("#crew-list")).ToContainTextAsync("C777 – Katherine Johnson");
        await Assertions.Expect(kiosk.Locator("#crew-empty")).ToBeHiddenAsync();
        await kiosk.GetByLabel("Crew id").FillAsync("C777");
        await kiosk.GetByRole(AriaRole.Button, new() { Name = "Sign off" }).ClickAsync();
        await Assertions.Expect(monitor.Locator("tr[data-kiosk='KIOSK_02']")).Not.ToContainTextAsync("C777");
    }

    [Fact]
    public async Task AFreshPageAsksToSignInAndSigningOutEndsTheWatchingAndShowsTheFormAgain()
    {
        var fresh = await _browser.NewPageAsync(_stack.BaseUri);
        await fresh.GotoAsync("/monitor");
        await Assertions.Expect(fresh.Locator("#status")).ToHaveTextAsync("Not signed in");
        await Assertions.Expect(fresh.GetByRole(AriaRole.Button, new() { Name = "Sign out" })).ToBeHiddenAsync();

        var kiosk = await KioskAsync("KIOSK_01");
        var monitor = await MonitorAsync("MONITOR_01");
        await StartButton(monitor, "KIOSK_01").ClickAsync();
        await WaitForVideoAsync(monitor, "KIOSK_01");
        await Assertions.Expect(kiosk.Locator("#viewer")).ToHaveTextAsync("Being viewed by MONITOR_01");

        await monitor.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();

        await Assertions.Expect(monitor.Locator("#status")).ToHaveTextAsync("Signed out");
        await Assertions.Expect(monitor.Locator("#sign-in")).ToBeVisibleAsync();
        await Assertions.Expect(monitor.Locator("#grid .tile")).ToHaveCountAsync(0);
        await Assertions.Expect(kiosk.Locator("#viewer")).ToHaveTextAsync("Not being viewed", new() { Timeout = 15_000 });

        await kiosk.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Assertions.Expect(kiosk.Locator("#status")).ToHaveTextAsync("Signed out");
        await Assertions.Expect(kiosk.Locator("#sign-in")).ToBeVisibleAsync();
        Assert.True(_browser.ConsoleErrors.Count == 0, string.Join("\n", _browser.ConsoleErrors));
    }

    [Fact]
    public async Task AKioskWhoseCameraIsDeniedSaysSoAndTheMonitorsTileSaysItHasNoCamera()
    {
        var kiosk = await _browser.NewPageAsync(_stack.BaseUri);
        // As when the person at the kiosk (or its policy) refuses the camera.
        await kiosk.AddInitScriptAsync("navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));");
        await kiosk.GotoAsync("/kiosk");
        await Browser.SignInAsync(kiosk, "Kiosk id", "KIOSK_02", RailCloudStack.Password, "Online – no camera");
        await Assertions.Expect(kiosk.Locator("#camera-warning")).ToHaveTextAsync("No camera: access to the camera was denied. Monitors will see that this kiosk sends no video.");
        var monitor = await MonitorAsync("MONITOR_02");

        await StartButton(monitor, "KIOSK_02").ClickAsync();

        var tile = monitor.Locator(".tile[data-kiosk='KIOSK_02']");
        await Assertions.Expect(tile.Locator(".tile-message")).ToHaveTextAsync("KIOSK_02 has no camera (it is missing or access to it was denied).", new() { Timeout = 15_000 });
        await Assertions.Expect(tile).ToHaveAttributeAsync("data-state", "no-camera");
        await monitor.WaitForTimeoutAsync(4000);   // longer than the frozen-video warning would take
        await Assertions.Expect(tile).ToHaveAttributeAsync("data-state", "no-camera");
    }

    [Fact]
    public async Task SmallThingsSayWhatHappened()
    {
        // A crew sign-on before the kiosk is signed in is not silently dropped.
        var kiosk = await _browser.NewPageAsync(_stack.BaseUri);
        await kiosk.GotoAsync("/kiosk");
        await kiosk.GetByLabel("Crew id").FillAsync("C5");
        await kiosk.GetByRole(AriaRole.Button, new() { Name = "Sign on" }).ClickAsync();
        await Assertions.Expect(kiosk.Locator("#timeline")).ToContainTextAsync("Sign in first: crew sign-on and sign-off need the kiosk to be signed in.");

        // A double click on Start starts one session, logged once.
        await Browser.SignInAsync(kiosk, "Kiosk id", "KIOSK_01", RailCloudStack.Password, "Online");
        var monitor = await MonitorAsync("MONITOR_01");
        await StartButton(monitor, "KIOSK_01").DblClickAsync();
        await WaitForVideoAsync(monitor, "KIOSK_01");
        await monitor.WaitForTimeoutAsync(1000);
        Assert.Equal(1, await monitor.Locator("#timeline li", new() { HasTextString = "Watching KIOSK_01" }).CountAsync());

        // Changing "Relay only" says it applies to the next start.
        await monitor.GetByLabel("Relay only (TURN)").CheckAsync();
        await Assertions.Expect(monitor.Locator("#timeline")).ToContainTextAsync("Relay only is on for tiles started from now on");
    }

    [Fact]
    public async Task WhenFramesStopTheTileWarnsThatTheVideoFroze()
    {
        var kiosk = await KioskAsync("KIOSK_01");
        var monitor = await MonitorAsync("MONITOR_01");
        await StartButton(monitor, "KIOSK_01").ClickAsync();
        await WaitForVideoAsync(monitor, "KIOSK_01");

        // The camera dies at the kiosk (unplugged, say): the connection stays up but no frames come.
        await kiosk.EvaluateAsync("() => document.querySelector('#preview').srcObject.getVideoTracks().forEach(t => t.stop())");

        await Assertions.Expect(monitor.Locator(".tile[data-kiosk='KIOSK_01'] .tile-message")).ToContainTextAsync("Video has frozen", new() { Timeout = 15_000 });
        await Assertions.Expect(monitor.Locator(".tile[data-kiosk='KIOSK_01']")).ToHaveAttributeAsync("data-state", "frozen");
    }

    [Fact]
    public async Task TheDashboardCanBeUsedWithTheKeyboardAlone()
    {
        await KioskAsync("KIOSK_01");
        var monitor = await _browser.NewPageAsync(_stack.BaseUri);
        await monitor.GotoAsync("/monitor");

        await monitor.GetByLabel("Monitor id").FocusAsync();
        await monitor.Keyboard.TypeAsync("MONITOR_01");
        await monitor.Keyboard.PressAsync("Tab");
        await monitor.Keyboard.TypeAsync(RailCloudStack.Password);
        await monitor.Keyboard.PressAsync("Enter");
        await Assertions.Expect(monitor.Locator("#status")).ToHaveTextAsync("Connected", new() { Timeout = 15_000 });
        await StartButton(monitor, "KIOSK_01").FocusAsync();
        await monitor.Keyboard.PressAsync("Enter");

        await WaitForVideoAsync(monitor, "KIOSK_01");
        Assert.True(_browser.ConsoleErrors.Count == 0, string.Join("\n", _browser.ConsoleErrors));
    }

    [Fact]
    public async Task TwoKiosksPlayTogetherInOneMonitorGrid()
    {
        await KioskAsync("KIOSK_01");
        await KioskAsync("KIOSK_02");
        var monitor = await MonitorAsync("MONITOR_01");

        await StartButton(monitor, "KIOSK_01").ClickAsync();
        await StartButton(monitor, "KIOSK_02").ClickAsync();
        var one = await WaitForVideoAsync(monitor, "KIOSK_01");
        var two = await WaitForVideoAsync(monitor, "KIOSK_02");

        Assert.NotEqual(one.GetProperty("sessionId").GetString(), two.GetProperty("sessionId").GetString());
        Assert.True(one.GetProperty("framesDecoded").GetInt32() > 0 && two.GetProperty("framesDecoded").GetInt32() > 0);
        Assert.True(_browser.ConsoleErrors.Count == 0, string.Join("\n", _browser.ConsoleErrors));
    }
}
