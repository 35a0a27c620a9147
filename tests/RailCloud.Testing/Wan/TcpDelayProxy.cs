using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace RailCloud.Testing.Wan;

/// <summary>
/// A TCP proxy on 127.0.0.1 that makes a leg look far away: every chunk waits its one-way delay (with jitter, in
/// order, as TCP delivers) in each direction, and a new connection pays one round trip for its handshake before
/// its first bytes reach the other end. Only loopback: it listens on and connects to 127.0.0.1.
/// </summary>
public sealed class TcpDelayProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly int _targetPort;
    private readonly Delay _delay;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    private TcpDelayProxy(int targetPort, Delay delay)
    {
        _targetPort = targetPort;
        _delay = delay;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start(512);
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    /// <summary>The port clients connect to instead of the target's.</summary>
    public int Port { get; }

    /// <summary>Starts forwarding 127.0.0.1:<see cref="Port"/> to 127.0.0.1:<paramref name="targetPort"/> with <paramref name="delay"/> each way.</summary>
    public static TcpDelayProxy Start(int targetPort, Delay delay) => new(targetPort, delay);

    /// <summary><paramref name="uri"/> with its port replaced by this proxy's.</summary>
    public Uri Through(Uri uri) => new UriBuilder(uri) { Host = "127.0.0.1", Port = Port }.Uri;

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }
            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using var _ = client;
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        using var done = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        try
        {
            await server.ConnectAsync(IPAddress.Loopback, _targetPort, done.Token);
        }
        catch (Exception)
        {
            return;   // the target is down: the client's connection just closes, as a refused one would
        }
        // SYN, SYN-ACK: the first bytes leave after one round trip.
        var handshake = Stopwatch.GetTimestamp() + Delay.Ticks(_delay.OneWay * 2);
        // Each direction ends when its sender closes, after what was in flight has arrived (HTTP half-closes).
        await Task.WhenAll(
            PumpAsync(client, server, handshake, done.Token),
            PumpAsync(server, client, handshake, done.Token));
    }

    /// <summary>Reads from one side and writes to the other, each chunk when its delay is over, never out of order.</summary>
    private async Task PumpAsync(Socket from, Socket to, long notBefore, CancellationToken cancellationToken)
    {
        var queue = Channel.CreateUnbounded<(long Due, byte[] Data)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var writing = WriteAsync(queue.Reader, to, cancellationToken);
        var buffer = new byte[64 * 1024];
        var lastDue = notBefore;
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
                if (read == 0)
                {
                    break;
                }
                lastDue = _delay.DueAfter(lastDue);
                queue.Writer.TryWrite((lastDue, buffer[..read]));
            }
        }
        catch (Exception)
        {
            // a reset or the proxy stopping: the other side is closed after what was already in flight
        }
        queue.Writer.TryComplete();
        await writing;
    }

    private static async Task WriteAsync(ChannelReader<(long Due, byte[] Data)> queue, Socket to, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var (due, data) in queue.ReadAllAsync(cancellationToken))
            {
                await Delay.WaitUntilAsync(due, cancellationToken);
                await to.SendAsync(data, SocketFlags.None, cancellationToken);
            }
            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception)
        {
            // the other side went away or the proxy stopped
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
