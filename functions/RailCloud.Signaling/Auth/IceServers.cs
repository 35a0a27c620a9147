using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using RailCloud.Protocol;

namespace RailCloud.Signaling.Auth;

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
