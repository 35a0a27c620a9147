using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using RailCloud.Signaling.Kiosks;
using RailCloud.Signaling.Sessions;
using RailCloud.Signaling.Storage;
using RailCloud.WebPubSub;

namespace RailCloud.LocalHost.Tests;

/// <summary>Identity, tokens and the webhook: every forgery refused, nothing forwarded, no state changed.</summary>
public sealed class SecurityTests : IAsyncLifetime
{
    private RailCloudStack _stack = null!;

    public async Task InitializeAsync()
    {
        _stack = await RailCloudStack.StartAsync(new Dictionary<string, string?> { ["Auth:MaxFailedAttempts"] = "3" });
        await _stack.CreateAccountAsync("KIOSK_01", Roles.Kiosk);
        await _stack.CreateAccountAsync("MONITOR_01", Roles.Monitor);
        await _stack.CreateAccountAsync("MONITOR_02", Roles.Monitor);
    }

    public async Task DisposeAsync() => await _stack.DisposeAsync();

    [Fact]
    public async Task AnUnknownIdAndAWrongPasswordGetTheSameAnswer()
    {
        using var unknown = await _stack.Api.Http.PostAsJsonAsync("api/login", new { id = "NOBODY", password = "whatever-123" });
        using var wrong = await _stack.Api.Http.PostAsJsonAsync("api/login", new { id = "MONITOR_02", password = "whatever-123" });

        Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);
        var (a, b) = (System.Text.Json.Nodes.JsonNode.Parse(await unknown.Content.ReadAsStringAsync())!, System.Text.Json.Nodes.JsonNode.Parse(await wrong.Content.ReadAsStringAsync())!);
        foreach (var field in new[] { "title", "detail", "status", "code" })
        {
            Assert.Equal(a[field]?.ToJsonString(), b[field]?.ToJsonString());
        }
    }

    [Fact]
    public async Task RepeatedFailuresLockTheAccountEvenForTheRightPassword()
    {
        for (var i = 0; i < 3; i++)
        {
            var failed = await Assert.ThrowsAsync<RailCloudException>(() => _stack.Api.LoginAsync("MONITOR_02", "wrong-password"));
            Assert.Equal(401, failed.HttpStatus);
        }
        var locked = await Assert.ThrowsAsync<RailCloudException>(() => _stack.Api.LoginAsync("MONITOR_02", RailCloudStack.Password));
        Assert.Equal((429, ErrorCodes.RateLimited), (locked.HttpStatus, locked.Code));
    }

    [Fact]
    public async Task OneAddressIsThrottledAfterTooManyAttempts()
    {
        await using var stack = await RailCloudStack.StartAsync(new Dictionary<string, string?> { ["Auth:LoginsPerMinutePerAddress"] = "3" });
        var statuses = new List<int>();
        for (var i = 0; i < 5; i++)
        {
            using var response = await stack.Api.Http.PostAsJsonAsync("api/login", new { id = "X", password = "y-password" });
            statuses.Add((int)response.StatusCode);
        }
        Assert.Equal([401, 401, 401, 429, 429], statuses);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("not json")]
    [InlineData("{\"id\":\"MONITOR_01\"}")]
    public async Task AMalformedLoginIsABadRequest(string body)
    {
        using var response = await _stack.Api.Http.PostAsync("api/login", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    public static TheoryData<string> ForgedTokens() => ["alg-none", "wrong-key", "expired", "wrong-issuer", "wrong-audience", "wrong-type", "rs256-claim", "garbage"];

    [Theory]
    [MemberData(nameof(ForgedTokens))]
    public async Task ForgedOrStaleTokensAreRefusedEverywhere(string kind)
    {
        var token = Forge(kind);
        foreach (var (method, path) in new[] { (HttpMethod.Post, "api/negotiate"), (HttpMethod.Get, "api/kiosks"), (HttpMethod.Get, "api/kiosks/KIOSK_01/events"), (HttpMethod.Post, "api/logout") })
        {
            using var request = new HttpRequestMessage(method, path);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await _stack.Api.Http.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{kind} on {path}: {response.StatusCode}");
        }
    }

    [Fact]
    public async Task LogoutClosesOpenConnectionsAndVoidsTheTokenAndItsUrl()
    {
        var login = await _stack.Api.LoginAsync("MONITOR_01", RailCloudStack.Password);
        var negotiated = await _stack.Api.NegotiateAsync(login.AccessToken);
        await using var connection = await RailCloudConnection.ConnectAsync(_stack.Api, login);
        await connection.RegisterAsync();

        await _stack.Api.LogoutAsync(login.AccessToken);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (connection.ClosedReason is null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        var replay = await Assert.ThrowsAsync<RailCloudException>(() => _stack.Api.NegotiateAsync(login.AccessToken));
        var (status, socket) = await TestWebSocket.TryConnectAsync(new Uri(negotiated.Url), "json.reliable.webpubsub.azure.v1");

        Assert.Contains("Logged out", connection.ClosedReason);
        Assert.Equal(401, replay.HttpStatus);
        Assert.Equal(401, status);
        Assert.Null(socket);
        // A fresh login works again.
        await using var again = await _stack.ConnectAsync("MONITOR_01");
    }

    [Fact]
    public async Task AWebPubSubConnectionForAnAccountWeDoNotKnowIsRefused()
    {
        var service = WebPubSubServiceClient.Create(new WebPubSubOptions { ConnectionString = _stack.Emulator.ConnectionString, Hub = "railcloud" });
        var url = await service.GetClientAccessUriAsync("INTRUDER");
        var (status, _) = await TestWebSocket.TryConnectAsync(url, "json.webpubsub.azure.v1");
        Assert.Equal(401, status);
    }

    [Fact]
    public async Task AnIdSpoofedInAMessageBodyIsIgnored()
    {
        await using var kiosk = await _stack.ConnectAsync("KIOSK_01");
        await using var monitor = await _stack.ConnectAsync("MONITOR_01");
        await monitor.StartMonitoringAsync("KIOSK_01");

        await monitor.SendAsync(Events.Offer, new { targetId = "KIOSK_01", fromId = "MONITOR_02", monitorId = "MONITOR_02", offer = new { type = "offer", sdp = "v=0\r\n" } });
        var offer = await kiosk.WaitForAsync(m => (string?)m["event"] == Events.Offer, TimeSpan.FromSeconds(10));

        Assert.Equal("MONITOR_01", (string?)offer["fromId"]);
    }

    [Theory]
    [InlineData("sha256=0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData(null)]
    public async Task AWebhookCallWithAForgedOrMissingSignatureChangesNothing(string? signature)
    {
        await using var kiosk = await _stack.ConnectAsync("KIOSK_01");
        var sessions = _stack.Services.GetRequiredService<SessionStore>();

        // A forged "disconnected" for the kiosk's real connection would take it offline, if it were believed.
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/webpubsub/disconnected") { Content = new StringContent("{\"reason\":\"forged\"}", Encoding.UTF8, "application/json") };
        request.Headers.Add("ce-specversion", "1.0");
        request.Headers.Add("ce-type", "azure.webpubsub.sys.disconnected");
        request.Headers.Add("ce-hub", "railcloud");
        request.Headers.Add("ce-connectionId", kiosk.ConnectionId);
        request.Headers.Add("ce-eventName", "disconnected");
        request.Headers.Add("ce-userId", "KIOSK_01");
        request.Headers.Add("ce-connectionState", Convert.ToBase64String("{\"rc\":{\"r\":\"kiosk\",\"i\":\"KIOSK_01\",\"g\":true}}"u8.ToArray()));
        if (signature is not null)
        {
            request.Headers.Add("ce-signature", signature);
        }
        using var response = await _stack.Api.Http.SendAsync(request);
        var row = await _stack.Services.GetRequiredService<KioskStore>().GetAsync("KIOSK_01");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.True(row!.Online);
        Assert.Equal(kiosk.ConnectionId, row.ConnectionId);
        Assert.Empty(await sessions.ListAsync());
    }

    [Fact]
    public async Task TheAbuseProtectionHandshakeAnswersOnlyOurWebPubSub()
    {
        using var ours = new HttpRequestMessage(HttpMethod.Options, "api/webpubsub/validate");
        ours.Headers.Add("WebHook-Request-Origin", _stack.Emulator.BaseUri.Authority);
        using var theirs = new HttpRequestMessage(HttpMethod.Options, "api/webpubsub/validate");
        theirs.Headers.Add("WebHook-Request-Origin", "attacker.webpubsub.azure.com");

        using var ok = await _stack.Api.Http.SendAsync(ours);
        using var refused = await _stack.Api.Http.SendAsync(theirs);

        Assert.Equal(_stack.Emulator.BaseUri.Authority, ok.Headers.GetValues("WebHook-Allowed-Origin").Single());
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
    }

    private static string Forge(string kind)
    {
        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        var now = DateTime.UtcNow;
        var key = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(kind == "wrong-key" ? new string('w', 48) : RailCloudStack.SigningKey));
        SecurityTokenDescriptor Descriptor() => new()
        {
            Issuer = kind == "wrong-issuer" ? "someone-else" : "railcloud",
            Audience = kind == "wrong-audience" ? "other-api" : "railcloud-api",
            IssuedAt = kind == "expired" ? now.AddHours(-3) : now,
            NotBefore = kind == "expired" ? now.AddHours(-3) : now,
            Expires = kind == "expired" ? now.AddHours(-2) : now.AddHours(1),
            TokenType = kind == "wrong-type" ? "JWT" : "at+jwt",
            Claims = new Dictionary<string, object> { ["sub"] = "MONITOR_01", ["role"] = "monitor", ["iat_ms"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() },
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.HmacSha256),
        };
        switch (kind)
        {
            case "alg-none":
                var unsigned = Descriptor();
                unsigned.SigningCredentials = null;
                return handler.CreateToken(unsigned);
            case "rs256-claim":
                // Our HMAC key, but a header claiming RS256: algorithm confusion must not pass.
                var parts = handler.CreateToken(Descriptor()).Split('.');
                var header = Base64UrlEncoder.Encode("{\"alg\":\"RS256\",\"typ\":\"at+jwt\"}");
                return $"{header}.{parts[1]}.{parts[2]}";
            case "garbage":
                return "a.b.c";
            default:
                return handler.CreateToken(Descriptor());
        }
    }
}
