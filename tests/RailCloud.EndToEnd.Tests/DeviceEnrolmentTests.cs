using Microsoft.Playwright;

namespace RailCloud.EndToEnd.Tests;

/// <summary>
/// An unattended kiosk in real Chromium: enrolled once from the enrolment URL, then online again by itself after
/// a reload and after the whole browser is closed and started again on the same profile, watched by a monitor;
/// and told so when a supervisor removes it.
/// </summary>
public sealed class DeviceEnrolmentTests : IAsyncLifetime
{
    private RailCloudStack _stack = null!;
    private Browser _browser = null!;
    private readonly DirectoryInfo _profile = Directory.CreateTempSubdirectory("railcloud-kiosk-profile-");

    public async Task InitializeAsync()
    {
        _stack = await RailCloudStack.StartAsync();
        await _stack.CreateAccountAsync("KIOSK_07", Roles.Kiosk);
        await _stack.CreateAccountAsync("MONITOR_01", Roles.Monitor);
        await _stack.CreateAccountAsync("SUPERVISOR_01", Roles.Supervisor);
        _browser = await Browser.LaunchAsync();
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        await _stack.DisposeAsync();
        _profile.Delete(recursive: true);
    }

    private static async Task ExpectOnlineAsync(IPage kiosk) =>
        await Assertions.Expect(kiosk.Locator("#status")).ToHaveTextAsync("Online", new() { Timeout = 20_000 });

    [Fact]
    public async Task AKioskEnrolledFromTheUrlComesBackOnlineByItselfAfterAReloadAndABrowserRestartUntilItIsRemoved()
    {
        var supervisor = (await _stack.Api.LoginAsync("SUPERVISOR_01", RailCloudStack.Password)).AccessToken;
        var enrolment = await _stack.Api.CreateEnrolmentAsync(supervisor, "KIOSK_07");

        // First boot: the QR code's URL, and nobody types anything.
        var (playwright, context) = await Browser.LaunchWithProfileAsync(_profile.FullName, _stack.BaseUri);
        var kiosk = context.Pages.FirstOrDefault() ?? await context.NewPageAsync();
        await kiosk.GotoAsync(new Uri(enrolment.Url).PathAndQuery);
        await ExpectOnlineAsync(kiosk);
        Assert.DoesNotContain("enrol=", kiosk.Url);   // the used code does not stay in the address bar
        Assert.Equal("KIOSK_07", await kiosk.Locator("#kiosk-id").TextContentAsync());
        var stored = await kiosk.EvaluateAsync<bool>("""
            () => new Promise(resolve => {
              const open = indexedDB.open("railcloud");
              open.onsuccess = () => {
                const get = open.result.transaction("device").objectStore("device").get("current");
                get.onsuccess = () => resolve(get.result.privateKey instanceof CryptoKey && get.result.privateKey.extractable === false);
              };
            })
            """);
        Assert.True(stored, "the device key is a non-extractable CryptoKey in IndexedDB");

        // A reload.
        await kiosk.ReloadAsync();
        await ExpectOnlineAsync(kiosk);

        // A power cut: the browser is gone, and starts again on the same profile.
        await context.CloseAsync();
        playwright.Dispose();
        (playwright, context) = await Browser.LaunchWithProfileAsync(_profile.FullName, _stack.BaseUri);
        try
        {
            kiosk = context.Pages.FirstOrDefault() ?? await context.NewPageAsync();
            await kiosk.GotoAsync("/kiosk");
            await ExpectOnlineAsync(kiosk);
            await Assertions.Expect(kiosk.Locator("#sign-in")).ToBeHiddenAsync();

            var monitor = await _browser.NewPageAsync(_stack.BaseUri);
            await monitor.GotoAsync("/monitor");
            await Browser.SignInAsync(monitor, "Monitor id", "MONITOR_01", RailCloudStack.Password, "Connected");
            await monitor.GetByRole(AriaRole.Button, new() { Name = "Start monitoring KIOSK_07" }).ClickAsync();
            await monitor.WaitForFunctionAsync(
                "id => { const t = window.railcloudTiles()[id]; return t && t.framesDecoded > 0 && t.width > 0; }", "KIOSK_07",
                new() { Timeout = 30_000, PollingInterval = 250 });

            var device = Assert.Single(await _stack.Api.ListDevicesAsync(supervisor), d => d.KioskId == "KIOSK_07");
            await _stack.Api.RevokeDeviceAsync(supervisor, device.DeviceId);

            await Assertions.Expect(kiosk.Locator("#enrol-error")).ToHaveTextAsync("This device was removed; ask a supervisor for a new enrolment code.", new() { Timeout = 30_000 });
            await Assertions.Expect(kiosk.Locator("#status")).ToHaveTextAsync("Device removed");
            await Assertions.Expect(kiosk.GetByRole(AriaRole.Button, new() { Name = "Enrol this device" })).ToBeVisibleAsync();
            await kiosk.ScreenshotAsync(new() { Path = Path.Combine(Browser.ArtifactsFolder, "kiosk-device-removed.png"), FullPage = true });
        }
        finally
        {
            await context.CloseAsync();
            playwright.Dispose();
        }
    }

    [Fact]
    public async Task AWrongCodeTypedOnTheKioskPageIsExplainedAndNothingIsStored()
    {
        var kiosk = await _browser.NewPageAsync(_stack.BaseUri);
        await kiosk.GotoAsync("/kiosk");

        await kiosk.GetByLabel("Enrolment code").FillAsync("NOT-A-REAL-CODE");
        await kiosk.GetByRole(AriaRole.Button, new() { Name = "Enrol this device" }).ClickAsync();

        await Assertions.Expect(kiosk.Locator("#enrol-error")).ToHaveTextAsync("This enrolment code is wrong, has expired or was used already. Ask a supervisor for a new one.");
        await Assertions.Expect(kiosk.Locator("#status")).ToHaveTextAsync("Signed out");
        Assert.Empty(await _stack.Api.ListDevicesAsync((await _stack.Api.LoginAsync("SUPERVISOR_01", RailCloudStack.Password)).AccessToken));
    }
}
