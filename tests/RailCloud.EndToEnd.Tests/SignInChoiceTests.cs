using Microsoft.Playwright;

namespace RailCloud.EndToEnd.Tests;

/// <summary>The monitor page offers Microsoft sign-in exactly when Entra ID is configured, and password sign-in always.</summary>
public sealed class SignInChoiceTests
{
    [Fact]
    public async Task MicrosoftSignInAppearsOnlyWhenEntraIsConfigured()
    {
        await using var plain = await RailCloudStack.StartAsync();
        await using var entra = await RailCloudStack.StartAsync(new Dictionary<string, string?>
        {
            ["WebClient:Entra:ClientId"] = "railcloud-web",
            ["WebClient:Entra:Authority"] = "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555",
            ["WebClient:Entra:Scope"] = "api://railcloud-api/.default",
        });
        await using var browser = await Browser.LaunchAsync();

        var withoutEntra = await browser.NewPageAsync(plain.BaseUri);
        await withoutEntra.GotoAsync("/monitor");
        var withEntra = await browser.NewPageAsync(entra.BaseUri);
        await withEntra.GotoAsync("/monitor");

        await Assertions.Expect(withEntra.GetByRole(AriaRole.Button, new() { Name = "Sign in with Microsoft" })).ToBeVisibleAsync();
        await Assertions.Expect(withEntra.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true })).ToBeVisibleAsync();
        await Assertions.Expect(withoutEntra.GetByRole(AriaRole.Button, new() { Name = "Sign in with Microsoft" })).ToBeHiddenAsync();
        Assert.True(browser.ConsoleErrors.Count == 0, string.Join("\n", browser.ConsoleErrors));
    }
}
