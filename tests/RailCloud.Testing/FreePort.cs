using System.Net;
using System.Net.Sockets;

namespace RailCloud.Testing;

public static class FreePort
{
    private static readonly object Gate = new();
    private static readonly HashSet<int> Given = [];

    /// <summary>
    /// A loopback port nobody is listening on right now (for a server that must be named before it starts). It is
    /// taken from below the kernel's ephemeral range, so an outgoing connection (which gets an ephemeral port) cannot
    /// take it between now and the server's start, and never twice in this process.
    /// </summary>
    public static int Next()
    {
        var (low, _) = EphemeralRange();
        if (low > 12_000)
        {
            lock (Gate)
            {
                for (var attempt = 0; attempt < 200; attempt++)
                {
                    var port = Random.Shared.Next(low - 10_000, low);
                    if (!Given.Contains(port) && IsFree(port))
                    {
                        Given.Add(port);
                        return port;
                    }
                }
            }
        }
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var tcp = new TcpListener(IPAddress.Loopback, port);
            tcp.Start();
            using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, port));   // coturn listens on both
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static (int Low, int High) EphemeralRange()
    {
        try
        {
            var parts = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            return (int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return (0, 0);   // not Linux: the kernel's own choice, as before
        }
    }
}
