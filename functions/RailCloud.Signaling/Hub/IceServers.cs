using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using RailCloud.Protocol;

namespace RailCloud.Signaling.Hub;

/// <summary><c>Turn</c> and <c>Stun</c>: the ICE servers handed to clients.</summary>
public sealed class TurnOptions
{
    public const string SectionName = "Turn";

    /// <summary>TURN URLs, e.g. <c>turn:127.0.0.1:3478?transport=udp</c>; empty means no relay.</summary>
    public string[] Urls { get; set; } = [];

    /// <summary>coturn's <c>static-auth-secret</c> (TURN REST credentials).</summary>
    public string? Secret { get; set; }

    [Range(typeof(TimeSpan), "00:01:00", "2.00:00:00")]
    public TimeSpan CredentialLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>STUN URLs (<c>Stun:Urls</c>).</summary>
    public string[] StunUrls { get; set; } = [];
}

/// <summary>
/// ICE servers for a client: STUN, plus TURN with TURN REST credentials
/// (<c>username = expiry:userId</c>, <c>credential = base64(HMAC-SHA1(secret, username))</c>), as coturn's
/// <c>use-auth-secret</c> expects.
/// </summary>
public sealed class IceServerProvider(IOptions<TurnOptions> options, TimeProvider time)
{
    public IReadOnlyList<IceServer> For(string userId)
    {
        var turn = options.Value;
        var servers = new List<IceServer>();
        if (turn.StunUrls.Length > 0)
        {
            servers.Add(new IceServer(turn.StunUrls));
        }
        if (turn.Urls.Length > 0 && !string.IsNullOrEmpty(turn.Secret))
        {
            var (username, credential) = Credentials(userId, turn.Secret, time.GetUtcNow() + turn.CredentialLifetime);
            servers.Add(new IceServer(turn.Urls, username, credential));
        }
        return servers;
    }

    public static (string Username, string Credential) Credentials(string userId, string secret, DateTimeOffset expiresAt)
    {
        var username = $"{expiresAt.ToUnixTimeSeconds()}:{userId}";
        var credential = Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(username)));
        return (username, credential);
    }
}
