using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace RailCloud.Testing;

/// <summary>
/// A bare WebSocket client for tests: sends frames as given and collects what arrives, so tests can check the
/// wire exactly (including frames the official SDKs would never send).
/// </summary>
public sealed class TestWebSocket : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;
    private readonly Channel<Frame> _frames = Channel.CreateUnbounded<Frame>();
    private readonly Task _reader;
    private readonly CancellationTokenSource _stop = new();

    private TestWebSocket(ClientWebSocket socket)
    {
        _socket = socket;
        _reader = ReadAsync();
    }

    public static TimeSpan DefaultTimeout { get; } = TimeSpan.FromSeconds(10);

    public WebSocket Socket => _socket;

    public string? Subprotocol => _socket.SubProtocol;

    /// <summary>Close status once the server closed the socket.</summary>
    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    public string? CloseDescription => _socket.CloseStatusDescription;

    public static async Task<TestWebSocket> ConnectAsync(Uri uri, params string[] subprotocols)
    {
        var socket = new ClientWebSocket();
        foreach (var protocol in subprotocols)
        {
            socket.Options.AddSubProtocol(protocol);
        }
        socket.Options.CollectHttpResponseDetails = true;
        using var timeout = new CancellationTokenSource(DefaultTimeout);
        await socket.ConnectAsync(uri, timeout.Token);
        return new TestWebSocket(socket);
    }

    /// <summary>Tries to connect and returns the HTTP status of a refused upgrade (101 when it was accepted).</summary>
    public static async Task<(int Status, TestWebSocket? Socket)> TryConnectAsync(Uri uri, params string[] subprotocols)
    {
        var socket = new ClientWebSocket();
        foreach (var protocol in subprotocols)
        {
            socket.Options.AddSubProtocol(protocol);
        }
        socket.Options.CollectHttpResponseDetails = true;
        try
        {
            using var timeout = new CancellationTokenSource(DefaultTimeout);
            await socket.ConnectAsync(uri, timeout.Token);
            return (101, new TestWebSocket(socket));
        }
        catch (WebSocketException)
        {
            var status = (int)socket.HttpStatusCode;
            socket.Dispose();
            return (status, null);
        }
    }

    public Task SendTextAsync(string text) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

    public Task SendBinaryAsync(byte[] data) =>
        _socket.SendAsync(data, WebSocketMessageType.Binary, true, CancellationToken.None);

    public Task SendJsonAsync(object message) => SendTextAsync(JsonSerializer.Serialize(message));

    /// <summary>The next frame; throws if none comes in time.</summary>
    public async Task<Frame> ReceiveAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            return await _frames.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"No frame arrived within {timeout ?? DefaultTimeout}.");
        }
        catch (ChannelClosedException)
        {
            throw new InvalidOperationException($"The socket closed ({_socket.CloseStatus} {_socket.CloseStatusDescription}) before another frame arrived.");
        }
    }

    /// <summary>The next JSON message matching <paramref name="match"/>, skipping others.</summary>
    public async Task<JsonObject> ReceiveJsonAsync(Func<JsonObject, bool>? match = null, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException("No matching JSON message arrived in time.");
            }
            var frame = await ReceiveAsync(left);
            if (JsonNode.Parse(frame.Text) is JsonObject message && (match is null || match(message)))
            {
                return message;
            }
        }
    }

    /// <summary>True if no frame arrives within <paramref name="window"/> (for "nothing was delivered" checks).</summary>
    public async Task<bool> NothingArrivesWithinAsync(TimeSpan window)
    {
        using var cts = new CancellationTokenSource(window);
        try
        {
            await _frames.Reader.WaitToReadAsync(cts.Token);
            return false;
        }
        catch (OperationCanceledException)
        {
            return true;
        }
    }

    /// <summary>Waits until the server has closed the socket; returns the close status.</summary>
    public async Task<WebSocketCloseStatus?> WaitForCloseAsync(TimeSpan? timeout = null)
    {
        await _reader.WaitAsync(timeout ?? DefaultTimeout);
        return _socket.CloseStatus;
    }

    /// <summary>Drops the TCP connection with no close frame, as a network failure would.</summary>
    public void Abort() => _socket.Abort();

    public async Task CloseAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            using var timeout = new CancellationTokenSource(DefaultTimeout);
            await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token);
            await _reader.WaitAsync(DefaultTimeout);
        }
    }

    private async Task ReadAsync()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (true)
            {
                var result = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    if (_socket.State == WebSocketState.CloseReceived)
                    {
                        await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    }
                    return;
                }
                message.Write(buffer, 0, result.Count);
                if (result.EndOfMessage)
                {
                    _frames.Writer.TryWrite(new Frame(result.MessageType, message.ToArray()));
                    message.SetLength(0);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // Aborted or dropped; the channel's completion tells the test.
        }
        finally
        {
            _frames.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _socket.Abort();
        await _reader.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _socket.Dispose();
        _stop.Dispose();
    }

    public sealed record Frame(WebSocketMessageType Type, byte[] Data)
    {
        public string Text => Encoding.UTF8.GetString(Data);
    }
}
