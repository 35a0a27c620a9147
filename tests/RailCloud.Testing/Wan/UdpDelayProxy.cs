using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace RailCloud.Testing.Wan;

/// <summary>
/// A UDP proxy on 127.0.0.1 in front of a TURN server: each client address gets its own socket towards the server,
/// and every datagram waits its one-way delay (with jitter) in each direction. Put in front of coturn, with the
/// peers forced to relay, it makes the media pay the client's network too. Only loopback.
/// </summary>
public sealed class UdpDelayProxy : IAsyncDisposable
{
    private readonly Socket _listen;
    private readonly IPEndPoint _target;
    private readonly Delay _delay;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<EndPoint, Flow> _flows = new();
    private readonly Task _receiving;

    private UdpDelayProxy(int targetPort, Delay delay)
    {
        _target = new IPEndPoint(IPAddress.Loopback, targetPort);
        _delay = delay;
        _listen = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _listen.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Port = ((IPEndPoint)_listen.LocalEndPoint!).Port;
        _receiving = ReceiveAsync();
    }

    public int Port { get; }

    public static UdpDelayProxy Start(int targetPort, Delay delay) => new(targetPort, delay);

    private async Task ReceiveAsync()
    {
        var buffer = new byte[65_536];
        EndPoint any = new IPEndPoint(IPAddress.Any, 0);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult got;
            try
            {
                got = await _listen.ReceiveFromAsync(buffer, SocketFlags.None, any, _stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue;   // an ICMP error from an earlier send; UDP goes on
            }
            var flow = _flows.GetOrAdd(got.RemoteEndPoint, client => new Flow(this, client));
            flow.ToServer.Send(buffer[..got.ReceivedBytes]);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listen.Dispose();
        await _receiving;
        foreach (var flow in _flows.Values)
        {
            flow.Dispose();
        }
        _stop.Dispose();
    }

    /// <summary>One client's traffic: its own socket towards the server, and a delayed queue each way.</summary>
    private sealed class Flow : IDisposable
    {
        private readonly Socket _upstream = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

        public Flow(UdpDelayProxy proxy, EndPoint client)
        {
            _upstream.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            ToServer = new DelayedSender(proxy, (data, token) => _upstream.SendToAsync(data, SocketFlags.None, proxy._target, token));
            ToClient = new DelayedSender(proxy, (data, token) => proxy._listen.SendToAsync(data, SocketFlags.None, client, token));
            _ = ReceiveFromServerAsync(proxy);
        }

        public DelayedSender ToServer { get; }
        public DelayedSender ToClient { get; }

        private async Task ReceiveFromServerAsync(UdpDelayProxy proxy)
        {
            var buffer = new byte[65_536];
            EndPoint any = new IPEndPoint(IPAddress.Any, 0);
            while (!proxy._stop.IsCancellationRequested)
            {
                try
                {
                    var got = await _upstream.ReceiveFromAsync(buffer, SocketFlags.None, any, proxy._stop.Token);
                    ToClient.Send(buffer[..got.ReceivedBytes]);
                }
                catch (Exception) when (proxy._stop.IsCancellationRequested)
                {
                    return;
                }
                catch (SocketException)
                {
                    // an ICMP error; go on
                }
                catch (ObjectDisposedException)
                {
                    return;
                }
            }
        }

        public void Dispose() => _upstream.Dispose();
    }

    /// <summary>Sends each datagram when its delay is over, in the order they came.</summary>
    private sealed class DelayedSender
    {
        private readonly Channel<(long Due, byte[] Data)> _queue = Channel.CreateUnbounded<(long, byte[])>(new UnboundedChannelOptions { SingleReader = true });
        private readonly UdpDelayProxy _proxy;
        private long _lastDue;

        public DelayedSender(UdpDelayProxy proxy, Func<byte[], CancellationToken, ValueTask<int>> send)
        {
            _proxy = proxy;
            _ = RunAsync(send);
        }

        public void Send(byte[] data)
        {
            lock (_queue)
            {
                _lastDue = _proxy._delay.DueAfter(_lastDue);
                _queue.Writer.TryWrite((_lastDue, data));
            }
        }

        private async Task RunAsync(Func<byte[], CancellationToken, ValueTask<int>> send)
        {
            var token = _proxy._stop.Token;
            try
            {
                await foreach (var (due, data) in _queue.Reader.ReadAllAsync(token))
                {
                    await Delay.WaitUntilAsync(due, token);
                    try
                    {
                        await send(data, token);
                    }
                    catch (SocketException)
                    {
                        // dropped, as the network would
                    }
                }
            }
            catch (Exception) when (token.IsCancellationRequested)
            {
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }
}
