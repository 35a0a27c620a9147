using System.Text.Json.Nodes;
using RailCloud.Client;

namespace RailCloud.Testing;

/// <summary>Small waits and reads the backend tests share.</summary>
public static class Waiting
{
    /// <summary>A TTL of seconds, not minutes, so "no heartbeat for the TTL" and outage drills take seconds.</summary>
    public static Dictionary<string, string?> ShortSessions() => new()
    {
        ["Sessions:Ttl"] = "00:00:03",
        ["Sessions:HeartbeatInterval"] = "00:00:01",
        ["Sessions:SweepInterval"] = "00:00:00.250",
    };

    public static async Task UntilAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The condition was not met in time.");
            }
            await Task.Delay(50);
        }
    }

    /// <summary>Every message the connection received that no wait took, so far.</summary>
    public static List<JsonObject> Drain(RailCloudConnection connection)
    {
        var list = new List<JsonObject>();
        while (connection.Messages.TryRead(out var message))
        {
            list.Add(message);
        }
        return list;
    }
}
