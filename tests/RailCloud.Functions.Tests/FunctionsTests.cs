using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using RailCloud.Signaling.Sessions;
using RailCloud.Signaling.Storage;

namespace RailCloud.Functions.Tests;

/// <summary>The Azure Functions classes themselves, against Azurite and the emulator, with real HttpContexts.</summary>
public sealed class FunctionsTests : IAsyncLifetime
{
    private AzuriteServer _azurite = null!;
    private FunctionsHost _host = null!;

    public async Task InitializeAsync()
    {
        _azurite = await AzuriteServer.StartAsync();
        _host = await FunctionsHost.StartAsync(_azurite, new Dictionary<string, string?> { ["Sessions:Ttl"] = "00:00:02" });
        await _host.CreateAccountAsync("KIOSK_01", Roles.Kiosk);
        await _host.CreateAccountAsync("MONITOR_01", Roles.Monitor);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _azurite.DisposeAsync();
    }

    [Fact]
    public void EveryRouteOfTheContractHasATrigger()
    {
        var routes = FunctionsHost.HttpTriggers().SelectMany(t => t.Verbs.Select(v => $"{v.ToUpperInvariant()} /api/{t.Route}")).Order().ToList();
        Assert.Equal(
            ["DELETE /api/accounts/{id}", "DELETE /api/devices/{deviceId}", "GET /api/accounts", "GET /api/devices", "GET /api/devices/nonce", "GET /api/health", "GET /api/kiosks", "GET /api/kiosks/{kioskId}/events", "GET /api/me",
             "OPTIONS /api/webpubsub/{event}", "POST /api/accounts", "POST /api/accounts/{id}/password", "POST /api/devices", "POST /api/devices/token", "POST /api/kiosks/{kioskId}/enrolments",
             "POST /api/login", "POST /api/logout", "POST /api/negotiate", "POST /api/webpubsub/{event}"],
            routes);
    }

    [Fact]
    public async Task TheWholeFlowRunsThroughTheFunctionClasses()
    {
        await using var kiosk = await RailCloudConnection.ConnectAsync(_host.Api, "KIOSK_01", RailCloudStack.Password);
        await kiosk.RegisterAsync();
        await using var monitor = await RailCloudConnection.ConnectAsync(_host.Api, "MONITOR_01", RailCloudStack.Password);
        var registered = await monitor.RegisterAsync();
        var started = await monitor.StartMonitoringAsync("KIOSK_01");
        await kiosk.WaitForAsync(m => (string?)m["event"] == Events.MonitoringStarted, TimeSpan.FromSeconds(10));
        await monitor.SendOfferAsync("KIOSK_01", "v=0\r\n");
        var offer = await kiosk.WaitForAsync(m => (string?)m["event"] == Events.Offer, TimeSpan.FromSeconds(10));
        var kiosks = await _host.Api.ListKiosksAsync(monitor.AccessToken);

        Assert.True((bool)registered["kiosks"]![0]!["online"]!);
        Assert.Equal((string?)started["sessionId"], (string?)offer["sessionId"]);
        Assert.Equal("MONITOR_01", kiosks.Single().MonitoredBy);
    }

    [Fact]
    public async Task ADeviceEnrolsAndSignsInThroughTheFunctionClasses()
    {
        var host = _host;
        await host.CreateAccountAsync("SUPERVISOR_01", Roles.Supervisor);
        var supervisor = await host.Api.LoginAsync("SUPERVISOR_01", RailCloudStack.Password);
        var enrolment = await host.Api.CreateEnrolmentAsync(supervisor.AccessToken, "KIOSK_01");
        using var key = DeviceKey.Create();
        var device = await host.Api.RegisterDeviceAsync(enrolment.Code, key.PublicJwk, "functions");

        var login = await host.Api.SignInDeviceAsync(key, device.DeviceId);
        await using var kiosk = await RailCloudConnection.ConnectAsync(host.Api, login);
        await kiosk.RegisterAsync();
        await host.Api.RevokeDeviceAsync(supervisor.AccessToken, device.DeviceId);
        var refused = await Assert.ThrowsAsync<RailCloudException>(() => host.Api.SignInDeviceAsync(key, device.DeviceId));

        Assert.Equal(("KIOSK_01", Roles.Kiosk), (login.Id, login.Role));
        Assert.Equal(ErrorCodes.DeviceRevoked, refused.Code);
    }

    [Fact]
    public async Task TheFunctionClassesCheckEntraTokensThemselves()
    {
        await using var oidc = await OidcServer.StartAsync();
        await using var host = await FunctionsHost.StartAsync(_azurite, oidc.Settings);

        var kiosks = await host.Api.ListKiosksAsync(oidc.Mint("ops.person@railway.example", ["Monitor"]));
        var refused = await Assert.ThrowsAsync<RailCloudException>(() => host.Api.ListKiosksAsync(oidc.Mint("ops.person@railway.example", ["Monitor"], audience: "api://someone-else")));

        Assert.NotNull(kiosks);
        Assert.Equal(401, refused.HttpStatus);
    }

    [Fact]
    public async Task TheTimerSweepEndsExpiredSessionsAndTellsBothSides()
    {
        await using var kiosk = await RailCloudConnection.ConnectAsync(_host.Api, "KIOSK_01", RailCloudStack.Password);
        await kiosk.RegisterAsync();
        await using var monitor = await RailCloudConnection.ConnectAsync(_host.Api, "MONITOR_01", RailCloudStack.Password);
        await monitor.RegisterAsync();
        await monitor.StartMonitoringAsync("KIOSK_01");
        await Task.Delay(TimeSpan.FromSeconds(2.5)); // past the 2 s TTL, no heartbeats

        await _host.Services.GetRequiredService<SweepFunction>().Sweep(new TimerInfo(), CancellationToken.None);
        var ended = await monitor.WaitForAsync(m => (string?)m["event"] == Events.MonitoringEnded, TimeSpan.FromSeconds(10));
        var kioskTold = await kiosk.WaitForAsync(m => (string?)m["event"] == Events.MonitoringEnded, TimeSpan.FromSeconds(10));

        Assert.Equal(EndReasons.Expired, (string?)ended["reason"]);
        Assert.Equal(EndReasons.Expired, (string?)kioskTold["reason"]);
        Assert.Null(await _host.Services.GetRequiredService<SessionStore>().GetAsync("KIOSK_01"));
        // A second sweep (another instance, say) finds nothing more to do.
        await _host.Services.GetRequiredService<SweepFunction>().Sweep(new TimerInfo(), CancellationToken.None);
    }

    [Fact]
    public async Task ErrorsFromTheFunctionsAreProblemDetails()
    {
        using var badLogin = await _host.Http.PostAsync("api/login", new StringContent("{", System.Text.Encoding.UTF8, "application/json"));
        using var noToken = await _host.Http.PostAsync("api/negotiate", null);
        var body = JsonNode.Parse(await noToken.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.BadRequest, badLogin.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, noToken.StatusCode);
        Assert.Equal("application/problem+json", noToken.Content.Headers.ContentType?.MediaType);
        Assert.Equal((401, ErrorCodes.Unauthorized), ((int)body["status"]!, (string?)body["code"]));
    }
}
