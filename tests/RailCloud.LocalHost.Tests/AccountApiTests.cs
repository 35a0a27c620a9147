namespace RailCloud.LocalHost.Tests;

/// <summary>Account management over HTTP for supervisors (the dashboard's console), against Azurite and the emulator.</summary>
public sealed class AccountApiTests : IAsyncLifetime
{
    private RailCloudStack _stack = null!;
    private string _supervisor = "";

    public async Task InitializeAsync()
    {
        _stack = await RailCloudStack.StartAsync();
        await _stack.CreateAccountAsync("SUPERVISOR_01", Roles.Supervisor);
        await _stack.CreateAccountAsync("MONITOR_01", Roles.Monitor);
        _supervisor = (await _stack.Api.LoginAsync("SUPERVISOR_01", RailCloudStack.Password)).AccessToken;
    }

    public async Task DisposeAsync() => await _stack.DisposeAsync();

    private async Task<RailCloudException> RefusedAsync(Func<Task> call) => await Assert.ThrowsAsync<RailCloudException>(call);

    [Fact]
    public async Task ASupervisorAddsAKioskWithAGeneratedPasswordResetsItAndRemovesIt()
    {
        var created = await _stack.Api.CreateAccountAsync(_supervisor, "KIOSK_21", Roles.Kiosk);
        var first = await _stack.Api.LoginAsync("KIOSK_21", created.Password!);
        await using var connection = await RailCloudConnection.ConnectAsync(_stack.Api, first);
        await connection.RegisterAsync();

        var reset = await _stack.Api.ResetPasswordAsync(_supervisor, "KIOSK_21");
        var oldPassword = await RefusedAsync(() => _stack.Api.LoginAsync("KIOSK_21", created.Password!));
        var second = await _stack.Api.LoginAsync("KIOSK_21", reset.Password!);
        var listed = await _stack.Api.ListAccountsAsync(_supervisor);
        await _stack.Api.RemoveAccountAsync(_supervisor, "KIOSK_21");
        var afterRemoval = await RefusedAsync(() => _stack.Api.NegotiateAsync(second.AccessToken));
        var kiosks = await _stack.Api.ListKiosksAsync(_supervisor);

        Assert.Equal(16, created.Password!.Length);
        Assert.Equal(Roles.Kiosk, first.Role);
        Assert.NotEqual(created.Password, reset.Password);
        Assert.Equal(401, oldPassword.HttpStatus);
        Assert.Contains(listed, a => a is { Id: "KIOSK_21", Role: Roles.Kiosk, Source: "local", Locked: false });
        Assert.Equal(ErrorCodes.Unauthorized, afterRemoval.Code);
        Assert.DoesNotContain(kiosks, k => k.KioskId == "KIOSK_21");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (connection.ClosedReason is null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        Assert.NotNull(connection.ClosedReason);   // the reset closed its connection
    }

    [Fact]
    public async Task TheKioskListLeavesOutWhoWatchesWhenNobodyDoesAsTheContractSays()
    {
        // The dashboard refreshes this list every 10 s; a null here once showed every free kiosk as "Watched by null".
        await _stack.CreateAccountAsync("KIOSK_22", Roles.Kiosk);
        await using var kiosk = await _stack.ConnectAsync("KIOSK_22");
        using var http = new HttpClient { BaseAddress = _stack.BaseUri };
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/kiosks");
        request.Headers.Authorization = new("Bearer", _supervisor);
        using var response = await http.SendAsync(request);
        var listed = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsArray()
            .Single(k => (string?)k!["kioskId"] == "KIOSK_22")!.AsObject();

        Assert.True((bool)listed["online"]!);
        Assert.False(listed.ContainsKey("monitoredBy"), listed.ToJsonString());
    }

    [Fact]
    public async Task BadAccountsAreRefusedWithStableCodesAndChangeNothing()
    {
        var duplicate = await RefusedAsync(() => _stack.Api.CreateAccountAsync(_supervisor, "MONITOR_01", Roles.Monitor, "a-long-password"));
        var badRole = await RefusedAsync(() => _stack.Api.CreateAccountAsync(_supervisor, "X_1", "driver", "a-long-password"));
        var badId = await RefusedAsync(() => _stack.Api.CreateAccountAsync(_supervisor, "no spaces", Roles.Kiosk, "a-long-password"));
        var shortPassword = await RefusedAsync(() => _stack.Api.CreateAccountAsync(_supervisor, "X_2", Roles.Kiosk, "short"));
        var unknown = await RefusedAsync(() => _stack.Api.RemoveAccountAsync(_supervisor, "NOBODY"));
        var unknownReset = await RefusedAsync(() => _stack.Api.ResetPasswordAsync(_supervisor, "NOBODY"));
        var self = await RefusedAsync(() => _stack.Api.RemoveAccountAsync(_supervisor, "SUPERVISOR_01"));
        var accounts = await _stack.Api.ListAccountsAsync(_supervisor);

        Assert.Equal((409, ErrorCodes.AccountExists), (duplicate.HttpStatus, duplicate.Code));
        Assert.Equal(ErrorCodes.InvalidPayload, badRole.Code);
        Assert.Equal(ErrorCodes.InvalidPayload, badId.Code);
        Assert.Equal(ErrorCodes.InvalidPayload, shortPassword.Code);
        Assert.Equal((404, ErrorCodes.UnknownAccount), (unknown.HttpStatus, unknown.Code));
        Assert.Equal(ErrorCodes.UnknownAccount, unknownReset.Code);
        Assert.Equal(ErrorCodes.InvalidPayload, self.Code);
        Assert.Equal(["MONITOR_01", "SUPERVISOR_01"], accounts.Select(a => a.Id));
        await _stack.Api.LoginAsync("MONITOR_01", RailCloudStack.Password);   // the duplicate did not touch it
    }

    [Fact]
    public async Task OnlySupervisorsManageAccounts()
    {
        var monitor = (await _stack.Api.LoginAsync("MONITOR_01", RailCloudStack.Password)).AccessToken;

        Assert.Equal(ErrorCodes.Forbidden, (await RefusedAsync(() => _stack.Api.ListAccountsAsync(monitor))).Code);
        Assert.Equal(ErrorCodes.Forbidden, (await RefusedAsync(() => _stack.Api.CreateAccountAsync(monitor, "X_3", Roles.Supervisor))).Code);
        Assert.Equal(ErrorCodes.Forbidden, (await RefusedAsync(() => _stack.Api.RemoveAccountAsync(monitor, "SUPERVISOR_01"))).Code);
        Assert.Equal(ErrorCodes.Unauthorized, (await RefusedAsync(() => _stack.Api.ResetPasswordAsync("nope", "SUPERVISOR_01"))).Code);
        Assert.Equal(2, (await _stack.Api.ListAccountsAsync(_supervisor)).Count);
    }
}
