using Microsoft.Playwright;

namespace RailCloud.EndToEnd.Tests;

/// <summary>
/// "Sign in with Microsoft" on the monitor page, all the way: MSAL's popup, the authorization-code flow with PKCE
/// against a local Entra ID stand-in over HTTPS, the redirect bridge page, then the API accepting the Entra access
/// token (Microsoft.Identity.Web) for negotiate and Web PubSub, and live video. Nothing may leave 127.0.0.1.
/// </summary>
public sealed class MicrosoftSignInTests : IAsyncLifetime
{
    private OidcServer _entra = null!;
    private RailCloudStack _stack = null!;
    private Browser _browser = null!;
    private readonly List<string> _offMachine = [];

    public async Task InitializeAsync()
    {
        _entra = await OidcServer.StartAsync(https: true);
        var settings = new Dictionary<string, string?>(_entra.Settings);
        foreach (var (key, value) in _entra.WebClientSettings)
        {
            settings[key] = value;
        }
        _stack = await RailCloudStack.StartAsync(settings, services: _entra.TrustIn);
        _entra.RegisteredRedirectUris.Add(new Uri(_stack.BaseUri, "/auth-redirect.html").ToString());
        await _stack.CreateAccountAsync("KIOSK_01", Roles.Kiosk);
        _browser = await Browser.LaunchAsync();
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        await _stack.DisposeAsync();
        await _entra.DisposeAsync();
    }

    private async Task<IPage> MonitorPageAsync()
    {
        var page = await _browser.NewPageAsync(_stack.BaseUri, trustSelfSignedCertificates: true);
        // MSAL would otherwise be free to ask login.microsoftonline.com for instance metadata: refuse and record.
        await page.Context.RouteAsync("**/*", async route =>
        {
            if (new Uri(route.Request.Url).Host == "127.0.0.1")
            {
                await route.ContinueAsync();
                return;
            }
            lock (_offMachine) _offMachine.Add(route.Request.Url);
            await route.AbortAsync();
        });
        await page.GotoAsync("/monitor");
        return page;
    }

    private async Task<IPage> KioskPageAsync()
    {
        var page = await _browser.NewPageAsync(_stack.BaseUri);
        await page.GotoAsync("/kiosk");
        await Browser.SignInAsync(page, "Kiosk id", "KIOSK_01", RailCloudStack.Password, "Online");
        return page;
    }

    private static async Task ClosedAsync(IPage popup)
    {
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        popup.Close += (_, _) => closed.TrySetResult();
        if (popup.IsClosed)
        {
            closed.TrySetResult();
        }
        await closed.Task.WaitAsync(TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task AMonitorSignsInWithMicrosoftAndWatchesAKiosk()
    {
        _entra.User = new OidcServer.SignedInUser("ops.person@railway.example", ["Monitor"]);
        var kiosk = await KioskPageAsync();
        var monitor = await MonitorPageAsync();

        var popup = await monitor.RunAndWaitForPopupAsync(() =>
            monitor.GetByRole(AriaRole.Button, new() { Name = "Sign in with Microsoft" }).ClickAsync());
        await ClosedAsync(popup); // the redirect bridge page closes it
        await Assertions.Expect(monitor.Locator("#status")).ToHaveTextAsync("Connected", new() { Timeout = 15_000 });
        await Assertions.Expect(monitor.Locator("#monitor-id")).ToHaveTextAsync("ops.person");
        await Assertions.Expect(monitor.Locator("#sign-in")).ToBeHiddenAsync();

        await monitor.GetByRole(AriaRole.Button, new() { Name = "Start monitoring KIOSK_01" }).ClickAsync();
        await monitor.WaitForFunctionAsync(
            "id => { const t = window.railcloudTiles()[id]; return t && t.framesDecoded > 0 && t.width > 0; }", "KIOSK_01",
            new() { Timeout = 30_000, PollingInterval = 250 });
        await Assertions.Expect(kiosk.Locator("#viewer")).ToHaveTextAsync("Being viewed by ops.person");

        Assert.Equal([new Uri(_stack.BaseUri, "/auth-redirect.html").ToString()], _entra.RequestedRedirectUris);
        Assert.Empty(_offMachine);
        Assert.True(_browser.ConsoleErrors.Count == 0, string.Join("\n", _browser.ConsoleErrors));
    }

    [Fact]
    public async Task APersonWithoutARailCloudRoleIsToldSignInFailedAndStaysSignedOut()
    {
        _entra.User = new OidcServer.SignedInUser("visitor@railway.example", []);
        var monitor = await MonitorPageAsync();

        var popup = await monitor.RunAndWaitForPopupAsync(() =>
            monitor.GetByRole(AriaRole.Button, new() { Name = "Sign in with Microsoft" }).ClickAsync());
        await ClosedAsync(popup);

        await Assertions.Expect(monitor.Locator("#sign-in-error")).ToHaveTextAsync("Microsoft sign-in failed: visitor@railway.example has no RailCloud Monitor or Supervisor role. Ask your administrator to assign one.", new() { Timeout = 15_000 });
        await Assertions.Expect(monitor.Locator("#status")).ToHaveTextAsync("Signed out");
        await Assertions.Expect(monitor.Locator("#sign-in")).ToBeVisibleAsync();
        Assert.Empty(_offMachine);
    }
}
