using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using RailCloud.Signaling.Accounts;

namespace RailCloud.EndToEnd.Tests;

/// <summary>
/// Kiosks run unattended all day and dashboards hang on control-room walls: a page signed in with a password renews
/// its own token when the API refuses it, and says plainly that it is signed out when it cannot.
/// </summary>
public sealed class SignInRenewalTests : IAsyncLifetime
{
    private RailCloudStack _stack = null!;
    private Browser _browser = null!;

    public async Task InitializeAsync()
    {
        _stack = await RailCloudStack.StartAsync();
        await _stack.CreateAccountAsync("KIOSK_01", Roles.Kiosk);
        await _stack.CreateAccountAsync("MONITOR_01", Roles.Monitor);
        _browser = await Browser.LaunchAsync();
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        await _stack.DisposeAsync();
    }

    private async Task<IPage> SignedInPageAsync(string path, string idLabel, string id, string online)
    {
        var page = await _browser.NewPageAsync(_stack.BaseUri);
        await page.GotoAsync(path);
        await Browser.SignInAsync(page, idLabel, id, RailCloudStack.Password, online);
        return page;
    }

    /// <summary>Signs the account out everywhere, as a logout from another device does: every earlier token is void and its connections close.</summary>
    private async Task LogOutEverywhereAsync(string id, string password = RailCloudStack.Password)
    {
        var login = await _stack.Api.LoginAsync(id, password);
        await _stack.Api.LogoutAsync(login.AccessToken);
    }

    [Fact]
    public async Task AKioskAndAMonitorWhoseTokensWereVoidedSignThemselvesBackIn()
    {
        var kiosk = await SignedInPageAsync("/kiosk", "Kiosk id", "KIOSK_01", "Online");
        var monitor = await SignedInPageAsync("/monitor", "Monitor id", "MONITOR_01", "Connected");

        await LogOutEverywhereAsync("KIOSK_01");
        await LogOutEverywhereAsync("MONITOR_01");

        await Assertions.Expect(kiosk.Locator("#timeline")).ToContainTextAsync("Connection to RailCloud lost", new() { Timeout = 15_000 });
        await Assertions.Expect(kiosk.Locator("#status")).ToHaveTextAsync("Online", new() { Timeout = 20_000 });
        await Assertions.Expect(monitor.Locator("#timeline")).ToContainTextAsync("Connection to RailCloud lost", new() { Timeout = 15_000 });
        await Assertions.Expect(monitor.Locator("#status")).ToHaveTextAsync("Connected", new() { Timeout = 20_000 });
        await Assertions.Expect(monitor.Locator("tr[data-kiosk='KIOSK_01'] td").First).ToHaveTextAsync("Online", new() { Timeout = 10_000 });
        await Assertions.Expect(kiosk.Locator("#sign-in")).ToBeHiddenAsync();
        // The renewed sign-in works for video too.
        await monitor.GetByRole(AriaRole.Button, new() { Name = "Start monitoring KIOSK_01" }).ClickAsync();
        await Assertions.Expect(kiosk.Locator("#viewer")).ToHaveTextAsync("Being viewed by MONITOR_01", new() { Timeout = 15_000 });
    }

    [Fact]
    public async Task AKioskWhosePasswordChangedSaysItIsSignedOutAndOffersTheForm()
    {
        var kiosk = await SignedInPageAsync("/kiosk", "Kiosk id", "KIOSK_01", "Online");

        await _stack.Services.GetRequiredService<AccountService>().ResetPasswordAsync("KIOSK_01", "a-new-password-1");
        await LogOutEverywhereAsync("KIOSK_01", "a-new-password-1");

        await Assertions.Expect(kiosk.Locator("#status")).ToHaveTextAsync("Signed out", new() { Timeout = 20_000 });
        await Assertions.Expect(kiosk.Locator("#sign-in-error")).ToHaveTextAsync("Signed out: the sign-in is no longer valid. Sign in again.");
        await Assertions.Expect(kiosk.Locator("#sign-in")).ToBeVisibleAsync();

        // Signing in with the new password brings it back.
        await Browser.SignInAsync(kiosk, "Kiosk id", "KIOSK_01", "a-new-password-1", "Online");
    }
}
