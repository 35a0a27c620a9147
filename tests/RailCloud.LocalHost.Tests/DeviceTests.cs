using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using RailCloud.Signaling.Devices;
using RailCloud.Signaling.Sessions;
using RailCloud.Signaling.Storage;

namespace RailCloud.LocalHost.Tests;

/// <summary>Unattended kiosks: enrolment codes, device keys, assertions and revocation, through Azurite and the emulator.</summary>
public sealed class DeviceTests : IAsyncLifetime
{
    private RailCloudStack _stack = null!;
    private string _supervisor = "";

    public async Task InitializeAsync()
    {
        _stack = await RailCloudStack.StartAsync();
        await _stack.CreateAccountAsync("KIOSK_01", Roles.Kiosk);
        await _stack.CreateAccountAsync("KIOSK_02", Roles.Kiosk);
        await _stack.CreateAccountAsync("MONITOR_01", Roles.Monitor);
        await _stack.CreateAccountAsync("SUPERVISOR_01", Roles.Supervisor);
        _supervisor = (await _stack.Api.LoginAsync("SUPERVISOR_01", RailCloudStack.Password)).AccessToken;
    }

    public async Task DisposeAsync() => await _stack.DisposeAsync();

    private static TimeSpan Wait => TimeSpan.FromSeconds(10);

    private async Task<(DeviceKey Key, string DeviceId)> EnrolAsync(string kioskId, string? name = null)
    {
        var enrolment = await _stack.Api.CreateEnrolmentAsync(_supervisor, kioskId);
        var key = DeviceKey.Create();
        var device = await _stack.Api.RegisterDeviceAsync(enrolment.Code, key.PublicJwk, name);
        return (key, device.DeviceId);
    }

    private async Task<string> RefusalCodeAsync(Func<Task> call) => (await Assert.ThrowsAsync<RailCloudException>(call)).Code;

    [Fact]
    public async Task ASupervisorsCodeEnrolsADeviceThatThenSignsInWithItsKeyAndGoesOnline()
    {
        await using var monitor = await _stack.ConnectAsync("MONITOR_01");
        var enrolment = await _stack.Api.CreateEnrolmentAsync(_supervisor, "KIOSK_01");
        using var key = DeviceKey.Create();
        var device = await _stack.Api.RegisterDeviceAsync(enrolment.Code, key.PublicJwk, "Depot wall, platform 2");

        var login = await _stack.Api.SignInDeviceAsync(key, device.DeviceId);
        await using var kiosk = await RailCloudConnection.ConnectAsync(_stack.Api, login);
        await kiosk.RegisterAsync();
        var online = await monitor.WaitForAsync(m => (string?)m["event"] == Events.KioskOnline && (string?)m["kioskId"] == "KIOSK_01", Wait);
        var listed = Assert.Single(await _stack.Api.ListDevicesAsync(_supervisor), d => d.DeviceId == device.DeviceId);
        var audit = (await _stack.Api.KioskEventsAsync(_supervisor, "KIOSK_01")).Items.Select(e => e.Kind).ToList();

        Assert.True(enrolment.Code.Length >= 26, "at least 128 bits in base32");   // 32 characters: 160 bits
        Assert.Equal($"{_stack.BaseUri}kiosk?enrol={enrolment.Code}", enrolment.Url);
        Assert.InRange(enrolment.ExpiresAt - DateTimeOffset.UtcNow, TimeSpan.FromHours(23.9), TimeSpan.FromHours(24));
        Assert.Equal("KIOSK_01", device.KioskId);
        Assert.Equal(("KIOSK_01", Roles.Kiosk), (login.Id, login.Role));
        Assert.NotNull(online);
        Assert.Equal(("KIOSK_01", "Depot wall, platform 2", "SUPERVISOR_01"), (listed.KioskId, listed.Name, listed.EnrolledBy));
        Assert.NotNull(listed.LastSeen);
        Assert.Contains("enrolment-created", audit);
        Assert.Contains("device-enrolled", audit);
        Assert.Contains("device-signed-in", audit);
    }

    [Fact]
    public async Task TheCodeIsStoredOnlyAsAHashAndWorksOnceOnlyBeforeItExpiresAndOnlyUntilANewOneIsMade()
    {
        var first = await _stack.Api.CreateEnrolmentAsync(_supervisor, "KIOSK_02");
        var second = await _stack.Api.CreateEnrolmentAsync(_supervisor, "KIOSK_02");
        using var key = DeviceKey.Create();

        var voided = await RefusalCodeAsync(() => _stack.Api.RegisterDeviceAsync(first.Code, key.PublicJwk));
        var device = await _stack.Api.RegisterDeviceAsync(second.Code.ToLowerInvariant(), key.PublicJwk);   // typed in lower case
        var reused = await RefusalCodeAsync(() => _stack.Api.RegisterDeviceAsync(second.Code, key.PublicJwk));

        var third = await _stack.Api.CreateEnrolmentAsync(_supervisor, "KIOSK_02");
        var table = _stack.Services.GetRequiredService<Tables>().Devices;
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(third.Code)));
        var row = (await table.GetEntityAsync<TableEntity>("code", hash)).Value;
        var rows = new List<TableEntity>();
        await foreach (var r in table.QueryAsync<TableEntity>())
        {
            rows.Add(r);
        }
        row["ExpiresAt"] = DateTimeOffset.UtcNow.AddSeconds(-1);
        await table.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace);
        var expired = await RefusalCodeAsync(() => _stack.Api.RegisterDeviceAsync(third.Code, key.PublicJwk));

        Assert.Equal(ErrorCodes.EnrolmentInvalid, voided);
        Assert.Equal("KIOSK_02", device.KioskId);
        Assert.Equal(ErrorCodes.EnrolmentInvalid, reused);
        Assert.Equal(ErrorCodes.EnrolmentInvalid, expired);
        Assert.DoesNotContain(rows, r => r.Select(p => p.Value).OfType<string>().Any(v => v.Contains(third.Code, StringComparison.OrdinalIgnoreCase)));
    }

    [Fact]
    public async Task TwoDevicesRacingWithOneCodeGiveOneDevice()
    {
        var enrolment = await _stack.Api.CreateEnrolmentAsync(_supervisor, "KIOSK_01");
        var keys = Enumerable.Range(0, 8).Select(_ => DeviceKey.Create()).ToList();
        using var start = new SemaphoreSlim(0);
        var attempts = keys.Select(async key =>
        {
            await start.WaitAsync();
            try
            {
                return (await _stack.Api.RegisterDeviceAsync(enrolment.Code, key.PublicJwk)).DeviceId;
            }
            catch (RailCloudException ex) when (ex.Code == ErrorCodes.EnrolmentInvalid)
            {
                return null;
            }
        }).ToList();
        start.Release(keys.Count);
        var results = await Task.WhenAll(attempts);

        var winner = Assert.Single(results, r => r is not null);
        Assert.Single(await _stack.Api.ListDevicesAsync(_supervisor), d => d.DeviceId == winner);
        keys.ForEach(k => k.Dispose());
    }

    [Fact]
    public async Task EveryBadAssertionIsRefusedWithItsCodeAndUsesUpNothing()
    {
        var (key, deviceId) = await EnrolAsync("KIOSK_01");
        using var stranger = DeviceKey.Create();
        var audience = _stack.Api.DeviceTokenAudience;
        async Task<string> Refused(Func<string, string> assertionFor)
        {
            var nonce = (await _stack.Api.DeviceNonceAsync()).Nonce;
            var code = await RefusalCodeAsync(() => _stack.Api.DeviceTokenAsync(assertionFor(nonce)));
            // Nothing was used up: the same nonce still signs the device in.
            await _stack.Api.DeviceTokenAsync(key.SignAssertion(deviceId, audience, nonce));
            return code;
        }

        Assert.Equal(ErrorCodes.AssertionInvalid, await Refused(n => stranger.SignAssertion(deviceId, audience, n)));                       // another key
        Assert.Equal(ErrorCodes.AssertionInvalid, await Refused(n => key.SignAssertion(deviceId, audience, n, alg: "ES384")));              // not ES256
        Assert.Equal(ErrorCodes.AssertionInvalid, await Refused(n => Unsigned(deviceId, audience, n)));                                      // alg none
        Assert.Equal(ErrorCodes.AssertionInvalid, await Refused(n => key.SignAssertion(deviceId, "https://elsewhere.example/api/devices/token", n)));
        Assert.Equal(ErrorCodes.AssertionInvalid, await Refused(n => key.SignAssertion(deviceId, audience, n, now: DateTimeOffset.UtcNow.AddMinutes(-10))));
        Assert.Equal(ErrorCodes.AssertionInvalid, await Refused(n => key.SignAssertion(deviceId, audience, n, now: DateTimeOffset.UtcNow.AddMinutes(10))));
        Assert.Equal(ErrorCodes.AssertionInvalid, await Refused(n => key.SignAssertion(deviceId, audience, n, jti: "short")));
        Assert.Equal(ErrorCodes.AssertionInvalid, await Refused(n => "not.a-jwt"));
        Assert.Equal(ErrorCodes.DeviceUnknown, await Refused(n => key.SignAssertion("dev-" + new string('0', 32), audience, n)));
        Assert.Equal(ErrorCodes.NonceInvalid, await Refused(n => key.SignAssertion(deviceId, audience, "never-issued-" + n)));

        // Replays: the same assertion twice (its nonce is gone), and a new nonce with a jti used before.
        var nonce = (await _stack.Api.DeviceNonceAsync()).Nonce;
        var assertion = key.SignAssertion(deviceId, audience, nonce, jti: "jti-used-once-0123456789");
        await _stack.Api.DeviceTokenAsync(assertion);
        Assert.Equal(ErrorCodes.NonceInvalid, await RefusalCodeAsync(() => _stack.Api.DeviceTokenAsync(assertion)));
        var fresh = (await _stack.Api.DeviceNonceAsync()).Nonce;
        Assert.Equal(ErrorCodes.AssertionReplayed, await RefusalCodeAsync(() => _stack.Api.DeviceTokenAsync(key.SignAssertion(deviceId, audience, fresh, jti: "jti-used-once-0123456789"))));
        key.Dispose();
    }

    private static string Unsigned(string deviceId, string audience, string nonce)
    {
        static string Part(object value) => Convert.ToBase64String(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(value)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return $"{Part(new { alg = "none", typ = "JWT" })}.{Part(new { sub = deviceId, aud = audience, iat = DateTimeOffset.UtcNow.ToUnixTimeSeconds(), jti = Guid.NewGuid().ToString("N"), nonce })}.";
    }

    [Fact]
    public async Task ABadPublicKeyIsRefusedAndLeavesTheCodeUsable()
    {
        var enrolment = await _stack.Api.CreateEnrolmentAsync(_supervisor, "KIOSK_01");
        using var key = DeviceKey.Create();
        var jwk = key.PublicJwk;

        var offCurve = await RefusalCodeAsync(() => _stack.Api.RegisterDeviceAsync(enrolment.Code, jwk with { Y = jwk.X }));
        var wrongCurve = await RefusalCodeAsync(() => _stack.Api.RegisterDeviceAsync(enrolment.Code, jwk with { Crv = "P-384" }));
        var rsa = await RefusalCodeAsync(() => _stack.Api.RegisterDeviceAsync(enrolment.Code, jwk with { Kty = "RSA" }));
        var device = await _stack.Api.RegisterDeviceAsync(enrolment.Code, jwk);

        Assert.Equal([ErrorCodes.InvalidPayload, ErrorCodes.InvalidPayload, ErrorCodes.InvalidPayload], [offCurve, wrongCurve, rsa]);
        Assert.StartsWith("dev-", device.DeviceId);
    }

    [Fact]
    public async Task RevokingADeviceClosesItsConnectionAndVoidsItsTokensWhileTheSpareStaysOnline()
    {
        var (key, deviceId) = await EnrolAsync("KIOSK_01", "main");
        var (spareKey, spareId) = await EnrolAsync("KIOSK_01", "spare");
        var login = await _stack.Api.SignInDeviceAsync(key, deviceId);
        var spareLogin = await _stack.Api.SignInDeviceAsync(spareKey, spareId);
        await using var connection = await RailCloudConnection.ConnectAsync(_stack.Api, login);
        await connection.RegisterAsync();
        var earlierUrl = (await _stack.Api.NegotiateAsync(login.AccessToken)).Url;

        await _stack.Api.RevokeDeviceAsync(_supervisor, deviceId);
        var deadline = DateTime.UtcNow + Wait;
        while (connection.ClosedReason is null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.NotNull(connection.ClosedReason);
        Assert.Equal(ErrorCodes.Unauthorized, await RefusalCodeAsync(() => _stack.Api.NegotiateAsync(login.AccessToken)));
        Assert.Equal(ErrorCodes.DeviceRevoked, await RefusalCodeAsync(() => _stack.Api.SignInDeviceAsync(key, deviceId)));
        using (var socket = new ClientWebSocket())
        {
            socket.Options.AddSubProtocol(RailCloudConnection.Subprotocol);
            await Assert.ThrowsAnyAsync<WebSocketException>(() => socket.ConnectAsync(new Uri(earlierUrl), CancellationToken.None));
        }
        Assert.NotNull(await _stack.Api.NegotiateAsync(spareLogin.AccessToken));
        var devices = await _stack.Api.ListDevicesAsync(_supervisor);
        Assert.DoesNotContain(devices, d => d.DeviceId == deviceId);
        Assert.Contains(devices, d => d.DeviceId == spareId);
        Assert.Contains((await _stack.Api.KioskEventsAsync(_supervisor, "KIOSK_01")).Items, e => e.Kind == "device-revoked" && e.DeviceId == deviceId && e.By == "SUPERVISOR_01");
        key.Dispose();
        spareKey.Dispose();
    }

    [Fact]
    public async Task OnlySupervisorsManageDevicesAndOnlyForKioskAccounts()
    {
        var monitor = (await _stack.Api.LoginAsync("MONITOR_01", RailCloudStack.Password)).AccessToken;

        Assert.Equal(ErrorCodes.Forbidden, await RefusalCodeAsync(() => _stack.Api.CreateEnrolmentAsync(monitor, "KIOSK_01")));
        Assert.Equal(ErrorCodes.Forbidden, await RefusalCodeAsync(() => _stack.Api.ListDevicesAsync(monitor)));
        Assert.Equal(ErrorCodes.Forbidden, await RefusalCodeAsync(() => _stack.Api.RevokeDeviceAsync(monitor, "dev-" + new string('0', 32))));
        Assert.Equal(ErrorCodes.Unauthorized, await RefusalCodeAsync(() => _stack.Api.CreateEnrolmentAsync("not-a-token", "KIOSK_01")));
        Assert.Equal(ErrorCodes.UnknownKiosk, await RefusalCodeAsync(() => _stack.Api.CreateEnrolmentAsync(_supervisor, "KIOSK_99")));
        Assert.Equal(ErrorCodes.UnknownKiosk, await RefusalCodeAsync(() => _stack.Api.CreateEnrolmentAsync(_supervisor, "MONITOR_01")));
        Assert.Equal(ErrorCodes.DeviceUnknown, await RefusalCodeAsync(() => _stack.Api.RevokeDeviceAsync(_supervisor, "dev-" + new string('0', 32))));
    }

    [Fact]
    public async Task TheSweepDeletesExpiredNoncesAndKeepsLiveOnes()
    {
        var stale = (await _stack.Api.DeviceNonceAsync()).Nonce;
        var live = (await _stack.Api.DeviceNonceAsync()).Nonce;
        var table = _stack.Services.GetRequiredService<Tables>().Devices;
        var row = (await table.GetEntityAsync<TableEntity>("nonce", stale)).Value;
        row["ExpiresAt"] = DateTimeOffset.UtcNow.AddMinutes(-1);
        await table.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace);

        await _stack.Services.GetRequiredService<RailCloud.Signaling.Sessions.Sweeper>().SweepAsync();

        Assert.False((await table.GetEntityIfExistsAsync<TableEntity>("nonce", stale)).HasValue);
        Assert.True((await table.GetEntityIfExistsAsync<TableEntity>("nonce", live)).HasValue);
    }

    [Fact]
    public async Task InAppServiceTheAppsOwnHostNameIsAValidAudience()
    {
        // App Service sets WEBSITE_HOSTNAME; the worker behind the Functions host may see another Host header.
        await using var stack = await RailCloudStack.StartAsync(new Dictionary<string, string?> { ["WEBSITE_HOSTNAME"] = "func-railcloud.azurewebsites.net" });
        await stack.CreateAccountAsync("KIOSK_05", Roles.Kiosk);
        await stack.CreateAccountAsync("SUPERVISOR_05", Roles.Supervisor);
        var supervisor = (await stack.Api.LoginAsync("SUPERVISOR_05", RailCloudStack.Password)).AccessToken;
        var enrolment = await stack.Api.CreateEnrolmentAsync(supervisor, "KIOSK_05");
        using var key = DeviceKey.Create();
        var device = await stack.Api.RegisterDeviceAsync(enrolment.Code, key.PublicJwk);

        var login = await stack.Api.DeviceTokenAsync(key.SignAssertion(device.DeviceId, "https://func-railcloud.azurewebsites.net/api/devices/token", (await stack.Api.DeviceNonceAsync()).Nonce));
        var elsewhere = await RefusalCodeAsync(() => stack.Api.DeviceTokenAsync(key.SignAssertion(device.DeviceId, "https://func-other.azurewebsites.net/api/devices/token", stack.Api.DeviceNonceAsync().Result.Nonce)));

        Assert.Equal("KIOSK_05", login.Id);
        Assert.Equal(ErrorCodes.AssertionInvalid, elsewhere);
    }

    [Fact]
    public async Task DeviceSignInHasAnAllowanceOfItsOwnPerAddressWithRetryAfter()
    {
        await using var stack = await RailCloudStack.StartAsync(new Dictionary<string, string?>
        {
            ["Auth:LoginsPerMinutePerAddress"] = "3",
            ["Devices:SignInsPerMinutePerAddress"] = "4",
        });
        await stack.CreateAccountAsync("MONITOR_01", Roles.Monitor);

        for (var i = 0; i < 4; i++)
        {
            await stack.Api.DeviceNonceAsync();
        }
        using var http = new HttpClient { BaseAddress = stack.BaseUri };
        using var limited = await http.PostAsync("api/devices/token", new StringContent("""{"assertion":"a.b.c"}""", Encoding.UTF8, "application/json"));
        var login = await stack.Api.LoginAsync("MONITOR_01", RailCloudStack.Password);   // the password allowance is untouched

        Assert.Equal(429, (int)limited.StatusCode);
        Assert.Contains("\"rate-limited\"", await limited.Content.ReadAsStringAsync());
        Assert.Equal(TimeSpan.FromSeconds(60), limited.Headers.RetryAfter?.Delta);
        Assert.Equal("MONITOR_01", login.Id);
    }

    [Fact]
    public async Task ADepotOfSixtyEnrolledKiosksBehindOneAddressComesBackAtOnceWithTheProductionLimits()
    {
        // The production allowances (the stack raises the password one for its other tests); every request below comes
        // from 127.0.0.1, as a depot's kiosks come from its one NAT address.
        await using var stack = await RailCloudStack.StartAsync(new Dictionary<string, string?> { ["Auth:LoginsPerMinutePerAddress"] = "30" });
        const int Depot = 60;
        var devices = stack.Services.GetRequiredService<DeviceEnrolment>();
        var enrolled = new (string KioskId, string DeviceId, DeviceKey Key)[Depot];
        await Parallel.ForEachAsync(Enumerable.Range(0, Depot), async (i, ct) =>
        {
            var kioskId = $"DEPOT_{i:D2}";
            await stack.CreateAccountAsync(kioskId, Roles.Kiosk);
            var code = (await devices.CreateEnrolmentAsync(kioskId, "SUPERVISOR_01", stack.BaseUri, ct)).Value!.Code;
            var key = DeviceKey.Create();
            var device = (await devices.RegisterAsync(new DeviceRegistrationRequest(code, key.PublicJwk, null), null, ct)).Value!;
            enrolled[i] = (kioskId, device.DeviceId, key);
        });
        await stack.CreateAccountAsync("MONITOR_01", Roles.Monitor);

        // Power is back: every kiosk signs in with its key at once (nonce, then token), connects and registers.
        var refusals = new System.Collections.Concurrent.ConcurrentBag<string>();
        var connections = await Task.WhenAll(enrolled.Select(async d =>
        {
            try
            {
                var connection = await RailCloudConnection.ConnectAsync(stack.Api, await stack.Api.SignInDeviceAsync(d.Key, d.DeviceId));
                await connection.RegisterAsync();
                return connection;
            }
            catch (RailCloudException ex)
            {
                refusals.Add($"{d.KioskId}: {ex.Code}");
                return null;
            }
        }));
        try
        {
            var monitor = await stack.Api.LoginAsync("MONITOR_01", RailCloudStack.Password);   // a control-room screen at the same address
            var online = (await stack.Api.ListKiosksAsync(monitor.AccessToken)).Count(k => k.KioskId.StartsWith("DEPOT_", StringComparison.Ordinal) && k.Online);

            Assert.Empty(refusals);
            Assert.Equal(Depot, online);
        }
        finally
        {
            foreach (var connection in connections.OfType<RailCloudConnection>())
            {
                await connection.DisposeAsync();
            }
            foreach (var (_, _, key) in enrolled)
            {
                key.Dispose();
            }
        }
    }
}
