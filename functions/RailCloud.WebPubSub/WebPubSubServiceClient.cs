using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Azure.Core;
using Microsoft.Extensions.Http.Resilience;
using Polly;

namespace RailCloud.WebPubSub;

/// <summary>
/// A thin client for the Web PubSub data-plane REST API (api-version 2024-12-01) of one hub.
/// Key access signs each request with the access key; managed identity sends an Entra ID token.
/// Transient failures (408, 429, 5xx, network) are retried with exponential backoff; anything else
/// surfaces as <see cref="WebPubSubRequestException"/>.
/// </summary>
public sealed partial class WebPubSubServiceClient
{
    public const string ApiVersion = "2024-12-01";
    private const string EntraScope = "https://webpubsub.azure.com/.default";

    private readonly HttpClient _http;
    private readonly string? _accessKey;
    private readonly TimeProvider _time;

    public WebPubSubServiceClient(HttpClient http, Uri endpoint, string hub, string? accessKey, TimeProvider? time = null)
    {
        if (!WebPubSubOptions.HubPattern().IsMatch(hub))
        {
            throw new ArgumentException($"'{hub}' is not a valid hub name.", nameof(hub));
        }
        _http = http;
        Endpoint = new Uri(endpoint.GetLeftPart(UriPartial.Authority) + "/");
        Hub = hub;
        _accessKey = accessKey;
        _time = time ?? TimeProvider.System;
    }

    public Uri Endpoint { get; }

    /// <summary>The host clients connect to, when not <see cref="Endpoint"/> (a custom domain or a gateway).</summary>
    public Uri? ClientEndpoint { get; init; }

    public string Hub { get; }

    // ---- Client access ----

    /// <summary>
    /// The URL a client opens: <c>ws(s)://host/client/hubs/{hub}?access_token=...</c>. With a key the token is made
    /// locally; with managed identity the service makes it (<c>:generateToken</c>).
    /// </summary>
    public async Task<Uri> GetClientAccessUriAsync(string? userId, IEnumerable<string>? roles = null, IEnumerable<string>? groups = null, TimeSpan? lifetime = null, CancellationToken cancellationToken = default)
    {
        var life = lifetime ?? TimeSpan.FromMinutes(60);
        if (life <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(lifetime), "A client token needs a positive lifetime.");
        }
        string token;
        if (_accessKey is not null)
        {
            token = WebPubSubTokens.CreateClientToken(Endpoint, _accessKey, Hub, userId, roles, groups, life, _time.GetUtcNow());
        }
        else
        {
            var query = new QueryBuilder();
            query.Add("userId", userId);
            foreach (var role in roles ?? [])
            {
                query.Add("role", role);
            }
            foreach (var group in groups ?? [])
            {
                query.Add("group", group);
            }
            query.Add("minutesToExpire", ((int)Math.Ceiling(life.TotalMinutes)).ToString(System.Globalization.CultureInfo.InvariantCulture));
            using var response = await SendAsync(HttpMethod.Post, HubPath(":generateToken"), query, null, "generate client token", cancellationToken).ConfigureAwait(false);
            using var doc = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), cancellationToken: cancellationToken).ConfigureAwait(false);
            token = doc.RootElement.GetProperty("token").GetString() ?? throw new WebPubSubRequestException(response.StatusCode, null, "the answer had no token", "generate client token");
        }
        var client = ClientEndpoint ?? Endpoint;
        var scheme = client.Scheme == "https" ? "wss" : "ws";
        return new Uri($"{scheme}://{client.Authority}/client/hubs/{Uri.EscapeDataString(Hub)}?access_token={Uri.EscapeDataString(token)}");
    }

    /// <summary>True when the service answers its health endpoint.</summary>
    public async Task<bool> IsHealthyAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            using var response = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri(Endpoint, $"api/health?api-version={ApiVersion}")), cancellationToken).ConfigureAwait(false);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    // ---- Sends ----

    public Task SendToAllAsync(BinaryData content, WebPubSubContentType contentType, IEnumerable<string>? excluded = null, string? filter = null, CancellationToken cancellationToken = default)
    {
        var query = new QueryBuilder();
        foreach (var id in excluded ?? [])
        {
            query.Add("excluded", id);
        }
        query.Add("filter", filter);
        return SendContentAsync(HubPath(":send"), query, content, contentType, "send to all", cancellationToken);
    }

    public Task SendToGroupAsync(string group, BinaryData content, WebPubSubContentType contentType, IEnumerable<string>? excluded = null, string? filter = null, CancellationToken cancellationToken = default)
    {
        var query = new QueryBuilder();
        foreach (var id in excluded ?? [])
        {
            query.Add("excluded", id);
        }
        query.Add("filter", filter);
        return SendContentAsync(HubPath($"groups/{Segment(group)}/:send"), query, content, contentType, "send to group", cancellationToken);
    }

    public Task SendToUserAsync(string userId, BinaryData content, WebPubSubContentType contentType, string? filter = null, CancellationToken cancellationToken = default)
    {
        var query = new QueryBuilder();
        query.Add("filter", filter);
        return SendContentAsync(HubPath($"users/{Segment(userId)}/:send"), query, content, contentType, "send to user", cancellationToken);
    }

    public Task SendToConnectionAsync(string connectionId, BinaryData content, WebPubSubContentType contentType, CancellationToken cancellationToken = default) =>
        SendContentAsync(HubPath($"connections/{Segment(connectionId)}/:send"), new QueryBuilder(), content, contentType, "send to connection", cancellationToken);

    /// <summary>Serializes <paramref name="value"/> as JSON and sends it to one connection.</summary>
    public Task SendJsonToConnectionAsync<T>(string connectionId, T value, JsonSerializerOptions? options = null, CancellationToken cancellationToken = default) =>
        SendToConnectionAsync(connectionId, BinaryData.FromObjectAsJson(value, options), WebPubSubContentType.Json, cancellationToken);

    // ---- Groups ----

    public Task AddConnectionToGroupAsync(string group, string connectionId, CancellationToken cancellationToken = default) =>
        NoBodyAsync(HttpMethod.Put, HubPath($"groups/{Segment(group)}/connections/{Segment(connectionId)}"), "add connection to group", cancellationToken);

    public Task RemoveConnectionFromGroupAsync(string group, string connectionId, CancellationToken cancellationToken = default) =>
        NoBodyAsync(HttpMethod.Delete, HubPath($"groups/{Segment(group)}/connections/{Segment(connectionId)}"), "remove connection from group", cancellationToken);

    public Task AddUserToGroupAsync(string group, string userId, CancellationToken cancellationToken = default) =>
        NoBodyAsync(HttpMethod.Put, HubPath($"users/{Segment(userId)}/groups/{Segment(group)}"), "add user to group", cancellationToken);

    public Task RemoveUserFromGroupAsync(string group, string userId, CancellationToken cancellationToken = default) =>
        NoBodyAsync(HttpMethod.Delete, HubPath($"users/{Segment(userId)}/groups/{Segment(group)}"), "remove user from group", cancellationToken);

    public Task RemoveUserFromAllGroupsAsync(string userId, CancellationToken cancellationToken = default) =>
        NoBodyAsync(HttpMethod.Delete, HubPath($"users/{Segment(userId)}/groups"), "remove user from all groups", cancellationToken);

    public Task RemoveConnectionFromAllGroupsAsync(string connectionId, CancellationToken cancellationToken = default) =>
        NoBodyAsync(HttpMethod.Delete, HubPath($"connections/{Segment(connectionId)}/groups"), "remove connection from all groups", cancellationToken);

    /// <summary>Adds every connection matching <paramref name="filter"/> (OData) to each group.</summary>
    public Task AddConnectionsToGroupsAsync(IEnumerable<string> groups, string filter, CancellationToken cancellationToken = default) =>
        GroupsByFilterAsync(":addToGroups", groups, filter, "add connections to groups", cancellationToken);

    public Task RemoveConnectionsFromGroupsAsync(IEnumerable<string> groups, string filter, CancellationToken cancellationToken = default) =>
        GroupsByFilterAsync(":removeFromGroups", groups, filter, "remove connections from groups", cancellationToken);

    /// <summary>The connections in a group, page by page.</summary>
    public async IAsyncEnumerable<(string ConnectionId, string? UserId)> ListConnectionsInGroupAsync(string group, int? pageSize = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var query = new QueryBuilder();
        if (pageSize is { } size)
        {
            query.Add("maxpagesize", size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        string? path = HubPath($"groups/{Segment(group)}/connections");
        while (path is not null)
        {
            using var response = await SendAsync(HttpMethod.Get, path, query, null, "list group connections", cancellationToken).ConfigureAwait(false);
            using var doc = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), cancellationToken: cancellationToken).ConfigureAwait(false);
            foreach (var item in doc.RootElement.GetProperty("value").EnumerateArray())
            {
                yield return (item.GetProperty("connectionId").GetString()!,
                    item.TryGetProperty("userId", out var user) && user.ValueKind == JsonValueKind.String ? user.GetString() : null);
            }
            path = null;
            if (doc.RootElement.TryGetProperty("nextLink", out var next) && next.ValueKind == JsonValueKind.String)
            {
                var nextUri = new Uri(Endpoint, next.GetString()!);
                path = nextUri.AbsolutePath.TrimStart('/');
                query = QueryBuilder.FromQueryString(nextUri.Query);
            }
        }
    }

    // ---- Connections ----

    public Task CloseConnectionAsync(string connectionId, string? reason = null, CancellationToken cancellationToken = default)
    {
        var query = new QueryBuilder();
        query.Add("reason", reason);
        return NoBodyAsync(HttpMethod.Delete, HubPath($"connections/{Segment(connectionId)}"), "close connection", cancellationToken, query);
    }

    public Task CloseUserConnectionsAsync(string userId, IEnumerable<string>? excluded = null, string? reason = null, CancellationToken cancellationToken = default) =>
        CloseManyAsync($"users/{Segment(userId)}/:closeConnections", excluded, reason, "close user connections", cancellationToken);

    public Task CloseGroupConnectionsAsync(string group, IEnumerable<string>? excluded = null, string? reason = null, CancellationToken cancellationToken = default) =>
        CloseManyAsync($"groups/{Segment(group)}/:closeConnections", excluded, reason, "close group connections", cancellationToken);

    public Task CloseAllConnectionsAsync(IEnumerable<string>? excluded = null, string? reason = null, CancellationToken cancellationToken = default) =>
        CloseManyAsync(":closeConnections", excluded, reason, "close all connections", cancellationToken);

    public Task<bool> ConnectionExistsAsync(string connectionId, CancellationToken cancellationToken = default) =>
        ExistsAsync(HubPath($"connections/{Segment(connectionId)}"), new QueryBuilder(), "connection exists", cancellationToken);

    public Task<bool> UserExistsAsync(string userId, CancellationToken cancellationToken = default) =>
        ExistsAsync(HubPath($"users/{Segment(userId)}"), new QueryBuilder(), "user exists", cancellationToken);

    public Task<bool> GroupExistsAsync(string group, CancellationToken cancellationToken = default) =>
        ExistsAsync(HubPath($"groups/{Segment(group)}"), new QueryBuilder(), "group exists", cancellationToken);

    // ---- Permissions ----

    public Task GrantPermissionAsync(WebPubSubPermission permission, string connectionId, string? targetName = null, CancellationToken cancellationToken = default) =>
        NoBodyAsync(HttpMethod.Put, PermissionPath(permission, connectionId), "grant permission", cancellationToken, TargetQuery(targetName));

    public Task RevokePermissionAsync(WebPubSubPermission permission, string connectionId, string? targetName = null, CancellationToken cancellationToken = default) =>
        NoBodyAsync(HttpMethod.Delete, PermissionPath(permission, connectionId), "revoke permission", cancellationToken, TargetQuery(targetName));

    public Task<bool> CheckPermissionAsync(WebPubSubPermission permission, string connectionId, string? targetName = null, CancellationToken cancellationToken = default) =>
        ExistsAsync(PermissionPath(permission, connectionId), TargetQuery(targetName), "check permission", cancellationToken);
}
