using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using RailCloud.Protocol;

namespace RailCloud.Client;

/// <summary>The HTTP half of the API: login, negotiate, logout, kiosk list, audit trail and devices.</summary>
public sealed class RailCloudApi(HttpClient http)
{
    public HttpClient Http => http;

    public async Task<LoginResponse> LoginAsync(string id, string password, CancellationToken cancellationToken = default)
    {
        using var response = await http.PostAsJsonAsync("api/login", new LoginRequest(id, password), ProtocolJson.Options, cancellationToken).ConfigureAwait(false);
        return await ReadAsync<LoginResponse>(response, cancellationToken).ConfigureAwait(false);
    }

    public async Task<NegotiateResponse> NegotiateAsync(string accessToken, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Post, "api/negotiate", accessToken, null, cancellationToken).ConfigureAwait(false);
        return await ReadAsync<NegotiateResponse>(response, cancellationToken).ConfigureAwait(false);
    }

    public async Task LogoutAsync(string accessToken, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Post, "api/logout", accessToken, null, cancellationToken).ConfigureAwait(false);
        await EnsureAsync(response, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<KioskView>> ListKiosksAsync(string accessToken, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Get, "api/kiosks", accessToken, null, cancellationToken).ConfigureAwait(false);
        return await ReadAsync<List<KioskView>>(response, cancellationToken).ConfigureAwait(false);
    }

    public async Task<AuditPage> KioskEventsAsync(string accessToken, string kioskId, int pageSize = 50, string? continuationToken = null, CancellationToken cancellationToken = default)
    {
        var url = $"api/kiosks/{Uri.EscapeDataString(kioskId)}/events?pageSize={pageSize}" + (continuationToken is null ? "" : $"&continuationToken={Uri.EscapeDataString(continuationToken)}");
        using var response = await SendAsync(HttpMethod.Get, url, accessToken, null, cancellationToken).ConfigureAwait(false);
        return await ReadAsync<AuditPage>(response, cancellationToken).ConfigureAwait(false);
    }

    // ---- Devices ----

    public async Task<EnrolmentResponse> CreateEnrolmentAsync(string accessToken, string kioskId, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Post, $"api/kiosks/{Uri.EscapeDataString(kioskId)}/enrolments", accessToken, null, cancellationToken).ConfigureAwait(false);
        return await ReadAsync<EnrolmentResponse>(response, cancellationToken).ConfigureAwait(false);
    }

    public async Task<DeviceRegistrationResponse> RegisterDeviceAsync(string code, PublicJwk publicKey, string? name = null, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Post, "api/devices", null, new DeviceRegistrationRequest(code, publicKey, name), cancellationToken).ConfigureAwait(false);
        return await ReadAsync<DeviceRegistrationResponse>(response, cancellationToken).ConfigureAwait(false);
    }

    public async Task<NonceResponse> DeviceNonceAsync(CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Get, "api/devices/nonce", null, null, cancellationToken).ConfigureAwait(false);
        return await ReadAsync<NonceResponse>(response, cancellationToken).ConfigureAwait(false);
    }

    public async Task<LoginResponse> DeviceTokenAsync(string assertion, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Post, "api/devices/token", null, new DeviceTokenRequest(assertion), cancellationToken).ConfigureAwait(false);
        return await ReadAsync<LoginResponse>(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What a device's assertion names as its audience: the token route's absolute URL.</summary>
    public string DeviceTokenAudience => new Uri(http.BaseAddress!, "api/devices/token").ToString();

    /// <summary>Signs in as an enrolled device: a fresh nonce, an assertion signed with the device key, a token.</summary>
    public async Task<LoginResponse> SignInDeviceAsync(DeviceKey key, string deviceId, CancellationToken cancellationToken = default)
    {
        var nonce = await DeviceNonceAsync(cancellationToken).ConfigureAwait(false);
        return await DeviceTokenAsync(key.SignAssertion(deviceId, DeviceTokenAudience, nonce.Nonce), cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<DeviceView>> ListDevicesAsync(string accessToken, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Get, "api/devices", accessToken, null, cancellationToken).ConfigureAwait(false);
        return await ReadAsync<List<DeviceView>>(response, cancellationToken).ConfigureAwait(false);
    }

    public async Task RevokeDeviceAsync(string accessToken, string deviceId, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Delete, $"api/devices/{Uri.EscapeDataString(deviceId)}", accessToken, null, cancellationToken).ConfigureAwait(false);
        await EnsureAsync(response, cancellationToken).ConfigureAwait(false);
    }

    // ---- Accounts (supervisors) ----

    public async Task<IReadOnlyList<AccountView>> ListAccountsAsync(string accessToken, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Get, "api/accounts", accessToken, null, cancellationToken).ConfigureAwait(false);
        return await ReadAsync<List<AccountView>>(response, cancellationToken).ConfigureAwait(false);
    }

    public async Task<AccountCreated> CreateAccountAsync(string accessToken, string id, string role, string? password = null, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Post, "api/accounts", accessToken, new CreateAccountRequest(id, role, password), cancellationToken).ConfigureAwait(false);
        return await ReadAsync<AccountCreated>(response, cancellationToken).ConfigureAwait(false);
    }

    public async Task RemoveAccountAsync(string accessToken, string id, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Delete, $"api/accounts/{Uri.EscapeDataString(id)}", accessToken, null, cancellationToken).ConfigureAwait(false);
        await EnsureAsync(response, cancellationToken).ConfigureAwait(false);
    }

    public async Task<PasswordReset> ResetPasswordAsync(string accessToken, string id, string? password = null, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(HttpMethod.Post, $"api/accounts/{Uri.EscapeDataString(id)}/password", accessToken, new ResetPasswordRequest(password), cancellationToken).ConfigureAwait(false);
        return await ReadAsync<PasswordReset>(response, cancellationToken).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string url, string? accessToken, object? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, url);
        if (accessToken is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        }
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: ProtocolJson.Options);
        }
        return await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await EnsureAsync(response, cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadFromJsonAsync<T>(ProtocolJson.Options, cancellationToken).ConfigureAwait(false)
            ?? throw new RailCloudException(ErrorCodes.Unavailable, "The server answered with an empty body.", httpStatus: (int)response.StatusCode);
    }

    /// <summary>Turns a problem+json answer into a <see cref="RailCloudException"/> with the problem's code.</summary>
    private static async Task EnsureAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        string code = (int)response.StatusCode switch { 401 => ErrorCodes.Unauthorized, 403 => ErrorCodes.Forbidden, 429 => ErrorCodes.RateLimited, _ => ErrorCodes.Unavailable };
        var message = response.ReasonPhrase ?? "";
        try
        {
            using var doc = JsonDocument.Parse(text);
            if (doc.RootElement.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String) code = c.GetString()!;
            if (doc.RootElement.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String) message = d.GetString()!;
        }
        catch (JsonException)
        {
            message = text.Length > 300 ? text[..300] : text;
        }
        var retryAfter = response.Headers.RetryAfter is { } after ? after.Delta ?? (after.Date - DateTimeOffset.UtcNow) : null;
        throw new RailCloudException(code, message, httpStatus: (int)response.StatusCode, retryAfter: retryAfter);
    }
}
