using System.Net;
using System.Net.Sockets;

namespace RailCloud.Testing;

public static class FreePort
{
    /// <summary>A loopback port nobody is listening on right now (for a server that must be named before it starts).</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
