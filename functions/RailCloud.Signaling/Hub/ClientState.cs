using System.Text.Json;
using System.Text.Json.Serialization;
using RailCloud.WebPubSub;

namespace RailCloud.Signaling.Hub;

/// <summary>
/// What the backend remembers about a connection between its events, kept in Web PubSub's connection state
/// (<c>ce-connectionState</c>): who it is, whether it registered, the sessions it is in (so relaying an ICE
/// candidate needs no storage read), and its signaling rate bucket. Only our own answers can set it.
/// </summary>
public sealed class ClientState
{
    public const string Key = "rc";

    [JsonPropertyName("r")] public string Role { get; set; } = "";
    [JsonPropertyName("i")] public string Id { get; set; } = "";
    [JsonPropertyName("g")] public bool Registered { get; set; }
    [JsonPropertyName("s")] public List<CachedSession> Sessions { get; set; } = [];
    [JsonPropertyName("t")] public double Tokens { get; set; }
    [JsonPropertyName("u")] public long TokensAtMs { get; set; }

    public static ClientState? From(WebPubSubConnectionContext context)
    {
        if (!context.States.TryGetValue(Key, out var element))
        {
            return null;
        }
        try
        {
            return element.Deserialize<ClientState>();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public IReadOnlyDictionary<string, JsonElement> ToStates() =>
        new Dictionary<string, JsonElement> { [Key] = JsonSerializer.SerializeToElement(this) };

    /// <summary>
    /// Token bucket: true if one more signaling message fits. A refused message is counted too, so the bucket goes
    /// below zero for a connection that keeps sending while refused (see <see cref="Tokens"/>); it refills as usual.
    /// </summary>
    public bool TryTake(int burst, double perSecond, DateTimeOffset now)
    {
        var nowMs = now.ToUnixTimeMilliseconds();
        var tokens = TokensAtMs == 0 ? burst : Math.Min(burst, Tokens + (nowMs - TokensAtMs) / 1000.0 * perSecond);
        TokensAtMs = nowMs;
        Tokens = tokens - 1;
        return tokens >= 1;
    }

    public void Remember(string kioskId, string sessionId, string peerId, string peerConnectionId, DateTimeOffset until)
    {
        Sessions.RemoveAll(s => s.KioskId == kioskId);
        Sessions.Add(new CachedSession { KioskId = kioskId, SessionId = sessionId, PeerId = peerId, PeerConnectionId = peerConnectionId, UntilMs = until.ToUnixTimeMilliseconds() });
    }

    public void Forget(string kioskId) => Sessions.RemoveAll(s => s.KioskId == kioskId);
}

public sealed class CachedSession
{
    [JsonPropertyName("k")] public string KioskId { get; set; } = "";
    [JsonPropertyName("s")] public string SessionId { get; set; } = "";
    [JsonPropertyName("p")] public string PeerId { get; set; } = "";
    [JsonPropertyName("c")] public string PeerConnectionId { get; set; } = "";
    [JsonPropertyName("u")] public long UntilMs { get; set; }
}
