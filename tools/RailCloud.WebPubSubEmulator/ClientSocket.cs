using System.Buffers;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
namespace RailCloud.WebPubSubEmulator;

/// <summary>
/// A client's socket once the handshake is done: the receive loop (frames of <c>json.webpubsub.azure.v1</c>,
/// <c>json.reliable.webpubsub.azure.v1</c>, or raw), what each frame asks for (publish to a group, a user event
/// upstream, acks), and what the socket's end means for its connection (gone, or recoverable for a while).
/// </summary>
public sealed class ClientSocket(HubRegistry hubs, UpstreamInvoker upstream, ConnectionLifecycle lifecycle, EmulatorOptions options, IHostApplicationLifetime lifetime, ILogger<ClientSocket> logger)
{
    /// <summary>Runs an accepted (or recovered) socket until it ends: its writer, the receive loop, and what its end means for the connection.</summary>
    public async Task RunAsync(ClientConnection connection, WebSocket socket, int generation, string? rawGroup)
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
                lifecycle.ExpireUnlessRecovered(connection, generation, options.ReliableRecoveryWindow);
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
        else if (socket.State == WebSocketState.CloseSent)
        {
            // Give the client a moment to answer our close frame, so it sees a clean close: ours, or the one the
            // WebSocket itself sent on a protocol error (1007 for a text frame that is not UTF-8). Closing the TCP
            // connection under a reply still on its way resets it, and a reset can discard our close frame unread.
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
            var replyKind = ClientEndpoint.ReplyKind(response.ContentType, response.Body);
            connection.SendServerData(response.Body, replyKind);
        }
        return (true, null);
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
}
