using System.Buffers;
using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace RailCloud.WebPubSubEmulator;

public enum ClientKind
{
    /// <summary>No known subprotocol: frames are plain payloads.</summary>
    Raw,
    Json,
    ReliableJson,
}

/// <summary>Payload kinds, as in the subprotocol's <c>dataType</c>.</summary>
public enum DataKind
{
    Json,
    Text,
    Binary,
}

/// <summary>Who a connection is, fixed at its handshake: hub, connection id, user, protocol.</summary>
public sealed record ConnectionIdentity(string Hub, string Id, string? UserId, ClientKind Kind, string? Subprotocol);

/// <summary>
/// One logical client connection. For reliable clients it outlives its socket: data messages carry a
/// <c>sequenceId</c>, stay buffered until acknowledged, and are sent again when the client recovers.
/// Outbound frames go through a per-socket channel drained by one writer, so senders never wait on a slow client.
/// </summary>
public sealed class ClientConnection
{
    private readonly object _gate = new();
    private readonly Queue<(ulong Sequence, byte[] Frame)> _unacked = new();
    private long _unackedBytes;
    private long _pendingFrames;
    private long _pendingBytes;
    private ulong _sequence;
    private Attachment? _attachment;
    private int _generation;
    private long _eventId;

    public ClientConnection(ConnectionIdentity identity, PermissionSet permissions, string? state)
    {
        (Hub, Id, UserId, Kind, Subprotocol) = identity;
        Permissions = permissions;
        ConnectionState = state;
        ReconnectionToken = Kind == ClientKind.ReliableJson ? Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24)) : null;
    }

    public string Hub { get; }
    public string Id { get; }
    public string? UserId { get; }
    public ClientKind Kind { get; }
    public string? Subprotocol { get; }
    public PermissionSet Permissions { get; }
    public string? ReconnectionToken { get; }

    /// <summary>The <c>ce-connectionState</c> value set by the last blocking event's answer.</summary>
    public string? ConnectionState { get; set; }

    /// <summary>Groups this connection is in; guarded by the hub's lock.</summary>
    public HashSet<string> Groups { get; } = new(StringComparer.Ordinal);

    /// <summary>Ack ids already used on this connection (the service answers Duplicate to a repeat).</summary>
    public ConcurrentDictionary<ulong, bool> AckIds { get; } = new();

    /// <summary>Serializes this connection's asynchronous upstream events so disconnected never overtakes connected.</summary>
    public Task AsyncEvents { get; set; } = Task.CompletedTask;

    public bool Ended { get; private set; }

    /// <summary>Counts socket attachments; a recovery timer only ends the connection if no newer socket came.</summary>
    public int Generation
    {
        get { lock (_gate) return _generation; }
    }

    public bool IsAttached
    {
        get { lock (_gate) return _attachment is not null; }
    }

    /// <summary>The CloudEvents id for the next upstream event: connect is 0, later events count up.</summary>
    public long NextEventId() => Interlocked.Increment(ref _eventId) - 1;

    /// <summary>Sets the socket this connection writes to, replacing (and aborting) an older one. Returns its generation.</summary>
    public int Attach(WebSocket socket, bool resend)
    {
        Attachment? old;
        Attachment attachment;
        lock (_gate)
        {
            old = _attachment;
            attachment = new Attachment(socket, Channel.CreateUnbounded<Outbound>(new UnboundedChannelOptions { SingleReader = true }), ++_generation);
            _attachment = attachment;
            if (Kind != ClientKind.Raw)
            {
                Write(attachment, Outbound.Text(ConnectedMessage()));
            }
            if (resend)
            {
                foreach (var (_, frame) in _unacked)
                {
                    Write(attachment, Outbound.Text(frame));
                }
            }
        }
        if (old is not null)
        {
            old.Channel.Writer.TryComplete();
            old.Socket.Abort();
        }
        return attachment.Generation;
    }

    /// <summary>Stops writing to the socket of <paramref name="generation"/>, if it is still the current one.</summary>
    public void Detach(int generation)
    {
        lock (_gate)
        {
            if (_attachment?.Generation == generation)
            {
                _attachment.Channel.Writer.TryComplete();
                _attachment = null;
            }
        }
    }

    /// <summary>Writes queued frames to the socket until the channel completes or the socket fails; then sends <paramref name="close"/>.</summary>
    public async Task RunWriterAsync(int generation, CancellationToken cancellationToken)
    {
        Attachment? attachment;
        lock (_gate)
        {
            attachment = _attachment?.Generation == generation ? _attachment : null;
        }
        if (attachment is null)
        {
            return;
        }
        try
        {
            await foreach (var frame in attachment.Channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (frame.CloseStatus is { } status)
                {
                    await attachment.Socket.CloseOutputAsync(status, frame.CloseReason, cancellationToken).ConfigureAwait(false);
                    return;
                }
                if (frame.Counted)
                {
                    Interlocked.Decrement(ref _pendingFrames);
                    Interlocked.Add(ref _pendingBytes, -frame.Payload.Length);
                }
                await attachment.Socket.SendAsync(frame.Payload, frame.Type, true, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The socket is gone; the reader side notices and decides whether the connection can recover.
        }
    }

    /// <summary>A payload from the server (REST send, or a user event's reply).</summary>
    public bool SendServerData(ReadOnlyMemory<byte> payload, DataKind kind) =>
        SendData(payload, kind, w =>
        {
            w.WriteString("type", "message");
            w.WriteString("from", "server");
        });

    /// <summary>A group message; <paramref name="fromUserId"/> is the publishing client's user, if a client published it.</summary>
    public bool SendGroupData(string group, string? fromUserId, ReadOnlyMemory<byte> payload, DataKind kind) =>
        SendData(payload, kind, w =>
        {
            w.WriteString("type", "message");
            w.WriteString("from", "group");
            w.WriteString("group", group);
            if (fromUserId is not null)
            {
                w.WriteString("fromUserId", fromUserId);
            }
        });

    public void SendAck(ulong ackId, string? errorName, string? errorMessage)
    {
        var frame = Build(w =>
        {
            w.WriteString("type", "ack");
            w.WriteNumber("ackId", ackId);
            w.WriteBoolean("success", errorName is null);
            if (errorName is not null)
            {
                w.WriteStartObject("error");
                w.WriteString("name", errorName);
                w.WriteString("message", errorMessage);
                w.WriteEndObject();
            }
        });
        Enqueue(Outbound.Text(frame));
    }

    public void SendPong() => Enqueue(Outbound.Text(Build(w => w.WriteString("type", "pong"))));

    /// <summary>Client acknowledged everything up to <paramref name="sequenceId"/>.</summary>
    public void Acknowledge(ulong sequenceId)
    {
        lock (_gate)
        {
            while (_unacked.Count > 0 && _unacked.Peek().Sequence <= sequenceId)
            {
                _unackedBytes -= _unacked.Dequeue().Frame.Length;
            }
        }
    }

    /// <summary>
    /// Ends the connection from the server side: a <c>disconnected</c> system message for subprotocol clients,
    /// then a close frame. It cannot be recovered.
    /// </summary>
    public bool End(WebSocketCloseStatus status, string reason)
    {
        lock (_gate)
        {
            if (Ended)
            {
                return false;
            }
            Ended = true;
            if (_attachment is { } attachment)
            {
                if (Kind != ClientKind.Raw)
                {
                    Write(attachment, Outbound.Text(Build(w =>
                    {
                        w.WriteString("type", "system");
                        w.WriteString("event", "disconnected");
                        w.WriteString("message", reason);
                    })));
                }
                Write(attachment, new Outbound(default, WebSocketMessageType.Close, status, Truncate(reason)));
                attachment.Channel.Writer.TryComplete();
            }
            _unacked.Clear();
            return true;
        }
    }

    /// <summary>Marks the connection over when it ended from the client side or its recovery window passed.</summary>
    public bool MarkEnded()
    {
        lock (_gate)
        {
            if (Ended)
            {
                return false;
            }
            Ended = true;
            _attachment?.Channel.Writer.TryComplete();
            _unacked.Clear();
            return true;
        }
    }

    private byte[] ConnectedMessage() => Build(w =>
    {
        w.WriteString("type", "system");
        w.WriteString("event", "connected");
        w.WriteString("userId", UserId);
        w.WriteString("connectionId", Id);
        if (ReconnectionToken is not null)
        {
            w.WriteString("reconnectionToken", ReconnectionToken);
        }
    });

    private bool SendData(ReadOnlyMemory<byte> payload, DataKind kind, Action<Utf8JsonWriter> header)
    {
        EmulatorMetrics.Delivered(payload.Length);
        if (Kind == ClientKind.Raw)
        {
            return Enqueue(new Outbound(payload, kind == DataKind.Binary ? WebSocketMessageType.Binary : WebSocketMessageType.Text, null, null));
        }
        if (Kind == ClientKind.Json)
        {
            return Enqueue(Outbound.Text(Build(w => WriteData(w, header, payload, kind, null))));
        }

        bool overflow;
        lock (_gate)
        {
            if (Ended)
            {
                return false;
            }
            var sequence = ++_sequence;
            var frame = Build(w => WriteData(w, header, payload, kind, sequence));
            _unacked.Enqueue((sequence, frame));
            _unackedBytes += frame.Length;
            overflow = _unacked.Count > EmulatorOptions.MaxUnackedMessages || _unackedBytes > EmulatorOptions.MaxUnackedBytes;
            if (!overflow && _attachment is { } attachment)
            {
                Write(attachment, Outbound.Text(frame));
            }
        }
        if (overflow)
        {
            Overflowed?.Invoke(this);
            return false;
        }
        return true;
    }

    /// <summary>Raised when a client falls too far behind (1,000 messages or 16 MB unacknowledged or unsent).</summary>
    public event Action<ClientConnection>? Overflowed;

    private static void WriteData(Utf8JsonWriter w, Action<Utf8JsonWriter> header, ReadOnlyMemory<byte> payload, DataKind kind, ulong? sequence)
    {
        header(w);
        switch (kind)
        {
            case DataKind.Json:
                w.WriteString("dataType", "json");
                w.WritePropertyName("data");
                w.WriteRawValue(payload.Span, skipInputValidation: true);
                break;
            case DataKind.Text:
                w.WriteString("dataType", "text");
                w.WriteString("data", payload.Span);
                break;
            default:
                w.WriteString("dataType", "binary");
                w.WriteBase64String("data", payload.Span);
                break;
        }
        if (sequence is { } s)
        {
            w.WriteNumber("sequenceId", s);
        }
    }

    private bool Enqueue(Outbound frame)
    {
        bool overflow;
        lock (_gate)
        {
            if (Ended || _attachment is not { } attachment)
            {
                return false;
            }
            Write(attachment, frame with { Counted = Kind != ClientKind.ReliableJson });
            overflow = Kind != ClientKind.ReliableJson
                && (Interlocked.Increment(ref _pendingFrames) > EmulatorOptions.MaxUnackedMessages || Interlocked.Add(ref _pendingBytes, frame.Payload.Length) > EmulatorOptions.MaxUnackedBytes);
        }
        if (overflow)
        {
            Overflowed?.Invoke(this);
            return false;
        }
        return true;
    }

    private static void Write(Attachment attachment, Outbound frame) => attachment.Channel.Writer.TryWrite(frame);

    internal static byte[] Build(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static string Truncate(string reason)
    {
        // A close frame's reason is at most 123 UTF-8 bytes.
        while (Encoding.UTF8.GetByteCount(reason) > 123)
        {
            reason = reason[..^1];
        }
        return reason;
    }

    private sealed record Attachment(WebSocket Socket, Channel<Outbound> Channel, int Generation);

    private readonly record struct Outbound(ReadOnlyMemory<byte> Payload, WebSocketMessageType Type, WebSocketCloseStatus? CloseStatus, string? CloseReason, bool Counted = false)
    {
        public static Outbound Text(byte[] payload) => new(payload, WebSocketMessageType.Text, null, null);
    }
}
