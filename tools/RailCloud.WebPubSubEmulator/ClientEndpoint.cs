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
    HubRegistry hubs, TokenValidator tokens, UpstreamInvoker upstream, ConnectionLifecycle lifecycle,
    EmulatorOptions options, TimeProvider time, IHostApplicationLifetime lifetime, ILogger<ClientEndpoint> logger)
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

        var connection = new ClientConnection(hubName, connectionId, userId, kind, subprotocol, permissions, state);
        connection.NextEventId(); // connect is event 0, whether or not a handler took it
        connection.Overflowed += c => lifecycle.Close(c, WebSocketCloseStatus.PolicyViolation, "The client fell behind: more than 1,000 messages or 16 MB not yet acknowledged.");
        hubs.Get(hubName).Add(connection, groups);
        var generation = connection.Attach(socket, resend: false);
        lifecycle.Connected(connection);
        await RunSocketAsync(connection, socket, generation, rawGroup).ConfigureAwait(false);
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
        await RunSocketAsync(connection, socket, generation, rawGroup: null).ConfigureAwait(false);
    }

    private async Task RunSocketAsync(ClientConnection connection, WebSocket socket, int generation, string? rawGroup)
    {
        var writer = connection.RunWriterAsync(generation, lifetime.ApplicationStopping);
        var outcome = await ReceiveLoopAsync(connection, socket, rawGroup).ConfigureAwait(false);
        switch (outcome)
        {
            case Outcome.ClientClosed:
                lifecycle.Lost(connection, "The client closed the connection.");
                break;
            case Outcome.Dropped when connection is { Kind: ClientKind.ReliableJson, Ended: false }:
                connection.Detach(generation);
                logger.LogInformation("Connection {ConnectionId} dropped; it can be recovered for {Window}", connection.Id, options.ReliableRecoveryWindow);
                lifecycle.ExpireUnlessRecovered(connection, generation, options.ReliableRecoveryWindow, time);
                break;
            case Outcome.Dropped:
                lifecycle.Lost(connection, "The connection dropped.");
                break;
        }
        connection.Detach(generation);
        await writer.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (socket.State == WebSocketState.CloseReceived)
        {
            await CloseQuietly(socket).ConfigureAwait(false);
        }
        else if (outcome == Outcome.ServerEnded && socket.State == WebSocketState.CloseSent)
        {
            // Give the client a moment to answer our close frame, so it sees a clean close.
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            var scratch = new byte[256];
            try
            {
                while (socket.State == WebSocketState.CloseSent)
                {
                    await socket.ReceiveAsync(scratch, wait.Token).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
                // Gone without answering; nothing left to do.
            }
        }
    }

    private enum Outcome { ClientClosed, Dropped, ServerEnded }

    private async Task<Outcome> ReceiveLoopAsync(ClientConnection connection, WebSocket socket, string? rawGroup)
    {
        // Idle connections hold no receive buffer: a zero-byte read waits for data, and only then is a
        // pooled buffer rented. Most connections are idle most of the time.
        ArrayBufferWriter<byte>? message = null;
        while (true)
        {
            byte[]? chunk = null;
            ValueWebSocketReceiveResult result;
            try
            {
                result = await socket.ReceiveAsync(Memory<byte>.Empty, lifetime.ApplicationStopping).ConfigureAwait(false);
                if (result.MessageType != WebSocketMessageType.Close)
                {
                    chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
                    result = await socket.ReceiveAsync(chunk.AsMemory(), lifetime.ApplicationStopping).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
                ReturnChunk(chunk);
                return connection.Ended ? Outcome.ServerEnded : Outcome.Dropped;
            }
            if (result.MessageType == WebSocketMessageType.Close)
            {
                ReturnChunk(chunk);
                return connection.Ended ? Outcome.ServerEnded : Outcome.ClientClosed;
            }
            if (connection.Ended)
            {
                ReturnChunk(chunk);
                return Outcome.ServerEnded;
            }
            byte[] payload;
            if (result.EndOfMessage && message is null)
            {
                payload = chunk.AsSpan(0, result.Count).ToArray();
                ReturnChunk(chunk);
            }
            else
            {
                message ??= new ArrayBufferWriter<byte>(32 * 1024);
                var tooBig = message.WrittenCount + result.Count > EmulatorOptions.MaxFrameBytes;
                if (!tooBig)
                {
                    message.Write(chunk.AsSpan(0, result.Count));
                }
                ReturnChunk(chunk);
                if (tooBig)
                {
                    lifecycle.Close(connection, WebSocketCloseStatus.MessageTooBig, "A message may be at most 1 MB.");
                    return Outcome.ServerEnded;
                }
                if (!result.EndOfMessage)
                {
                    continue;
                }
                payload = message.WrittenSpan.ToArray();
                message = null; // don't keep a large buffer on an idle connection
            }
            var keepGoing = connection.Kind == ClientKind.Raw
                ? await HandleRawAsync(connection, payload, result.MessageType, rawGroup).ConfigureAwait(false)
                : await HandleJsonAsync(connection, payload, result.MessageType).ConfigureAwait(false);
            if (!keepGoing)
            {
                return Outcome.ServerEnded;
            }
        }
    }

    private static void ReturnChunk(byte[]? chunk)
    {
        if (chunk is not null)
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }

    private async Task<bool> HandleRawAsync(ClientConnection connection, byte[] payload, WebSocketMessageType type, string? rawGroup)
    {
        var kind = type == WebSocketMessageType.Text ? DataKind.Text : DataKind.Binary;
        if (rawGroup is not null)
        {
            Publish(connection, rawGroup, payload, kind, noEcho: false);
            return true;
        }
        var (ok, failure) = await SendUserEventAsync(connection, "message", payload, kind).ConfigureAwait(false);
        if (!ok)
        {
            lifecycle.Close(connection, WebSocketCloseStatus.InternalServerError, failure!);
            return false;
        }
        return true;
    }

    /// <summary>Data is passed on as it came, however deep (the default 64 levels would decline valid JSON a handler may refuse itself).</summary>
    private static readonly JsonDocumentOptions FrameJson = new() { MaxDepth = 1024 };

    private async Task<bool> HandleJsonAsync(ClientConnection connection, byte[] payload, WebSocketMessageType type)
    {
        if (type != WebSocketMessageType.Text)
        {
            return Decline(connection, "This subprotocol takes JSON in text frames.");
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(payload, FrameJson);
        }
        catch (JsonException)
        {
            return Decline(connection, "The frame is not valid JSON.");
        }
        using (document)
        {
            try
            {
                return await HandleJsonAsync(connection, document.RootElement).ConfigureAwait(false);
            }
            catch (InvalidOperationException)
            {
                // Valid JSON, but a string in it escapes a lone UTF-16 surrogate: no text can be read from it.
                return Decline(connection, "A string in the frame is not valid Unicode (a lone surrogate).");
            }
        }
    }

    private async Task<bool> HandleJsonAsync(ClientConnection connection, JsonElement root)
    {
        {
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("type", out var typeElement) || typeElement.ValueKind != JsonValueKind.String)
            {
                return Decline(connection, "The frame must be a JSON object with a string 'type'.");
            }
            ulong? ackId = null;
            if (root.TryGetProperty("ackId", out var ackElement))
            {
                if (ackElement.ValueKind != JsonValueKind.Number || !ackElement.TryGetUInt64(out var parsedAck))
                {
                    return Decline(connection, "'ackId' must be an unsigned 64-bit integer.");
                }
                ackId = parsedAck;
            }

            var messageType = typeElement.GetString();
            switch (messageType)
            {
                case "sequenceAck":
                    if (!root.TryGetProperty("sequenceId", out var seq) || seq.ValueKind != JsonValueKind.Number || !seq.TryGetUInt64(out var sequenceId))
                    {
                        return Decline(connection, "'sequenceAck' needs a numeric 'sequenceId'.");
                    }
                    connection.Acknowledge(sequenceId);
                    return true;
                case "ping":
                    connection.SendPong();
                    return true;
                case "joinGroup" or "leaveGroup" or "sendToGroup":
                    {
                        if (!root.TryGetProperty("group", out var groupElement) || groupElement.ValueKind != JsonValueKind.String)
                        {
                            return Decline(connection, $"'{messageType}' needs a string 'group'.");
                        }
                        DataKind kind = default;
                        byte[] data = [];
                        if (messageType == "sendToGroup" && !TryReadData(root, out kind, out data, out var dataError))
                        {
                            return Decline(connection, dataError!);
                        }
                        if (ackId is { } id && !connection.AckIds.TryAdd(id, true))
                        {
                            connection.SendAck(id, "Duplicate", "This ackId was used before on this connection; the request was not run again.");
                            return true;
                        }
                        var group = groupElement.GetString()!;
                        string? refusal = !Validation.IsGroupName(group) ? "A group name is 1 to 1024 characters and not only whitespace."
                            : messageType == "sendToGroup" && !connection.Permissions.Allows(Permission.SendToGroup, group) ? $"No permission to send to group '{group}'."
                            : messageType != "sendToGroup" && !connection.Permissions.Allows(Permission.JoinLeaveGroup, group) ? $"No permission to join or leave group '{group}'."
                            : null;
                        if (refusal is null)
                        {
                            var hub = hubs.Get(connection.Hub);
                            if (messageType == "joinGroup") hub.Join(connection, group);
                            else if (messageType == "leaveGroup") hub.Leave(connection, group);
                            else Publish(connection, group, data, kind, root.TryGetProperty("noEcho", out var noEcho) && noEcho.ValueKind == JsonValueKind.True);
                        }
                        if (ackId is { } ack)
                        {
                            connection.SendAck(ack, refusal is null ? null : "Forbidden", refusal);
                        }
                        return true;
                    }
                case "event":
                    {
                        if (!root.TryGetProperty("event", out var nameElement) || nameElement.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(nameElement.GetString()))
                        {
                            return Decline(connection, "'event' needs a non-empty string 'event'.");
                        }
                        if (!Validation.IsEventName(nameElement.GetString()))
                        {
                            return Decline(connection, "An event name is 1 to 128 letters, digits and . _ ~ : - (not only dots).");
                        }
                        if (!TryReadData(root, out var kind, out var data, out var dataError))
                        {
                            return Decline(connection, dataError!);
                        }
                        if (ackId is { } id && !connection.AckIds.TryAdd(id, true))
                        {
                            connection.SendAck(id, "Duplicate", "This ackId was used before on this connection; the event was not sent again.");
                            return true;
                        }
                        var (ok, failure) = await SendUserEventAsync(connection, nameElement.GetString()!, data, kind).ConfigureAwait(false);
                        if (ackId is { } ack)
                        {
                            connection.SendAck(ack, ok ? null : "InternalServerError", ok ? null : failure);
                            return true;
                        }
                        if (!ok)
                        {
                            lifecycle.Close(connection, WebSocketCloseStatus.InternalServerError, failure!);
                            return false;
                        }
                        return true;
                    }
                default:
                    return Decline(connection, $"Unknown message type '{messageType}'.");
            }
        }
    }

    /// <summary>The service declines a client that sends a frame it does not understand.</summary>
    private bool Decline(ClientConnection connection, string reason)
    {
        logger.LogInformation("Declined connection {ConnectionId}: {Reason}", connection.Id, reason);
        lifecycle.Close(connection, WebSocketCloseStatus.PolicyViolation, reason);
        return false;
    }

    private void Publish(ClientConnection sender, string group, byte[] data, DataKind kind, bool noEcho)
    {
        foreach (var member in hubs.Get(sender.Hub).GroupConnections(group))
        {
            if (!(noEcho && member == sender))
            {
                member.SendGroupData(group, sender.UserId, data, kind);
            }
        }
    }

    private async Task<(bool Ok, string? Failure)> SendUserEventAsync(ClientConnection connection, string eventName, byte[] data, DataKind kind)
    {
        if (upstream.FindUserHandler(connection.Hub, eventName) is not { } handler)
        {
            return (true, null);
        }
        var contentType = kind switch
        {
            DataKind.Json => "application/json",
            DataKind.Text => "text/plain; charset=utf-8",
            _ => "application/octet-stream",
        };
        var response = await upstream.InvokeAsync(handler, connection, connection.Hub, connection.Id, connection.UserId, connection.Subprotocol, connection.ConnectionState,
            connection.NextEventId(), isSystem: false, eventName, data, contentType, retry: false, lifetime.ApplicationStopping).ConfigureAwait(false);
        if (!response.Succeeded)
        {
            return (false, $"The event handler failed: {response.Failure}");
        }
        if (response.ConnectionState is not null)
        {
            connection.ConnectionState = response.ConnectionState.Length == 0 ? null : response.ConnectionState;
        }
        if (response.Status == 200)
        {
            var replyKind = ReplyKind(response.ContentType, response.Body);
            connection.SendServerData(response.Body, replyKind);
        }
        return (true, null);
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

    private static bool TryReadData(JsonElement root, out DataKind kind, out byte[] data, out string? error)
    {
        kind = DataKind.Json;
        data = [];
        error = null;
        var dataType = root.TryGetProperty("dataType", out var dt) ? dt.ValueKind == JsonValueKind.String ? dt.GetString() : null : "json";
        if (!root.TryGetProperty("data", out var element))
        {
            error = "The message has no 'data'.";
            return false;
        }
        switch (dataType)
        {
            case "json":
                data = Encoding.UTF8.GetBytes(element.GetRawText());
                return true;
            case "text" when element.ValueKind == JsonValueKind.String:
                kind = DataKind.Text;
                data = Encoding.UTF8.GetBytes(element.GetString()!);
                return true;
            case "binary" or "protobuf" when element.ValueKind == JsonValueKind.String && element.TryGetBytesFromBase64(out var bytes):
                kind = DataKind.Binary;
                data = bytes;
                return true;
            case "text" or "binary" or "protobuf":
                error = dataType == "text" ? "dataType 'text' needs a string 'data'." : $"dataType '{dataType}' needs base64 'data'.";
                return false;
            default:
                error = $"Unknown dataType '{dataType}' (json, text, binary or protobuf).";
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

    private static async Task CloseQuietly(WebSocket socket)
    {
        try
        {
            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).ConfigureAwait(false);
        }
        catch (WebSocketException)
        {
            // Already gone.
        }
    }

    private static string NewConnectionId() =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
