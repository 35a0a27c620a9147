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

    private async Task<IPage> SignedInWithMicrosoftAsync()
    {
        var monitor = await MonitorPageAsync();
        var popup = await monitor.RunAndWaitForPopupAsync(() =>
            monitor.GetByRole(AriaRole.Button, new() { Name = "Sign in with Microsoft" }).ClickAsync());
        await ClosedAsync(popup);
        await Assertions.Expect(monitor.Locator("#status")).ToHaveTextAsync("Connected", new() { Timeout = 15_000 });
        return monitor;
    }

    [Fact]
    public async Task AWallWhoseRefreshTokenExpiredRenewsSilentlyThroughTheHiddenFrame()
    {
        // A day on the wall: the single-page app's refresh token has expired, so MSAL renews in a hidden frame that goes
        // to Entra ID (prompt=none) and comes back to auth-redirect.html, which must let this site frame it.
        _entra.User = new OidcServer.SignedInUser("wall.screen@railway.example", ["Monitor"]);
        _entra.AccessTokenLifetime = TimeSpan.FromMinutes(2);   // inside MSAL's renewal margin: every token it is asked for is renewed
        var monitor = await SignedInWithMicrosoftAsync();

        _entra.RefreshTokensExpired = true;
        // The kiosk list refreshes every 10 s, asking MSAL for a token each time; a frame that cannot come back times out
        // after 10 s and the page asks for a sign-in instead.
        var renew = monitor.Locator("#renew-sign-in");
        await Waiting.UntilAsync(() => _entra.SilentSignInsCompleted > 0 || (_entra.SilentAuthorizeRequests > 0 && renew.IsVisibleAsync().Result), TimeSpan.FromSeconds(60));

        Assert.True(_entra.SilentSignInsCompleted > 0, "the hidden frame's sign-in never finished:\n" + string.Join("\n", _browser.ConsoleErrors));
        await Assertions.Expect(monitor.Locator("#renew-sign-in")).ToBeHiddenAsync();
        await Assertions.Expect(monitor.Locator("#status")).ToHaveTextAsync("Connected");
        await Assertions.Expect(monitor.Locator("#sign-in")).ToBeHiddenAsync();
        Assert.Empty(_offMachine);
        // The one error the browser may log is the token endpoint's 400 for the expired refresh token, which made MSAL use the frame.
        var errors = _browser.ConsoleErrors.Where(e => !e.EndsWith("Failed to load resource: the server responded with a status of 400 ()", StringComparison.Ordinal)).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Fact]
    public async Task WhenSilentRenewalTimesOutTheWallAsksForASignInAndGoesOnAfterIt()
    {
        _entra.User = new OidcServer.SignedInUser("wall.screen@railway.example", ["Monitor"]);
        _entra.AccessTokenLifetime = TimeSpan.FromMinutes(2);
        var monitor = await SignedInWithMicrosoftAsync();

        // The hidden frame never comes back: MSAL gives up after 10 s with "timed_out", which is not InteractionRequiredAuthError.
        _entra.RefreshTokensExpired = true;
        _entra.SilentSignInComesBack = false;
        await Assertions.Expect(monitor.Locator("#renew-sign-in")).ToBeVisibleAsync(new() { Timeout = 60_000 });
        await Assertions.Expect(monitor.Locator("#renew-message")).ToContainTextAsync("the renewal timed out");
        await Assertions.Expect(monitor.Locator("#sign-in")).ToBeHiddenAsync();   // not signed out: it asks

        _entra.RefreshTokensExpired = false;
        var popup = await monitor.RunAndWaitForPopupAsync(() =>
            monitor.GetByRole(AriaRole.Button, new() { Name = "Sign in with Microsoft again" }).ClickAsync());
        await ClosedAsync(popup);

        await Assertions.Expect(monitor.Locator("#renew-sign-in")).ToBeHiddenAsync(new() { Timeout = 15_000 });
        await Assertions.Expect(monitor.Locator("#status")).ToHaveTextAsync("Connected", new() { Timeout = 15_000 });
        await Assertions.Expect(monitor.Locator("#monitor-id")).ToHaveTextAsync("wall.screen");
        Assert.Empty(_offMachine);
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
