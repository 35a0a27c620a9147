using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Azure.Core;
using Microsoft.Extensions.Http.Resilience;
using Polly;

namespace RailCloud.WebPubSub;

/// <summary>The REST plumbing under the operations: paths, queries, requests, and failures as <see cref="WebPubSubRequestException"/>.</summary>
public sealed partial class WebPubSubServiceClient
{
    // ---- Plumbing ----

    private string HubPath(string rest) => $"api/hubs/{Segment(Hub)}/{rest}";

    private string PermissionPath(WebPubSubPermission permission, string connectionId) =>
        HubPath($"permissions/{permission.ToPathSegment()}/connections/{Segment(connectionId)}");

    private static QueryBuilder TargetQuery(string? targetName)
    {
        var query = new QueryBuilder();
        query.Add("targetName", targetName);
        return query;
    }

    private static string Segment(string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(value);
        return Uri.EscapeDataString(value);
    }

    private async Task SendContentAsync(string path, QueryBuilder query, BinaryData content, WebPubSubContentType contentType, string operation, CancellationToken cancellationToken)
    {
        var body = new ReadOnlyMemoryContent(content.ToMemory());
        body.Headers.ContentType = new MediaTypeHeaderValue(contentType.ToMediaType());
        using var response = await SendAsync(HttpMethod.Post, path, query, body, operation, cancellationToken).ConfigureAwait(false);
    }

    private async Task NoBodyAsync(HttpMethod method, string path, string operation, CancellationToken cancellationToken, QueryBuilder? query = null)
    {
        using var response = await SendAsync(method, path, query ?? new QueryBuilder(), null, operation, cancellationToken).ConfigureAwait(false);
    }

    private Task CloseManyAsync(string rest, IEnumerable<string>? excluded, string? reason, string operation, CancellationToken cancellationToken)
    {
        var query = new QueryBuilder();
        foreach (var id in excluded ?? [])
        {
            query.Add("excluded", id);
        }
        query.Add("reason", reason);
        return NoBodyAsync(HttpMethod.Post, HubPath(rest), operation, cancellationToken, query);
    }

    private async Task GroupsByFilterAsync(string action, IEnumerable<string> groups, string filter, string operation, CancellationToken cancellationToken)
    {
        var body = JsonContent(new { groups = groups.ToArray(), filter });
        using var response = await SendAsync(HttpMethod.Post, HubPath(action), new QueryBuilder(), body, operation, cancellationToken).ConfigureAwait(false);
    }

    private async Task<bool> ExistsAsync(string path, QueryBuilder query, string operation, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(HttpMethod.Head, path, query, null, operation, cancellationToken, allowNotFound: true).ConfigureAwait(false);
        return response.StatusCode != HttpStatusCode.NotFound;
    }

    private static ByteArrayContent JsonContent<T>(T value)
    {
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(value));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, QueryBuilder query, HttpContent? content, string operation, CancellationToken cancellationToken, bool allowNotFound = false)
    {
        query.Add("api-version", ApiVersion);
        using var request = new HttpRequestMessage(method, new Uri(Endpoint, path + query.ToQueryString())) { Content = content };
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new WebPubSubRequestException(ex.StatusCode ?? HttpStatusCode.ServiceUnavailable, "Unreachable", ex.Message, operation);
        }
        if (response.IsSuccessStatusCode || (allowNotFound && response.StatusCode == HttpStatusCode.NotFound))
        {
            return response;
        }
        using (response)
        {
            throw await ToExceptionAsync(response, operation, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<WebPubSubRequestException> ToExceptionAsync(HttpResponseMessage response, string operation, CancellationToken cancellationToken)
    {
        var code = response.Headers.TryGetValues("x-ms-error-code", out var codes) ? codes.FirstOrDefault() : null;
        var message = response.ReasonPhrase ?? response.StatusCode.ToString();
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (text.Length > 0)
        {
            try
            {
                using var doc = JsonDocument.Parse(text);
                if (doc.RootElement.ValueKind == JsonValueKind.Object)
                {
                    if (doc.RootElement.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String)
                    {
                        message = m.GetString()!;
                    }
                    if (code is null && doc.RootElement.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String)
                    {
                        code = c.GetString();
                    }
                }
            }
            catch (JsonException)
            {
                message = text.Length > 500 ? text[..500] : text;
            }
        }
        return new WebPubSubRequestException(response.StatusCode, code, message, operation);
    }

    /// <summary>Sets the bearer token on every attempt, so a retried request carries a fresh one.</summary>
    private sealed class AuthenticationHandler(Func<HttpRequestMessage, CancellationToken, ValueTask<string>> bearer) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await bearer(request, cancellationToken).ConfigureAwait(false));
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Repeatable query parameters, escaped once.</summary>
    private sealed class QueryBuilder
    {
        private readonly List<KeyValuePair<string, string>> _items = [];

        public void Add(string name, string? value)
        {
            if (value is not null)
            {
                _items.Add(new(name, value));
            }
        }

        public static QueryBuilder FromQueryString(string query)
        {
            var builder = new QueryBuilder();
            foreach (var pair in query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = pair.IndexOf('=');
                var name = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
                if (name != "api-version")
                {
                    builder.Add(name, eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]));
                }
            }
            return builder;
        }

        public string ToQueryString()
        {
            var text = new StringBuilder();
            foreach (var (name, value) in _items)
            {
                text.Append(text.Length == 0 ? '?' : '&').Append(Uri.EscapeDataString(name)).Append('=').Append(Uri.EscapeDataString(value));
            }
            return text.ToString();
        }
    }
}
