using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace RailCloud.LocalHost.Tests;

/// <summary>Entra ID access tokens, validated against OpenID Connect metadata and keys served by the test.</summary>
public sealed class EntraTests : IAsyncLifetime
{
    private OidcServer _oidc = null!;
    private RailCloudStack _stack = null!;

    public async Task InitializeAsync()
    {
        _oidc = await OidcServer.StartAsync();
        _stack = await RailCloudStack.StartAsync(_oidc.Settings);
        await _stack.CreateAccountAsync("KIOSK_01", Roles.Kiosk);
    }

    public async Task DisposeAsync()
    {
        await _stack.DisposeAsync();
        await _oidc.DisposeAsync();
    }

    private async Task<HttpStatusCode> KiosksWith(string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/kiosks");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await _stack.Api.Http.SendAsync(request);
        return response.StatusCode;
    }

    [Theory]
    [InlineData("Monitor")]
    [InlineData("Supervisor")]
    public async Task AnEntraTokenWithAMonitorRoleIsAccepted(string role)
    {
        Assert.Equal(HttpStatusCode.OK, await KiosksWith(_oidc.Mint("ops.person@railway.example", [role])));
    }

    public static TheoryData<string> Refused() => ["wrong-audience", "wrong-issuer", "expired", "alg-none", "no-role", "unknown-role", "other-key", "kiosk-role"];

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task AnEntraTokenThatIsWrongInAnyWayIsRefused(string kind)
    {
        var token = kind switch
        {
            "wrong-audience" => _oidc.Mint("a@x.example", ["Monitor"], audience: "api://someone-else"),
            "wrong-issuer" => _oidc.Mint("a@x.example", ["Monitor"], issuer: "https://login.microsoftonline.com/other/v2.0"),
            "expired" => _oidc.Mint("a@x.example", ["Monitor"], expires: DateTime.UtcNow.AddHours(-1)),
            "alg-none" => Unsigned(),
            "no-role" => _oidc.Mint("a@x.example", []),
            "unknown-role" => _oidc.Mint("a@x.example", ["Admin"]),
            "other-key" => _oidc.Mint("a@x.example", ["Monitor"], signingKey: new RsaSecurityKey(RSA.Create(2048)) { KeyId = _oidc.Key.KeyId }),
            _ => _oidc.Mint("KIOSK_09@x.example", ["Kiosk"]), // a kiosk may sign in, but not read the kiosk list
        };
        var expected = kind == "kiosk-role" ? HttpStatusCode.Forbidden : HttpStatusCode.Unauthorized;
        Assert.Equal(expected, await KiosksWith(token));
    }

    [Fact]
    public async Task AnEntraMonitorCanConnectAndWatchAKiosk()
    {
        await using var kiosk = await _stack.ConnectAsync("KIOSK_01");
        var token = _oidc.Mint("ops.person@railway.example", ["Monitor"]);
        var login = new LoginResponse(token, DateTimeOffset.UtcNow.AddHours(1), Roles.Monitor, "ops.person");
        await using var monitor = await RailCloudConnection.ConnectAsync(_stack.Api, login);

        var registered = await monitor.RegisterAsync();
        var started = await monitor.StartMonitoringAsync("KIOSK_01");
        var told = await kiosk.WaitForAsync(m => (string?)m["event"] == Events.MonitoringStarted, TimeSpan.FromSeconds(10));

        Assert.Equal("ops.person", (string?)registered["id"]);
        Assert.Equal("ops.person", (string?)told["monitorId"]);
        Assert.Equal((string?)started["sessionId"], (string?)told["sessionId"]);
        // The mirrored account has no password: /api/login cannot be used with it.
        var login401 = await Assert.ThrowsAsync<RailCloudException>(() => _stack.Api.LoginAsync("ops.person", "any-password-1"));
        Assert.Equal(401, login401.HttpStatus);
    }

    [Fact]
    public async Task WhenTheTenantsMetadataCannotBeReachedEntraTokensAreRefusedAndPasswordsStillWork()
    {
        // The same tenant, but its metadata endpoint is a loopback port nobody listens on.
        var settings = new Dictionary<string, string?>(_oidc.Settings) { ["AzureAd:Instance"] = $"http://127.0.0.1:{FreePort.Next()}/" };
        await using var stack = await RailCloudStack.StartAsync(settings);
        await stack.CreateAccountAsync("MONITOR_01", Roles.Monitor);

        using var request = new HttpRequestMessage(HttpMethod.Get, "api/kiosks");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _oidc.Mint("ops.person@railway.example", ["Monitor"]));
        using var refused = await stack.Api.Http.SendAsync(request);
        var login = await stack.Api.LoginAsync("MONITOR_01", RailCloudStack.Password);
        var kiosks = await stack.Api.ListKiosksAsync(login.AccessToken);

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.NotNull(kiosks);
    }

    [Fact]
    public async Task AnEntraUserCannotTakeOverAPasswordAccountsId()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, await KiosksWith(_oidc.Mint("x@y.example", ["Monitor"], railcloudId: "KIOSK_01")));
    }

    private string Unsigned()
    {
        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        return handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = _oidc.Issuer,
            Audience = $"api://{OidcServer.ClientId}",
            Expires = DateTime.UtcNow.AddHours(1),
            Claims = new Dictionary<string, object> { ["preferred_username"] = "a@x.example", ["roles"] = new[] { "Monitor" } },
        });
    }
}

/// <summary>
/// A keyless Web PubSub (local auth off) signs no events: the handler then takes only requests that carry an Entra
/// token for this API from Web PubSub's managed identity.
/// </summary>
public sealed class KeylessWebPubSubTests : IAsyncLifetime
{
    private const string HandlerIdentity = "wps-identity-client-id";
    private OidcServer _oidc = null!;
    private RailCloudStack _stack = null!;

    public async Task InitializeAsync()
    {
        _oidc = await OidcServer.StartAsync();
        var settings = new Dictionary<string, string?>(_oidc.Settings)
        {
            ["WebPubSub:ConnectionString"] = "",
            ["WebPubSub:Endpoint"] = "https://railcloud-test.webpubsub.azure.com",
            ["WebPubSub:EventHandlerClientId"] = HandlerIdentity,
        };
        // Outbound calls to Web PubSub would use this credential; the tests here only receive events.
        _stack = await RailCloudStack.StartAsync(settings, services: s => s.AddSingleton<Azure.Core.TokenCredential>(
            Azure.Core.DelegatedTokenCredential.Create((_, _) => new Azure.Core.AccessToken("unused", DateTimeOffset.UtcNow.AddHours(1)))));
    }

    public async Task DisposeAsync()
    {
        await _stack.DisposeAsync();
        await _oidc.DisposeAsync();
    }

    // An app-only token from a managed identity: no roles, no user name.
    private string ServiceToken(string azp, string? audience = null) =>
        _oidc.Sign(new Dictionary<string, object> { ["azp"] = azp, ["oid"] = Guid.NewGuid().ToString() }, audience);

    private async Task<HttpStatusCode> PostConnectedAsync(string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/webpubsub/connected") { Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add("ce-specversion", "1.0");
        request.Headers.Add("ce-type", "azure.webpubsub.sys.connected");
        request.Headers.Add("ce-hub", "railcloud");
        request.Headers.Add("ce-connectionId", "c1");
        request.Headers.Add("ce-eventName", "connected");
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        using var response = await _stack.Api.Http.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task EventsWithWebPubSubsIdentityTokenAreAccepted() =>
        Assert.Equal(HttpStatusCode.NoContent, await PostConnectedAsync(ServiceToken(HandlerIdentity)));

    [Fact]
    public async Task EventsWithoutItOrFromAnotherIdentityOrForAnotherAudienceAreRefused()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, await PostConnectedAsync(null));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostConnectedAsync(ServiceToken("someone-else")));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostConnectedAsync(ServiceToken(HandlerIdentity, audience: "api://other")));
        Assert.Equal(HttpStatusCode.Unauthorized, await PostConnectedAsync(_oidc.Mint("person@x.example", ["Monitor"])));
    }
}
