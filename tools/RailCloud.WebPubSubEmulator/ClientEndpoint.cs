using System.Buffers;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace RailCloud.WebPubSubEmulator;

/// <summary>
/// The client side of the service: <c>/client/hubs/{hub}</c> (or <c>/client/?hub=</c>). Checks the access token,
/// runs the blocking <c>connect</c> event, accepts the WebSocket, and then speaks <c>json.webpubsub.azure.v1</c>,
/// <c>json.reliable.webpubsub.azure.v1</c> (with recovery), or plain frames for raw clients.
/// </summary>
public sealed class ClientEndpoint(
    HubRegistry hubs, TokenValidator tokens, UpstreamInvoker upstream, ConnectionLifecycle lifecycle, ClientSocket sockets, ILogger<ClientEndpoint> logger)
{
    public const string JsonProtocol = "json.webpubsub.azure.v1";
    public const string ReliableProtocol = "json.reliable.webpubsub.azure.v1";

    private static readonly HashSet<string> HiddenHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Authorization", "Cookie", "Sec-WebSocket-Key", "Sec-WebSocket-Extensions",
    };

    public async Task HandleAsync(HttpContext context, string? routeHub)
    {
        var request = context.Request;
        var hubName = routeHub ?? request.Query["hub"].ToString();
        if (!Validation.IsHubName(hubName))
        {
            await Refuse(context, 400, string.IsNullOrEmpty(hubName) ? "No hub: use /client/hubs/{hub} or /client/?hub={hub}." : $"'{hubName}' is not a valid hub name.").ConfigureAwait(false);
            return;
        }
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await Refuse(context, 400, "This endpoint takes WebSocket connections.").ConfigureAwait(false);
            return;
        }
        if (request.Query.ContainsKey("awps_connection_id"))
        {
            await RecoverAsync(context, hubName).ConfigureAwait(false);
            return;
        }

        var token = request.Query["access_token"].ToString();
        if (string.IsNullOrEmpty(token) && request.Headers.Authorization.ToString() is { } auth && auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            token = auth[7..].Trim();
        }
        var (info, error) = await tokens.ValidateClientTokenAsync(token, hubName).ConfigureAwait(false);
        if (info is null)
        {
            logger.LogInformation("Refused a client of hub {Hub}: {Error}", hubName, error);
            await Refuse(context, 401, error!).ConfigureAwait(false);
            return;
        }

        var offered = context.WebSockets.WebSocketRequestedProtocols;
        var subprotocol = offered.FirstOrDefault(p => p is JsonProtocol or ReliableProtocol);
        var connectionId = NewConnectionId();
        string? userId = info.UserId;
        var roles = info.Roles.ToList();
        var groups = info.Groups.ToList();
        string? state = null;

        if (upstream.FindSystemHandler(hubName, "connect") is { } handler)
        {
            var body = JsonSerializer.SerializeToUtf8Bytes(new
            {
                claims = info.Claims,
                query = request.Query.Where(q => q.Key != "access_token").ToDictionary(q => q.Key, q => q.Value.Select(v => v ?? "").ToArray()),
                headers = request.Headers.Where(h => !HiddenHeaders.Contains(h.Key)).ToDictionary(h => h.Key, h => h.Value.Select(v => v ?? "").ToArray()),
                subprotocols = offered,
                clientCertificates = Array.Empty<object>(),
            });
            var response = await upstream.InvokeAsync(handler, null, hubName, connectionId, userId, null, null, 0, isSystem: true, "connect", body,
                "application/json; charset=utf-8", retry: false, context.RequestAborted).ConfigureAwait(false);
            if (!response.Succeeded)
            {
                // The handler's refusal is the client's answer (4xx as given; anything else is the service's 500).
                var status = response.Status is >= 400 and < 500 ? response.Status : 500;
                await Refuse(context, status, response.Status is >= 400 and < 500 ? Encoding.UTF8.GetString(response.Body) : "The connect event handler failed.").ConfigureAwait(false);
                return;
            }
            if (response.Status == 200 && response.Body.Length > 0)
            {
                if (!TryApplyConnectResponse(response.Body, offered, ref userId, groups, roles, ref subprotocol, out var problem))
                {
                    logger.LogWarning("The connect handler for hub {Hub} gave an unusable answer: {Problem}", hubName, problem);
                    await Refuse(context, 500, problem!).ConfigureAwait(false);
                    return;
                }
            }
            state = response.ConnectionState;
        }

        var kind = subprotocol switch
        {
            ReliableProtocol => ClientKind.ReliableJson,
            JsonProtocol => ClientKind.Json,
            _ => ClientKind.Raw,
        };
        var permissions = new PermissionSet(roles);
        var rawGroup = (string?)null;
        if (kind == ClientKind.Raw)
        {
            var mode = request.Query["webpubsub_mode"].ToString();
            if (mode.Equals("sendToGroup", StringComparison.OrdinalIgnoreCase))
            {
                rawGroup = request.Query["group"].ToString();
                if (!Validation.IsGroupName(rawGroup) || !permissions.Allows(Permission.SendToGroup, rawGroup))
                {
                    await Refuse(context, 403, Validation.IsGroupName(rawGroup) ? $"sendToGroup mode needs the webpubsub.sendToGroup role for group '{rawGroup}'." : "sendToGroup mode needs a valid group parameter.").ConfigureAwait(false);
                    return;
                }
            }
            else if (mode.Length > 0 && !mode.Equals("sendEvent", StringComparison.OrdinalIgnoreCase))
            {
                await Refuse(context, 400, $"webpubsub_mode '{mode}' is not one of sendEvent, sendToGroup.").ConfigureAwait(false);
                return;
            }
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            SubProtocol = subprotocol,
            KeepAliveInterval = TimeSpan.FromSeconds(20),
        }).ConfigureAwait(false);

        var connection = new ClientConnection(new ConnectionIdentity(hubName, connectionId, userId, kind, subprotocol), permissions, state);
        connection.NextEventId(); // connect is event 0, whether or not a handler took it
        connection.Overflowed += c => lifecycle.Close(c, WebSocketCloseStatus.PolicyViolation, "The client fell behind: more than 1,000 messages or 16 MB not yet acknowledged.");
        hubs.Get(hubName).Add(connection, groups);
        var generation = connection.Attach(socket, resend: false);
        lifecycle.Connected(connection);
        await sockets.RunAsync(connection, socket, generation, rawGroup).ConfigureAwait(false);
    }

    private async Task RecoverAsync(HttpContext context, string hubName)
    {
        var id = context.Request.Query["awps_connection_id"].ToString();
        var token = context.Request.Query["awps_reconnection_token"].ToString();
        var connection = hubs.Get(hubName).Find(id);
        var offered = context.WebSockets.WebSocketRequestedProtocols;
        var valid = connection is { Ended: false, Kind: ClientKind.ReliableJson, ReconnectionToken: { } expected }
            && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(expected), Encoding.UTF8.GetBytes(token));
        // A refusal still completes the handshake with the subprotocol the client offered: browsers fail a handshake
        // that answers none as a network error, and the client would retry recovery for 30 s instead of seeing 1008.
        using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            SubProtocol = valid ? offered.FirstOrDefault(p => p == connection!.Subprotocol) : offered.FirstOrDefault(),
            KeepAliveInterval = TimeSpan.FromSeconds(20),
        }).ConfigureAwait(false);
        if (!valid)
        {
            logger.LogInformation("Refused recovery of connection {ConnectionId} in hub {Hub}", id, hubName);
            // 1008: recovery is impossible, the client must start a new connection.
            await socket.CloseAsync(WebSocketCloseStatus.PolicyViolation, "The connection cannot be recovered.", context.RequestAborted).ConfigureAwait(false);
            return;
        }
        logger.LogInformation("Connection {ConnectionId} recovered in hub {Hub}", id, hubName);
        var generation = connection!.Attach(socket, resend: true);
        await sockets.RunAsync(connection, socket, generation, rawGroup: null).ConfigureAwait(false);
    }

    internal static DataKind ReplyKind(string? contentType, byte[] body)
    {
        var mediaType = contentType?.Split(';')[0].Trim().ToLowerInvariant();
        return mediaType switch
        {
            "application/json" when IsJson(body) => DataKind.Json,
            "application/json" or "text/plain" => DataKind.Text,
            _ => DataKind.Binary,
        };
    }

    internal static bool IsJson(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            reader.Read();
            reader.Skip();
            return !reader.Read() && body.Length > 0;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool TryApplyConnectResponse(byte[] body, IList<string> offered, ref string? userId, List<string> groups, List<string> roles, ref string? subprotocol, out string? problem)
    {
        problem = null;
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                problem = "The connect handler answered 200 with something other than a JSON object.";
                return false;
            }
            if (root.TryGetProperty("userId", out var u) && u.ValueKind == JsonValueKind.String)
            {
                userId = u.GetString();
            }
            if (root.TryGetProperty("groups", out var g) && g.ValueKind == JsonValueKind.Array)
            {
                foreach (var group in g.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!))
                {
                    if (!Validation.IsGroupName(group))
                    {
                        problem = $"The connect handler named an invalid group '{group}'.";
                        return false;
                    }
                    groups.Add(group);
                }
            }
            if (root.TryGetProperty("roles", out var r) && r.ValueKind == JsonValueKind.Array)
            {
                roles.AddRange(r.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!));
            }
            if (root.TryGetProperty("subprotocol", out var s) && s.ValueKind == JsonValueKind.String && s.GetString() is { Length: > 0 } chosen)
            {
                if (!offered.Contains(chosen))
                {
                    problem = $"The connect handler chose subprotocol '{chosen}', which the client did not offer.";
                    return false;
                }
                subprotocol = chosen;
            }
            return true;
        }
        catch (JsonException)
        {
            problem = "The connect handler answered 200 with a body that is not JSON.";
            return false;
        }
    }

    private static async Task Refuse(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync(message, context.RequestAborted).ConfigureAwait(false);
    }

    private static string NewConnectionId() =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
