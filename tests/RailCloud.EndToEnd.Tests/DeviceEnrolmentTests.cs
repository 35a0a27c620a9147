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
        // The supervisor makes a code in the console on the dashboard.
        var console = await _browser.NewPageAsync(_stack.BaseUri);
        await console.GotoAsync("/monitor");
        await Browser.SignInAsync(console, "Monitor id", "SUPERVISOR_01", RailCloudStack.Password, "Connected");
        await Assertions.Expect(console.Locator("#console")).ToBeVisibleAsync(new() { Timeout = 10_000 });
        await console.GetByLabel("Kiosk", new() { Exact = true }).SelectOptionAsync("KIOSK_07");
        await console.GetByRole(AriaRole.Button, new() { Name = "Create enrolment code" }).ClickAsync();
        var link = console.Locator("#enrolment-url");
        await Assertions.Expect(link).ToContainTextAsync("/kiosk?enrol=");
        var url = (await link.GetAttributeAsync("href"))!;
        Assert.Equal(url, await console.Locator("#enrolment-qr").GetAttributeAsync("data-url"));
        Assert.True(await console.Locator("#enrolment-qr svg path").CountAsync() == 1, "the QR code is drawn");
        await console.ScreenshotAsync(new() { Path = Path.Combine(Browser.ArtifactsFolder, "supervisor-console.png"), FullPage = true });

        // First boot: the QR code's URL, and nobody types anything.
        var (playwright, context) = await Browser.LaunchWithProfileAsync(_profile.FullName, _stack.BaseUri);
        var kiosk = context.Pages.FirstOrDefault() ?? await context.NewPageAsync();
        await kiosk.GotoAsync(new Uri(url).PathAndQuery);
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
            await Assertions.Expect(monitor.Locator("#console")).ToBeHiddenAsync();   // not a supervisor
            await monitor.GetByRole(AriaRole.Button, new() { Name = "Start monitoring KIOSK_07" }).ClickAsync();
            await monitor.WaitForFunctionAsync(
                "id => { const t = window.railcloudTiles()[id]; return t && t.framesDecoded > 0 && t.width > 0; }", "KIOSK_07",
                new() { Timeout = 30_000, PollingInterval = 250 });

            // One click in the console removes it.
            await console.ReloadAsync();
            await Browser.SignInAsync(console, "Monitor id", "SUPERVISOR_01", RailCloudStack.Password, "Connected");
            var row = console.Locator("#devices tr[data-kiosk='KIOSK_07']");
            await Assertions.Expect(row).ToContainTextAsync("by SUPERVISOR_01");
            await row.GetByRole(AriaRole.Button, new() { Name = "Remove" }).ClickAsync();
            await Assertions.Expect(console.Locator("#devices-empty")).ToBeVisibleAsync();

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

    [Fact]
    public async Task TheConsoleAddsAnAccountWithAPasswordShownOnceResetsItAndRemovesIt()
    {
        var console = await _browser.NewPageAsync(_stack.BaseUri);
        await console.GotoAsync("/monitor");
        await Browser.SignInAsync(console, "Monitor id", "SUPERVISOR_01", RailCloudStack.Password, "Connected");

        await console.GetByLabel("New account id").FillAsync("KIOSK_30");
        await console.GetByLabel("Role").SelectOptionAsync("kiosk");
        await console.GetByRole(AriaRole.Button, new() { Name = "Add account" }).ClickAsync();
        var result = console.Locator("#account-result");
        await Assertions.Expect(result).ToContainTextAsync("Created KIOSK_30 (kiosk). Its password, shown only now: ");
        var password = (await result.TextContentAsync())!.Split("shown only now: ")[1].Trim();
        await _stack.Api.LoginAsync("KIOSK_30", password);
        await Assertions.Expect(console.Locator("#enrol-kiosk option[value='KIOSK_30']")).ToHaveCountAsync(1);

        await console.GetByRole(AriaRole.Button, new() { Name = "Reset the password of KIOSK_30" }).ClickAsync();
        await Assertions.Expect(result).ToContainTextAsync("New password of KIOSK_30, shown only now: ");
        var reset = (await result.TextContentAsync())!.Split("shown only now: ")[1].Split('.')[0].Trim();
        await _stack.Api.LoginAsync("KIOSK_30", reset);

        await console.GetByRole(AriaRole.Button, new() { Name = "Remove account KIOSK_30" }).ClickAsync();
        await Assertions.Expect(result).ToHaveTextAsync("Removed KIOSK_30.");
        await Assertions.Expect(console.Locator("#accounts tr[data-account='KIOSK_30']")).ToHaveCountAsync(0);
        await Assert.ThrowsAsync<RailCloud.Client.RailCloudException>(() => _stack.Api.LoginAsync("KIOSK_30", reset));

        await console.GetByLabel("New account id").FillAsync("MONITOR_01");
        await console.GetByRole(AriaRole.Button, new() { Name = "Add account" }).ClickAsync();
        await Assertions.Expect(console.Locator("#console-error")).ToHaveTextAsync("An account 'MONITOR_01' already exists.");
    }
}
