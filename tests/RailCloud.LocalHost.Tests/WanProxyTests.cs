using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using RailCloud.Testing;
using RailCloud.Testing.Wan;

namespace RailCloud.LocalHost.Tests;

/// <summary>
/// The benchmarks' simulated network: a message through a delaying proxy and back takes at least the round trip the
/// profile says, whatever the machine's load (only lower bounds are checked: a busy machine only adds).
/// </summary>
public sealed class WanProxyTests
{
    /// <summary>For the stopwatch's own reading; the proxies never deliver early.</summary>
    private const double Slack = 0.05;

    [Theory]
    [InlineData(1)]
    [InlineData(10)]
    public async Task AnEchoThroughTheTcpProxyTakesAtLeastTheRoundTrip(double oneWayMs)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var echo = Task.Run(async () =>
        {
            using var peer = await listener.AcceptSocketAsync();
            var buffer = new byte[64];
            for (int read; (read = await peer.ReceiveAsync(buffer)) > 0;)
            {
                await peer.SendAsync(buffer.AsMemory(0, read));
            }
        });
        await using var proxy = TcpDelayProxy.Start(((IPEndPoint)listener.LocalEndpoint).Port, Delay.Ms(oneWayMs));
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await client.ConnectAsync(IPAddress.Loopback, proxy.Port);

        var reply = new byte[1];
        var times = new List<double>();
        for (var i = 0; i < 20; i++)
        {
            var sent = Stopwatch.GetTimestamp();
            await client.SendAsync(new byte[] { (byte)i });
            Assert.Equal(1, await client.ReceiveAsync(reply));
            times.Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
            Assert.Equal((byte)i, reply[0]);
        }
        client.Shutdown(SocketShutdown.Both);

        Assert.True(times.Min() >= (2 * oneWayMs) - Slack, $"round trips {string.Join(", ", times.Select(t => t.ToString("F2")))} ms; each should be at least {(2 * oneWayMs) - Slack} ms");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(10)]
    public async Task ADatagramThroughTheUdpProxyAndBackTakesAtLeastTheRoundTrip(double oneWayMs)
    {
        using var server = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        using var stop = new CancellationTokenSource();
        var echo = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var received = await server.ReceiveAsync(stop.Token);
                await server.SendAsync(received.Buffer, received.RemoteEndPoint, stop.Token);
            }
        });
        await using var proxy = UdpDelayProxy.Start(((IPEndPoint)server.Client.LocalEndPoint!).Port, Delay.Ms(oneWayMs));
        using var client = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        client.Connect(IPAddress.Loopback, proxy.Port);

        var times = new List<double>();
        for (var i = 0; i < 20; i++)
        {
            var sent = Stopwatch.GetTimestamp();
            await client.SendAsync(new byte[] { (byte)i });
            var reply = await client.ReceiveAsync().WaitAsync(TimeSpan.FromSeconds(5));
            times.Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
            Assert.Equal((byte)i, reply.Buffer[0]);
        }
        stop.Cancel();

        Assert.True(times.Min() >= (2 * oneWayMs) - Slack, $"round trips {string.Join(", ", times.Select(t => t.ToString("F2")))} ms; each should be at least {(2 * oneWayMs) - Slack} ms");
    }
}
