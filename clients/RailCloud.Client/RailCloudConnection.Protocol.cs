using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using RailCloud.Protocol;

namespace RailCloud.Client;

/// <summary>
/// The reliable Web PubSub subprotocol under the typed requests: frames in and out, acks, sequence ids, and recovery of a
/// dropped socket with the reconnection token.
/// </summary>
public sealed partial class RailCloudConnection
{
    // ---- Plumbing ----

    private static bool Is(JsonObject message, string eventName) => (string?)message["event"] == eventName;

    private static bool IsErrorFor(JsonObject message, string eventName) => Is(message, Events.Error) && (string?)message["requestEvent"] == eventName;

    private static void ThrowIfError(JsonObject message)
    {
        if (Is(message, Events.Error))
        {
            throw new RailCloudException((string?)message["code"] ?? "unknown", (string?)message["message"] ?? "", (string?)message["requestEvent"]);
        }
    }

    private async Task OpenAsync(Uri url, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol(Subprotocol);
        await socket.ConnectAsync(url, cancellationToken).ConfigureAwait(false);
        _socket = socket;
        _receiver = ReceiveLoopAsync(socket);
    }

    private async Task SendFrameAsync(byte[] frame, CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _socket.SendAsync(frame, WebSocketMessageType.Text, true, cancellationToken).ConfigureAwait(false);
        }
        catch (WebSocketException)
        {
            // The socket dropped; recovery will send every unacknowledged event again.
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private async Task ReceiveLoopAsync(ClientWebSocket socket)
    {
        var buffer = new byte[16 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, _stop.Token).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    Close(socket.CloseStatusDescription ?? "closed by the server");
                    return;
                }
                message.Write(buffer, 0, result.Count);
                if (!result.EndOfMessage)
                {
                    continue;
                }
                var frame = JsonNode.Parse(message.GetBuffer().AsSpan(0, (int)message.Length)) as JsonObject;
                message.SetLength(0);
                if (frame is not null)
                {
                    Dispatch(frame);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or JsonException)
        {
            if (!_stop.IsCancellationRequested && !_closing && ClosedReason is null)
            {
                _receiver = RecoverAsync();
            }
        }
    }

    private void Dispatch(JsonObject frame)
    {
        switch ((string?)frame["type"])
        {
            case "system" when (string?)frame["event"] == "connected":
                ConnectionId = (string?)frame["connectionId"];
                _reconnectionToken = (string?)frame["reconnectionToken"] ?? _reconnectionToken;
                _connected.TrySetResult();
                break;
            case "system" when (string?)frame["event"] == "disconnected":
                Close((string?)frame["message"] ?? "disconnected");
                break;
            case "ack":
                if (frame["ackId"]?.GetValue<ulong>() is { } ackId && _pending.TryRemove(ackId, out var pending))
                {
                    pending.Done.TrySetResult(frame);
                }
                break;
            case "message":
                if (frame["sequenceId"]?.GetValue<ulong>() is { } sequence)
                {
                    if (sequence <= _lastSequence)
                    {
                        return; // sent again after a recovery; already delivered
                    }
                    _lastSequence = sequence;
                }
                if (frame["data"] is JsonObject data)
                {
                    Received?.Invoke((JsonObject)data.DeepClone());
                    Deliver((JsonObject)data.DeepClone());
                }
                break;
        }
    }

    private void Deliver(JsonObject data)
    {
        lock (_waiters)
        {
            foreach (var (match, done) in _waiters)
            {
                if (!done.Task.IsCompleted && match(data))
                {
                    done.TrySetResult(data);
                    return;
                }
            }
            _backlog.AddLast(data);
            if (_backlog.Count > 1000)
            {
                _backlog.RemoveFirst();
            }
        }
        _messages.Writer.TryWrite(data);
    }

    private void Close(string reason)
    {
        ClosedReason ??= reason;
        _messages.Writer.TryComplete();   // readers of Messages see the end of this connection
        foreach (var pending in _pending.Values)
        {
            pending.Done.TrySetException(new RailCloudException(ErrorCodes.Unavailable, $"The connection closed: {reason}"));
        }
    }

    /// <summary>Reconnects with the reconnection token for up to 30 s; sends unacknowledged events again.</summary>
    private async Task RecoverAsync()
    {
        if (ConnectionId is null || _reconnectionToken is null)
        {
            Close("The connection dropped before it was established.");
            return;
        }
        var recoveryUrl = new UriBuilder(_url)
        {
            Query = $"awps_connection_id={Uri.EscapeDataString(ConnectionId)}&awps_reconnection_token={Uri.EscapeDataString(_reconnectionToken)}",
        }.Uri;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var delay = TimeSpan.FromMilliseconds(100);
        while (!_stop.IsCancellationRequested && DateTime.UtcNow < deadline)
        {
            try
            {
                await OpenAsync(recoveryUrl, _stop.Token).ConfigureAwait(false);
                Recoveries++;
                foreach (var (_, pending) in _pending.OrderBy(p => p.Key))
                {
                    await SendFrameAsync(pending.Frame, _stop.Token).ConfigureAwait(false);
                }
                return;
            }
            catch (WebSocketException)
            {
                await Task.Delay(delay, _stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
            }
        }
        Close("The connection dropped and could not be recovered.");
    }

    private async Task AckLoopAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                var last = _lastSequence;
                if (last > _ackedSequence && _socket.State == WebSocketState.Open)
                {
                    await SendFrameAsync(Encoding.UTF8.GetBytes($"{{\"type\":\"sequenceAck\",\"sequenceId\":{last}}}"), _stop.Token).ConfigureAwait(false);
                    _ackedSequence = last;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed.
        }
    }

    private sealed class Pending(byte[] frame)
    {
        public byte[] Frame { get; } = frame;
        public TaskCompletionSource<JsonObject> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
