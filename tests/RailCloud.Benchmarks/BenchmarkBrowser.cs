using Microsoft.Playwright;
using RailCloud.Testing;

namespace RailCloud.Benchmarks;

/// <summary>Headless Debian Chromium with a fake camera, loopback WebRTC allowed, and the pages signed in by password.</summary>
public sealed class BenchmarkBrowser : IAsyncDisposable
{
    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;
    private readonly Uri _baseUri;
    private readonly string? _initScript;

    private BenchmarkBrowser(IPlaywright playwright, IBrowser browser, Uri baseUri, string? initScript) =>
        (_playwright, _browser, _baseUri, _initScript) = (playwright, browser, baseUri, initScript);

    /// <param name="initScript">Runs in every page before its own scripts (see <see cref="WanPages.RelayOnly"/>).</param>
    public static async Task<BenchmarkBrowser> LaunchAsync(Uri baseUri, string? initScript = null)
    {
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--allow-loopback-in-peer-connection",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"],
        });
        return new BenchmarkBrowser(playwright, browser, baseUri, initScript);
    }

    /// <summary>A page of its own (own context, camera allowed) at <paramref name="path"/>, signed in, showing <paramref name="expected"/>.</summary>
    public async Task<IPage> SignInAsync(string path, string label, string id, string expected)
    {
        var page = await NewPageAsync();
        await page.GotoAsync(path);
        await page.GetByLabel(label, new() { Exact = true }).FillAsync(id);
        await page.GetByLabel("Password", new() { Exact = true }).FillAsync(RailCloudStack.Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync(expected, new() { Timeout = 15_000 });
        return page;
    }

    /// <summary>A blank page at the stack's origin, for in-page baselines.</summary>
    public Task<IPage> BlankPageAsync() => NewPageAsync();

    private async Task<IPage> NewPageAsync()
    {
        var context = await _browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = _baseUri.ToString() });
        await context.GrantPermissionsAsync(["camera"]);
        if (_initScript is not null)
        {
            await context.AddInitScriptAsync(_initScript);
        }
        return await context.NewPageAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }
}
