using Microsoft.Playwright;

namespace RailCloud.EndToEnd.Tests;

/// <summary>The monitor dashboard on a phone (375 px, touch) and as a control-room wall (1920×1080, nine kiosks).</summary>
public sealed class LayoutTests : IAsyncLifetime
{
    private const int Kiosks = 9;
    private RailCloudStack _stack = null!;
    private Browser _browser = null!;

    public async Task InitializeAsync()
    {
        _stack = await RailCloudStack.StartAsync();
        for (var i = 1; i <= Kiosks; i++)
        {
            await _stack.CreateAccountAsync($"KIOSK_{i:00}", Roles.Kiosk);
        }
        await _stack.CreateAccountAsync("MONITOR_01", Roles.Monitor);
        _browser = await Browser.LaunchAsync();
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        await _stack.DisposeAsync();
    }

    private async Task<IPage> KioskAsync(string id)
    {
        var page = await _browser.NewPageAsync(_stack.BaseUri, configure: o => o.ViewportSize = new ViewportSize { Width = 480, Height = 360 });
        await page.GotoAsync("/kiosk");
        await Browser.SignInAsync(page, "Kiosk id", id, RailCloudStack.Password, "Online");
        return page;
    }

    private static async Task ScreenshotAsync(IPage page, string name) =>
        await page.ScreenshotAsync(new() { Path = Path.Combine(Browser.ArtifactsFolder, name + ".png") });

    [Fact]
    public async Task OnAPhoneAMonitorStartsAndStopsWatchingWithTaps()
    {
        await KioskAsync("KIOSK_01");
        var phone = await _browser.NewPageAsync(_stack.BaseUri, configure: o =>
        {
            o.ViewportSize = new ViewportSize { Width = 375, Height = 812 };
            o.HasTouch = true;
            o.IsMobile = true;
            o.DeviceScaleFactor = 2;
        });
        await phone.GotoAsync("/monitor");
        await Browser.SignInAsync(phone, "Monitor id", "MONITOR_01", RailCloudStack.Password, "Connected");

        var start = phone.GetByRole(AriaRole.Button, new() { Name = "Start monitoring KIOSK_01" });
        await start.TapAsync();   // a tap lands on the button itself: Playwright fails it if anything else would take it
        await phone.WaitForFunctionAsync("() => { const t = window.railcloudTiles().KIOSK_01; return t && t.framesDecoded > 0; }", null, new() { Timeout = 30_000, PollingInterval = 250 });
        var width = await phone.EvaluateAsync<int>("() => document.documentElement.scrollWidth");
        var stopBox = await phone.GetByRole(AriaRole.Button, new() { Name = "Stop monitoring KIOSK_01" }).BoundingBoxAsync();
        await ScreenshotAsync(phone, "monitor-phone");

        Assert.True(width <= 375, $"the page is {width} px wide on a 375 px screen");
        Assert.NotNull(stopBox);
        Assert.True(stopBox.X >= 0 && stopBox.X + stopBox.Width <= 375 && stopBox.Height >= 44, $"Stop is at x={stopBox.X}, {stopBox.Width}×{stopBox.Height}");
        await phone.GetByRole(AriaRole.Button, new() { Name = "Stop monitoring KIOSK_01" }).TapAsync();
        await Assertions.Expect(phone.Locator(".tile")).ToHaveCountAsync(0);
        Assert.True(_browser.ConsoleErrors.Count == 0, string.Join("\n", _browser.ConsoleErrors));
    }

    [Fact]
    public async Task AWallWatchesAllNineKiosksOnOneScreenAndComesBackToThemAfterAReload()
    {
        for (var i = 1; i <= Kiosks; i++)
        {
            await KioskAsync($"KIOSK_{i:00}");
        }
        var wall = await _browser.NewPageAsync(_stack.BaseUri, configure: o => o.ViewportSize = new ViewportSize { Width = 1920, Height = 1080 });
        await wall.GotoAsync("/monitor");
        await Browser.SignInAsync(wall, "Monitor id", "MONITOR_01", RailCloudStack.Password, "Connected");
        await wall.GetByLabel("Wall mode").CheckAsync();
        await wall.GetByLabel("Online only").CheckAsync();
        await wall.Locator("#kiosk-list > summary").ClickAsync();   // fold the list away: video first

        await wall.GetByRole(AriaRole.Button, new() { Name = "Watch all online kiosks" }).ClickAsync();
        await AllNinePresentFramesOnOneScreenAsync(wall);
        await ScreenshotAsync(wall, "monitor-wall");

        // A reload (a power cut, a browser update): after signing in, the same nine start by themselves.
        await wall.ReloadAsync();
        await Browser.SignInAsync(wall, "Monitor id", "MONITOR_01", RailCloudStack.Password, "Connected");
        await AllNinePresentFramesOnOneScreenAsync(wall);

        Assert.True(await wall.Locator("body").EvaluateAsync<bool>("b => b.classList.contains('wall')"));
        Assert.True(await wall.GetByLabel("Online only").IsCheckedAsync());
        Assert.True(_browser.ConsoleErrors.Count == 0, string.Join("\n", _browser.ConsoleErrors));
    }

    private static async Task AllNinePresentFramesOnOneScreenAsync(IPage wall)
    {
        try
        {
            await wall.WaitForFunctionAsync(
                "n => { const t = Object.values(window.railcloudTiles()); return t.length === n && t.every((x) => x.framesDecoded > 0 && x.state === 'connected'); }",
                Kiosks, new() { Timeout = 90_000, PollingInterval = 500 });
        }
        catch (TimeoutException)
        {
            throw new Xunit.Sdk.XunitException($"Not all nine tiles have video.\nTiles: {await wall.EvaluateAsync<System.Text.Json.JsonElement>("() => window.railcloudTiles()")}\nEvents: {await wall.Locator("#timeline").InnerTextAsync()}");
        }
        // Frames keep coming on every tile (requestVideoFrameCallback), and every tile is inside the screen without scrolling.
        var result = await wall.EvaluateAsync<System.Text.Json.JsonElement>("""
            async () => {
              const videos = [...document.querySelectorAll('.tile video')];
              const counts = await Promise.all(videos.map((v) => new Promise((resolve) => {
                let n = 0;
                const onFrame = () => { n++; if (n < 3) v.requestVideoFrameCallback(onFrame); else resolve(n); };
                v.requestVideoFrameCallback(onFrame);
                setTimeout(() => resolve(n), 5000);
              })));
              const inside = [...document.querySelectorAll('.tile')].every((t) => { const r = t.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight && r.right <= innerWidth; });
              return { counts, inside, scroll: document.documentElement.scrollHeight - innerHeight };
            }
            """);
        Assert.All(result.GetProperty("counts").EnumerateArray(), c => Assert.True(c.GetInt32() >= 3, $"a tile presented {c.GetInt32()} frames in 5 s"));
        Assert.True(result.GetProperty("inside").GetBoolean(), "a tile is outside the screen");
        Assert.True(result.GetProperty("scroll").GetInt32() <= 0, $"the wall scrolls by {result.GetProperty("scroll").GetInt32()} px");
    }
}
