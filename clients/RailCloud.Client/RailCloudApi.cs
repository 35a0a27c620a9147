using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using RailCloud.Protocol;

namespace RailCloud.Client;

/// <summary>The HTTP half of the API: login, negotiate, logout, kiosk list and audit trail.</summary>
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
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/negotiate");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        return await ReadAsync<NegotiateResponse>(response, cancellationToken).ConfigureAwait(false);
    }

    public async Task LogoutAsync(string accessToken, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/logout");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        await EnsureAsync(response, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<KioskView>> ListKiosksAsync(string accessToken, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "api/kiosks");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        return await ReadAsync<List<KioskView>>(response, cancellationToken).ConfigureAwait(false);
    }

    public async Task<AuditPage> KioskEventsAsync(string accessToken, string kioskId, int pageSize = 50, string? continuationToken = null, CancellationToken cancellationToken = default)
    {
        var url = $"api/kiosks/{Uri.EscapeDataString(kioskId)}/events?pageSize={pageSize}" + (continuationToken is null ? "" : $"&continuationToken={Uri.EscapeDataString(continuationToken)}");
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        return await ReadAsync<AuditPage>(response, cancellationToken).ConfigureAwait(false);
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
        throw new RailCloudException(code, message, httpStatus: (int)response.StatusCode);
    }
}
