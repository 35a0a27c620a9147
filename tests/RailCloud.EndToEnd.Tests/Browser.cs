using Microsoft.Playwright;

namespace RailCloud.EndToEnd.Tests;

/// <summary>Debian's Chromium driven by Playwright, with a fake camera, and pages that fail a test on any console error.</summary>
public sealed class Browser : IAsyncDisposable
{
    public const string ChromiumPath = "/usr/bin/chromium";

    private readonly IPlaywright _playwright;
    private readonly List<string> _consoleErrors = [];

    private Browser(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        Chromium = browser;
    }

    public IBrowser Chromium { get; }

    /// <summary>
    /// Uncaught errors and console errors other than the browser's own reports of failed requests and WebSocket
    /// handshakes (expected while a drill has RailCloud down).
    /// </summary>
    public IReadOnlyList<string> ScriptErrors
    {
        get
        {
            lock (_consoleErrors)
            {
                return [.. _consoleErrors.Where(e => !e.Contains("Failed to load resource", StringComparison.Ordinal)
                    && !(e.Contains("WebSocket connection to", StringComparison.Ordinal) && e.Contains("failed", StringComparison.Ordinal)))];
            }
        }
    }

    public IReadOnlyList<string> ConsoleErrors
    {
        get { lock (_consoleErrors) return [.. _consoleErrors]; }
    }

    public static string ArtifactsFolder { get; } = Directory.CreateDirectory(Path.Combine(RepoPaths.Root, ".artifacts", "screenshots")).FullName;

    public static async Task<Browser> LaunchAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException("Chromium is not installed (apt-get install chromium); the README's test command installs it.");
        }
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = ChromiumPath, Headless = true, Args = ChromiumArgs });
        return new Browser(playwright, browser);
    }

    private static readonly string[] ChromiumArgs =
    [
        "--no-sandbox", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-gpu",
        "--autoplay-policy=no-user-gesture-required",
        // Everything in the tests is on 127.0.0.1 (coturn included); Chromium leaves loopback out of WebRTC unless told.
        "--allow-loopback-in-peer-connection",
    ];

    /// <summary>
    /// Chromium on a profile folder of its own that outlives the browser, as a kiosk's browser keeps its profile across
    /// restarts and power cuts. Dispose both to close the browser.
    /// </summary>
    public static async Task<(IPlaywright Playwright, IBrowserContext Context)> LaunchWithProfileAsync(string profile, Uri baseUri)
    {
        var playwright = await Playwright.CreateAsync();
        var context = await playwright.Chromium.LaunchPersistentContextAsync(profile, new BrowserTypeLaunchPersistentContextOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ChromiumArgs,
            BaseURL = baseUri.ToString(),
            ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
        });
        await context.GrantPermissionsAsync(["camera", "microphone"]);
        return (playwright, context);
    }

    /// <summary>
    /// A page in its own browser context (its own storage, like a separate person), watching the console of every
    /// page the context opens (sign-in popups too). <paramref name="trustSelfSignedCertificates"/> is for the local
    /// Entra stand-in's HTTPS.
    /// </summary>
    public async Task<IPage> NewPageAsync(Uri baseUri, bool trustSelfSignedCertificates = false, Action<BrowserNewContextOptions>? configure = null)
    {
        var options = new BrowserNewContextOptions
        {
            BaseURL = baseUri.ToString(),
            ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
            IgnoreHTTPSErrors = trustSelfSignedCertificates,
        };
        configure?.Invoke(options);
        var context = await Chromium.NewContextAsync(options);
        await context.GrantPermissionsAsync(["camera", "microphone"]);
        context.Page += (_, page) => Watch(page);
        return await context.NewPageAsync();
    }

    /// <summary>Signs in on a page's password form as a person would, and waits for the status the page shows once connected.</summary>
    public static async Task SignInAsync(IPage page, string idLabel, string id, string password, string connectedStatus)
    {
        await page.GetByLabel(idLabel, new() { Exact = true }).FillAsync(id);
        await page.GetByLabel("Password", new() { Exact = true }).FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync(connectedStatus, new() { Timeout = 15_000 });
    }

    private void Watch(IPage page)
    {
        page.Console += (_, message) =>
        {
            if (message.Type == "error") lock (_consoleErrors) _consoleErrors.Add($"{page.Url}: {message.Text}");
        };
        page.PageError += (_, error) => { lock (_consoleErrors) _consoleErrors.Add($"{page.Url}: {error}"); };
    }

    public async ValueTask DisposeAsync()
    {
        await Chromium.DisposeAsync();
        _playwright.Dispose();
    }
}
