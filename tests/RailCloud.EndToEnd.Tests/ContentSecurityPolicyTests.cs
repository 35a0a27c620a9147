using Microsoft.Playwright;

namespace RailCloud.EndToEnd.Tests;

/// <summary>
/// The pages' Content-Security-Policy in Chromium: script only from the site itself (so no injected script can use a
/// kiosk's device key), connections only to the API and Web PubSub. The other browser tests, which fail on any
/// console error, show that the policy leaves the pages working.
/// </summary>
public sealed class ContentSecurityPolicyTests : IAsyncLifetime
{
    private RailCloudStack _stack = null!;
    private Browser _browser = null!;

    public async Task InitializeAsync()
    {
        _stack = await RailCloudStack.StartAsync();
        _browser = await Browser.LaunchAsync();
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        await _stack.DisposeAsync();
    }

    [Theory]
    [InlineData("/kiosk", "'none'")]
    [InlineData("/monitor", "'none'")]
    [InlineData("/", "'none'")]
    [InlineData("/auth-redirect.html", "'self'")]   // MSAL's hidden renewal frame comes back here
    public async Task OnlyTheSignInBridgeMayBeFramedAndOnlyByThisSite(string path, string ancestors)
    {
        using var http = new HttpClient { BaseAddress = _stack.BaseUri };
        using var response = await http.GetAsync(path);
        var policy = string.Join(' ', response.Headers.GetValues("Content-Security-Policy"));

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Contains($"frame-ancestors {ancestors}", policy);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(policy, "frame-ancestors"));
    }

    [Theory]
    [InlineData("/kiosk")]
    [InlineData("/monitor")]
    public async Task ThePageRefusesInjectedScriptAndConnectionsElsewhere(string path)
    {
        var page = await _browser.NewPageAsync(_stack.BaseUri);
        var response = await page.GotoAsync(path);
        var policy = await response!.HeaderValueAsync("content-security-policy");

        var outcome = await page.EvaluateAsync<string[]>("""
            async () => {
              const violations = [];
              document.addEventListener("securitypolicyviolation", (e) => violations.push(e.effectiveDirective));
              const script = document.createElement("script");
              script.textContent = "window.injected = true";
              document.body.append(script);
              let fetched = "sent";
              try { await fetch("http://127.0.0.1:9/elsewhere"); } catch { fetched = "refused"; }
              await new Promise((resolve) => setTimeout(resolve, 100));
              return [String(window.injected === true), fetched, ...violations];
            }
            """);

        Assert.NotNull(policy);
        Assert.Contains("script-src 'self'", policy);
        Assert.DoesNotContain("unsafe-inline", policy);
        Assert.DoesNotContain("unsafe-eval", policy);
        Assert.Contains($"connect-src 'self' {_stack.Emulator.BaseUri.GetLeftPart(UriPartial.Authority)} ws://", policy);
        Assert.Equal("false", outcome[0]);        // the injected script never ran
        Assert.Equal("refused", outcome[1]);
        Assert.Contains("script-src-elem", outcome);
        Assert.Contains("connect-src", outcome);
    }
}
