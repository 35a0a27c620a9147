using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;

namespace RailCloud.WebPubSubEmulator;

/// <summary>
/// The data-plane REST API (<c>/api/hubs/{hub}/...</c>, api-versions 2021-10-01 to 2024-12-01): sends, groups,
/// closes, existence checks, permissions and client tokens. Requests carry a JWT signed with the access key whose
/// audience is the request URL. Errors are <c>{code, message}</c> with an <c>x-ms-error-code</c> header.
/// </summary>
public static class RestApi
{
    private const int MaxBodyBytes = 1024 * 1024;

    public static void MapRestApi(this WebApplication app)
    {
        app.MapMethods("/api/health", ["GET", "HEAD"], () => TypedResults.Ok());

        var api = app.MapGroup("/api/hubs/{hub}").AddEndpointFilter(Authorize);

        api.MapPost("/:send", (HttpRequest request, string hub, [FromQuery] string[]? excluded, string? filter, HubRegistry hubs) =>
            Send(request, hubs.Get(hub), h => h.Connections(), excluded, filter, (c, payload, kind) => c.SendServerData(payload, kind)));
        api.MapPost("/groups/{group}/:send", (HttpRequest request, string hub, string group, [FromQuery] string[]? excluded, string? filter, HubRegistry hubs) =>
            !Validation.IsGroupName(group) ? Task.FromResult(BadGroup(group))
            : Send(request, hubs.Get(hub), h => h.GroupConnections(group), excluded, filter, (c, payload, kind) => c.SendGroupData(group, null, payload, kind)));
        api.MapPost("/users/{userId}/:send", (HttpRequest request, string hub, string userId, string? filter, HubRegistry hubs) =>
            Send(request, hubs.Get(hub), h => h.UserConnections(userId), null, filter, (c, payload, kind) => c.SendServerData(payload, kind)));
        api.MapPost("/connections/{connectionId}/:send", (HttpRequest request, string hub, string connectionId, HubRegistry hubs) =>
            Send(request, hubs.Get(hub), h => h.Find(connectionId) is { Ended: false } c ? [c] : [], null, null, (c, payload, kind) => c.SendServerData(payload, kind)));

        api.MapPut("/groups/{group}/connections/{connectionId}", (string hub, string group, string connectionId, HubRegistry hubs) =>
        {
            if (!Validation.IsGroupName(group)) return BadGroup(group);
            var h = hubs.Get(hub);
            if (h.Find(connectionId) is not { Ended: false } c)
            {
                return Error(404, "NotFound", $"Connection '{connectionId}' does not exist.");
            }
            h.Join(c, group);
            return Results.Ok();
        });
        api.MapDelete("/groups/{group}/connections/{connectionId}", (string hub, string group, string connectionId, HubRegistry hubs) =>
        {
            if (!Validation.IsGroupName(group)) return BadGroup(group);
            var h = hubs.Get(hub);
            if (h.Find(connectionId) is { } c) h.Leave(c, group);
            return Results.NoContent();
        });
        api.MapPut("/users/{userId}/groups/{group}", (string hub, string userId, string group, HubRegistry hubs) =>
        {
            if (!Validation.IsGroupName(group)) return BadGroup(group);
            hubs.Get(hub).AddUserToGroup(userId, group);
            return Results.Ok();
        });
        api.MapDelete("/users/{userId}/groups/{group}", (string hub, string userId, string group, HubRegistry hubs) =>
        {
            if (!Validation.IsGroupName(group)) return BadGroup(group);
            hubs.Get(hub).RemoveUserFromGroup(userId, group);
            return Results.NoContent();
        });
        api.MapDelete("/users/{userId}/groups", (string hub, string userId, HubRegistry hubs) =>
        {
            hubs.Get(hub).RemoveUserFromAllGroups(userId);
            return Results.NoContent();
        });
        api.MapDelete("/connections/{connectionId}/groups", (string hub, string connectionId, HubRegistry hubs) =>
        {
            var h = hubs.Get(hub);
            if (h.Find(connectionId) is { } c) h.LeaveAll(c);
            return Results.NoContent();
        });
        api.MapPost("/:addToGroups", (HttpRequest request, string hub, HubRegistry hubs) => GroupsByFilter(request, hubs.Get(hub), add: true));
        api.MapPost("/:removeFromGroups", (HttpRequest request, string hub, HubRegistry hubs) => GroupsByFilter(request, hubs.Get(hub), add: false));
        api.MapGet("/groups/{group}/connections", (HttpRequest request, string hub, string group, int? maxpagesize, int? top, string? continuationToken, HubRegistry hubs) =>
            ListGroup(request, hubs.Get(hub), group, maxpagesize, top, continuationToken));

        api.MapDelete("/connections/{connectionId}", (string hub, string connectionId, string? reason, HubRegistry hubs, ConnectionLifecycle lifecycle) =>
        {
            if (hubs.Get(hub).Find(connectionId) is { } c)
            {
                lifecycle.Close(c, WebSocketCloseStatus.NormalClosure, reason ?? "Closed by the server.");
            }
            return Results.NoContent();
        });
        api.MapPost("/:closeConnections", (string hub, [FromQuery] string[]? excluded, string? reason, HubRegistry hubs, ConnectionLifecycle lifecycle) =>
            CloseAll(hubs.Get(hub).Connections(), excluded, reason, lifecycle));
        api.MapPost("/groups/{group}/:closeConnections", (string hub, string group, [FromQuery] string[]? excluded, string? reason, HubRegistry hubs, ConnectionLifecycle lifecycle) =>
            !Validation.IsGroupName(group) ? BadGroup(group) : CloseAll(hubs.Get(hub).GroupConnections(group), excluded, reason, lifecycle));
        api.MapPost("/users/{userId}/:closeConnections", (string hub, string userId, [FromQuery] string[]? excluded, string? reason, HubRegistry hubs, ConnectionLifecycle lifecycle) =>
            CloseAll(hubs.Get(hub).UserConnections(userId), excluded, reason, lifecycle));

        api.MapMethods("/connections/{connectionId}", ["HEAD"], (string hub, string connectionId, HubRegistry hubs) =>
            Exists(hubs.Get(hub).Find(connectionId) is { Ended: false }));
        api.MapMethods("/groups/{group}", ["HEAD"], (string hub, string group, HubRegistry hubs) =>
            !Validation.IsGroupName(group) ? BadGroup(group) : Exists(hubs.Get(hub).GroupConnections(group).Count > 0));
        api.MapMethods("/users/{userId}", ["HEAD"], (string hub, string userId, HubRegistry hubs) =>
            Exists(hubs.Get(hub).UserConnections(userId).Count > 0));

        api.MapMethods("/permissions/{permission}/connections/{connectionId}", ["PUT", "DELETE", "HEAD"],
            (HttpRequest request, string hub, string permission, string connectionId, string? targetName, HubRegistry hubs) =>
            {
                Permission? parsed = permission switch
                {
                    "sendToGroup" => Permission.SendToGroup,
                    "joinLeaveGroup" => Permission.JoinLeaveGroup,
                    _ => null,
                };
                if (parsed is not { } p)
                {
                    return Error(400, "BadRequest", $"Permission '{permission}' is not one of sendToGroup, joinLeaveGroup.");
                }
                if (targetName is not null && !Validation.IsGroupName(targetName))
                {
                    return BadGroup(targetName);
                }
                var connection = hubs.Get(hub).Find(connectionId);
                if (HttpMethods.IsHead(request.Method))
                {
                    return Exists(connection is { Ended: false } && connection.Permissions.Has(p, targetName));
                }
                if (connection is not { Ended: false })
                {
                    return HttpMethods.IsDelete(request.Method) ? Results.NoContent() : Error(404, "NotFound", $"Connection '{connectionId}' does not exist.");
                }
                if (HttpMethods.IsPut(request.Method))
                {
                    connection.Permissions.Grant(p, targetName);
                    return Results.Ok();
                }
                connection.Permissions.Revoke(p, targetName);
                return Results.NoContent();
            });

        api.MapPost("/:generateToken", (HttpRequest request, string hub, string? userId, [FromQuery(Name = "role")] string[]? roles, [FromQuery(Name = "group")] string[]? groups,
            int? minutesToExpire, string? clientType, TokenValidator tokens, EndpointInfo endpoint) =>
        {
            if (minutesToExpire is < 1)
            {
                return Error(400, "BadRequest", "minutesToExpire must be at least 1.");
            }
            if (clientType is not null && !clientType.Equals("Default", StringComparison.OrdinalIgnoreCase))
            {
                return Error(400, "BadRequest", $"clientType '{clientType}' is not supported by the emulator (only Default; no MQTT).");
            }
            var audience = $"{endpoint.BaseUri.GetLeftPart(UriPartial.Authority)}/client/hubs/{hub}";
            var token = tokens.CreateClientToken(audience, userId, roles ?? [], groups ?? [], TimeSpan.FromMinutes(minutesToExpire ?? 60));
            return Results.Ok(new { token });
        });
    }

    /// <summary>Auth, hub name and api-version for every hub operation.</summary>
    private static async ValueTask<object?> Authorize(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var hub = http.GetRouteValue("hub") as string;
        if (!Validation.IsHubName(hub))
        {
            return Error(400, "BadRequest", $"'{hub}' is not a valid hub name.");
        }
        var version = http.Request.Query["api-version"].ToString();
        if (version.Length > 0 && !Validation.ApiVersions.Contains(version))
        {
            return Error(400, "BadRequest", $"api-version '{version}' is not supported; use one of {string.Join(", ", Validation.ApiVersions)}.");
        }
        var tokens = http.RequestServices.GetRequiredService<TokenValidator>();
        if (await tokens.ValidateRestTokenAsync(http.Request).ConfigureAwait(false) is { } problem)
        {
            return Error(401, "Unauthorized", problem);
        }
        return await next(context).ConfigureAwait(false);
    }

    private static async Task<IResult> Send(HttpRequest request, EmulatorHub hub, Func<EmulatorHub, IReadOnlyList<ClientConnection>> targets, string[]? excluded, string? filter,
        Func<ClientConnection, ReadOnlyMemory<byte>, DataKind, bool> deliver)
    {
        var mediaType = request.ContentType?.Split(';')[0].Trim().ToLowerInvariant();
        DataKind? kind = mediaType switch
        {
            "application/json" => DataKind.Json,
            "text/plain" => DataKind.Text,
            "application/octet-stream" => DataKind.Binary,
            _ => null,
        };
        if (kind is null)
        {
            return Error(415, "UnsupportedMediaType", $"Content-Type must be application/json, text/plain or application/octet-stream, not '{request.ContentType}'.");
        }
        if (!TryParseFilter(filter, out var parsed, out var filterError))
        {
            return filterError!;
        }
        var (body, tooLarge) = await ReadBodyAsync(request).ConfigureAwait(false);
        if (tooLarge)
        {
            return Error(413, "PayloadTooLarge", $"A message may be at most {MaxBodyBytes} bytes.");
        }
        if (kind == DataKind.Json && !ClientEndpoint.IsJson(body))
        {
            return Error(400, "BadRequest", "The body is not valid JSON, but Content-Type says application/json.");
        }
        if (!TryValidateTtl(request, out var ttlError))
        {
            return ttlError!;
        }
        var skip = excluded?.ToHashSet(StringComparer.Ordinal) ?? [];
        foreach (var connection in targets(hub))
        {
            if (!skip.Contains(connection.Id) && Matches(parsed, hub, connection))
            {
                deliver(connection, body, kind.Value);
            }
        }
        return Results.Accepted();
    }

    private static async Task<IResult> GroupsByFilter(HttpRequest request, EmulatorHub hub, bool add)
    {
        var (body, tooLarge) = await ReadBodyAsync(request).ConfigureAwait(false);
        if (tooLarge)
        {
            return Error(413, "PayloadTooLarge", $"The body may be at most {MaxBodyBytes} bytes.");
        }
        string[] groups;
        string? filter;
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("groups", out var g) || g.ValueKind != JsonValueKind.Array)
            {
                return Error(400, "BadRequest", "The body must be {\"groups\": [...], \"filter\": \"...\"}.");
            }
            groups = [.. g.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : "")];
            filter = root.TryGetProperty("filter", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null;
        }
        catch (JsonException)
        {
            return Error(400, "BadRequest", "The body is not valid JSON.");
        }
        if (groups.FirstOrDefault(g => !Validation.IsGroupName(g)) is { } bad)
        {
            return BadGroup(bad);
        }
        if (string.IsNullOrWhiteSpace(filter))
        {
            return Error(400, "BadRequest", "A filter is required, so that a bulk change never hits every connection by accident.");
        }
        if (!TryParseFilter(filter, out var parsed, out var filterError))
        {
            return filterError!;
        }
        foreach (var connection in hub.Connections().Where(c => Matches(parsed, hub, c)).ToList())
        {
            foreach (var group in groups)
            {
                if (add) hub.Join(connection, group);
                else hub.Leave(connection, group);
            }
        }
        return Results.Ok();
    }

    private static IResult ListGroup(HttpRequest request, EmulatorHub hub, string group, int? maxPageSize, int? top, string? continuationToken)
    {
        if (!Validation.IsGroupName(group))
        {
            return BadGroup(group);
        }
        if (maxPageSize is < 1 or > 200)
        {
            return Error(400, "BadRequest", "maxpagesize must be between 1 and 200.");
        }
        if (top is < 1)
        {
            return Error(400, "BadRequest", "top must be at least 1.");
        }
        var all = hub.GroupConnections(group).OrderBy(c => c.Id, StringComparer.Ordinal).ToList();
        var start = continuationToken is null ? 0 : all.FindIndex(c => string.CompareOrdinal(c.Id, continuationToken) > 0);
        if (start < 0)
        {
            start = all.Count;
        }
        var pageSize = Math.Min(maxPageSize ?? 200, top ?? int.MaxValue);
        var page = all.Skip(start).Take(pageSize).ToList();
        var remainingTop = top is { } t ? t - page.Count : (int?)null;
        string? nextLink = null;
        if (start + page.Count < all.Count && remainingTop is null or > 0)
        {
            var query = new List<string> { $"continuationToken={Uri.EscapeDataString(page[^1].Id)}" };
            if (maxPageSize is { } m) query.Add($"maxpagesize={m}");
            if (remainingTop is { } r) query.Add($"top={r}");
            query.Add($"api-version={Uri.EscapeDataString(request.Query["api-version"].FirstOrDefault() ?? "2024-12-01")}");
            nextLink = $"{request.PathBase}{request.Path}?{string.Join('&', query)}";
        }
        return Results.Ok(new
        {
            value = page.Select(c => new { connectionId = c.Id, userId = c.UserId }),
            nextLink,
        });
    }

    private static IResult CloseAll(IEnumerable<ClientConnection> connections, string[]? excluded, string? reason, ConnectionLifecycle lifecycle)
    {
        var skip = excluded?.ToHashSet(StringComparer.Ordinal) ?? [];
        foreach (var connection in connections.Where(c => !skip.Contains(c.Id)))
        {
            lifecycle.Close(connection, WebSocketCloseStatus.NormalClosure, reason ?? "Closed by the server.");
        }
        return Results.NoContent();
    }

    private static IResult Exists(bool exists) => exists ? Results.Ok() : Results.NotFound();

    private static bool Matches(ODataFilter? filter, EmulatorHub hub, ClientConnection connection) =>
        filter is null || filter.Matches(connection.Id, connection.UserId, hub.GroupsOf(connection));

    private static bool TryParseFilter(string? text, out ODataFilter? filter, out IResult? error)
    {
        filter = null;
        error = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return true;
        }
        if (!ODataFilter.TryParse(text, out filter, out var message))
        {
            error = Error(400, "InvalidFilter", message!);
            return false;
        }
        return true;
    }

    private static bool TryValidateTtl(HttpRequest request, out IResult? error)
    {
        error = null;
        var ttl = request.Query["messageTtlSeconds"].ToString();
        if (ttl.Length > 0 && (!int.TryParse(ttl, out var seconds) || seconds is < 0 or > 300))
        {
            error = Error(400, "BadRequest", "messageTtlSeconds must be an integer from 0 to 300.");
            return false;
        }
        return true;
    }

    private static async Task<(byte[] Body, bool TooLarge)> ReadBodyAsync(HttpRequest request)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            return ([], true);
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                return ([], true);
            }
            buffer.Write(chunk, 0, read);
        }
        return (buffer.ToArray(), false);
    }

    private static IResult BadGroup(string group) =>
        Error(400, "BadRequest", $"'{(group.Length > 64 ? group[..64] + "…" : group)}' is not a valid group name (1 to 1024 characters, not only whitespace).");

    internal static IResult Error(int status, string code, string message) => new ErrorResult(status, code, message);

    private sealed class ErrorResult(int status, string code, string message) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers["x-ms-error-code"] = code;
            return Results.Json(new { code, message }, statusCode: status).ExecuteAsync(httpContext);
        }
    }
}
