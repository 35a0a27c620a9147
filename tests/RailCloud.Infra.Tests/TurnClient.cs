using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace RailCloud.Infra.Tests;

/// <summary>
/// A minimal TURN client (RFC 8656, long-term credentials) for checking what coturn allows: Allocate,
/// CreatePermission, Send and Data indications, over UDP, TCP or TLS. It never sends application data to a peer
/// by itself; a refusal test uses Allocate and CreatePermission only.
/// </summary>
public sealed class TurnClient : IAsyncDisposable
{
    private const uint MagicCookie = 0x2112A442;
    private const ushort Allocate = 0x0003, CreatePermission = 0x0008, SendIndication = 0x0016, DataIndication = 0x0017;
    private const ushort AttrUsername = 0x0006, AttrIntegrity = 0x0008, AttrErrorCode = 0x0009, AttrPeer = 0x0012, AttrData = 0x0013,
        AttrRelayed = 0x0016, AttrRealm = 0x0014, AttrNonce = 0x0015, AttrTransport = 0x0019;

    private readonly UdpClient? _udp;
    private readonly TcpClient? _tcp;
    private readonly Stream? _stream;
    private readonly string _username;
    private readonly string _password;
    private byte[]? _key;
    private byte[]? _realm;
    private byte[]? _nonce;

    private TurnClient(UdpClient? udp, TcpClient? tcp, Stream? stream, string username, string password)
    {
        _udp = udp;
        _tcp = tcp;
        _stream = stream;
        _username = username;
        _password = password;
    }

    public enum Transport { Udp, Tcp, Tls }

    /// <summary>TURN REST credentials as RailCloud's API hands them out: "expiry:user" and base64(HMAC-SHA1(secret, username)).</summary>
    public static (string Username, string Password) RestCredentials(string secret, DateTimeOffset expiry, string user = "rehearsal")
    {
        var username = $"{expiry.ToUnixTimeSeconds()}:{user}";
        return (username, Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(username))));
    }

    public static async Task<TurnClient> ConnectAsync(Transport transport, int port, string username, string password)
    {
        var server = new IPEndPoint(IPAddress.Loopback, port);
        switch (transport)
        {
            case Transport.Udp:
                var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
                udp.Connect(server);
                return new TurnClient(udp, null, null, username, password);
            case Transport.Tcp:
                var tcp = new TcpClient();
                await tcp.ConnectAsync(server);
                return new TurnClient(null, tcp, tcp.GetStream(), username, password);
            default:
                var tls = new TcpClient();
                await tls.ConnectAsync(server);
                // The VM starts with a self-signed certificate; this checks that TLS answers on the port, not trust.
                var ssl = new SslStream(tls.GetStream(), false, (_, _, _, _) => true);
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "turn.test" });
                return new TurnClient(null, tls, ssl, username, password);
        }
    }

    public sealed record Response(int? ErrorCode, string? Reason, IPEndPoint? Relayed);

    /// <summary>Allocate with the 401 challenge answered; <paramref name="tcpRelay"/> asks for an RFC 6062 TCP allocation.</summary>
    public async Task<Response> AllocateAsync(bool tcpRelay = false)
    {
        var transport = new byte[] { tcpRelay ? (byte)6 : (byte)17, 0, 0, 0 };
        var first = await RequestAsync(Allocate, [(AttrTransport, transport)], authenticate: false);
        if (first.ErrorCode != 401 || _realm is null || _nonce is null)
        {
            return first;
        }
        _key = MD5.HashData(Encoding.UTF8.GetBytes($"{_username}:{Encoding.UTF8.GetString(_realm)}:{_password}"));
        return await RequestAsync(Allocate, [(AttrTransport, transport)], authenticate: true);
    }

    public Task<Response> CreatePermissionAsync(IPAddress peer) =>
        RequestAsync(CreatePermission, [(AttrPeer, XorAddress(new IPEndPoint(peer, 9)))], authenticate: true);

    /// <summary>Sends data through the relay; only ever used with loopback peers that have a permission.</summary>
    public async Task SendAsync(IPEndPoint peer, byte[] data)
    {
        if (!IPAddress.IsLoopback(peer.Address))
        {
            throw new InvalidOperationException("The rehearsal never sends data toward an address outside 127.0.0.0/8.");
        }
        await WriteAsync(Encode(SendIndication, RandomNumberGenerator.GetBytes(12), [(AttrPeer, XorAddress(peer)), (AttrData, data)], authenticate: false));
    }

    /// <summary>The payload of the next Data indication, or null when none comes in time.</summary>
    public async Task<byte[]?> ReceiveDataAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                var message = await ReadAsync(cts.Token);
                if (BinaryPrimitives.ReadUInt16BigEndian(message) == DataIndication)
                {
                    return Attributes(message).FirstOrDefault(a => a.Type == AttrData).Value;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    private async Task<Response> RequestAsync(ushort method, List<(ushort Type, byte[] Value)> attributes, bool authenticate)
    {
        var id = RandomNumberGenerator.GetBytes(12);
        await WriteAsync(Encode(method, id, attributes, authenticate));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        while (true)
        {
            var message = await ReadAsync(cts.Token);
            if (!message.AsSpan(8, 12).SequenceEqual(id))
            {
                continue;   // a Data indication or a late retransmission answer
            }
            int? code = null;
            string? reason = null;
            IPEndPoint? relayed = null;
            foreach (var (type, value) in Attributes(message))
            {
                switch (type)
                {
                    case AttrErrorCode:
                        code = value[2] * 100 + value[3];
                        reason = Encoding.UTF8.GetString(value, 4, value.Length - 4);
                        break;
                    case AttrRealm:
                        _realm = value;
                        break;
                    case AttrNonce:
                        _nonce = value;
                        break;
                    case AttrRelayed:
                        relayed = ReadXorAddress(value);
                        break;
                }
            }
            return new Response(code, reason, relayed);
        }
    }

    private byte[] Encode(ushort type, byte[] id, List<(ushort Type, byte[] Value)> attributes, bool authenticate)
    {
        var all = new List<(ushort Type, byte[] Value)>(attributes);
        if (authenticate)
        {
            all.Add((AttrUsername, Encoding.UTF8.GetBytes(_username)));
            all.Add((AttrRealm, _realm!));
            all.Add((AttrNonce, _nonce!));
        }
        using var body = new MemoryStream();
        foreach (var (attrType, value) in all)
        {
            WriteAttribute(body, attrType, value);
        }
        var length = (int)body.Length + (authenticate ? 24 : 0);
        var message = new byte[20 + length];
        BinaryPrimitives.WriteUInt16BigEndian(message, type);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(2), (ushort)length);
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(4), MagicCookie);
        id.CopyTo(message, 8);
        body.ToArray().CopyTo(message, 20);
        if (authenticate)
        {
            // MESSAGE-INTEGRITY covers the header (with the length already counting it) and every attribute before it.
            var offset = 20 + (int)body.Length;
            var mac = HMACSHA1.HashData(_key!, message.AsSpan(0, offset));
            BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(offset), AttrIntegrity);
            BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(offset + 2), 20);
            mac.CopyTo(message, offset + 4);
        }
        return message;
    }

    private static void WriteAttribute(Stream body, ushort type, byte[] value)
    {
        Span<byte> header = stackalloc byte[4];
        BinaryPrimitives.WriteUInt16BigEndian(header, type);
        BinaryPrimitives.WriteUInt16BigEndian(header[2..], (ushort)value.Length);
        body.Write(header);
        body.Write(value);
        body.Write(new byte[(4 - value.Length % 4) % 4]);
    }

    private static IEnumerable<(ushort Type, byte[] Value)> Attributes(byte[] message)
    {
        var length = BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(2));
        for (var offset = 20; offset + 4 <= 20 + length;)
        {
            var type = BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(offset));
            var size = BinaryPrimitives.ReadUInt16BigEndian(message.AsSpan(offset + 2));
            yield return (type, message.AsSpan(offset + 4, size).ToArray());
            offset += 4 + size + (4 - size % 4) % 4;
        }
    }

    private static byte[] XorAddress(IPEndPoint endpoint)
    {
        var value = new byte[8];
        value[1] = 0x01;
        BinaryPrimitives.WriteUInt16BigEndian(value.AsSpan(2), (ushort)(endpoint.Port ^ (MagicCookie >> 16)));
        var address = endpoint.Address.GetAddressBytes();
        var cookie = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(cookie, MagicCookie);
        for (var i = 0; i < 4; i++)
        {
            value[4 + i] = (byte)(address[i] ^ cookie[i]);
        }
        return value;
    }

    private static IPEndPoint ReadXorAddress(byte[] value)
    {
        var port = BinaryPrimitives.ReadUInt16BigEndian(value.AsSpan(2)) ^ (int)(MagicCookie >> 16);
        var cookie = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(cookie, MagicCookie);
        var address = new byte[4];
        for (var i = 0; i < 4; i++)
        {
            address[i] = (byte)(value[4 + i] ^ cookie[i]);
        }
        return new IPEndPoint(new IPAddress(address), port);
    }

    private async Task WriteAsync(byte[] message)
    {
        if (_udp is not null)
        {
            await _udp.SendAsync(message);
        }
        else
        {
            await _stream!.WriteAsync(message);
            await _stream.FlushAsync();
        }
    }

    private async Task<byte[]> ReadAsync(CancellationToken cancellationToken)
    {
        if (_udp is not null)
        {
            return (await _udp.ReceiveAsync(cancellationToken)).Buffer;
        }
        var header = new byte[20];
        await _stream!.ReadExactlyAsync(header, cancellationToken);
        var message = new byte[20 + BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(2))];
        header.CopyTo(message, 0);
        await _stream.ReadExactlyAsync(message.AsMemory(20), cancellationToken);
        return message;
    }

    public async ValueTask DisposeAsync()
    {
        _udp?.Dispose();
        if (_stream is not null)
        {
            await _stream.DisposeAsync();
        }
        _tcp?.Dispose();
    }
}
