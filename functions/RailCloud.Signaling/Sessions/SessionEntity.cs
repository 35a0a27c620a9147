using Azure;
using Azure.Data.Tables;

namespace RailCloud.Signaling.Sessions;

/// <summary>The one session a kiosk may have. PartitionKey = kiosk id, RowKey "session".</summary>
public sealed class SessionEntity : ITableEntity
{
    public const string Row = "session";
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = Row;
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public string SessionId { get; set; } = "";
    public string MonitorId { get; set; } = "";
    public string MonitorConnectionId { get; set; } = "";
    public string KioskConnectionId { get; set; } = "";
    public DateTimeOffset StartedAt { get; set; }
    /// <summary>When the session ends unless heard from: the earlier of its members' own deadlines (what the sweep queries).</summary>
    public DateTimeOffset ExpiresAt { get; set; }
    /// <summary>The kiosk's own deadline, pushed forward only by the kiosk (null on rows written before members had their own).</summary>
    public DateTimeOffset? KioskExpiresAt { get; set; }
    /// <summary>The monitor's own deadline, pushed forward only by the monitor.</summary>
    public DateTimeOffset? MonitorExpiresAt { get; set; }
    /// <summary>Which write made this row, so a retried insert that already succeeded is recognised as our own.</summary>
    public string WriteId { get; set; } = "";

    public string KioskId => PartitionKey;

    public bool IsLive(DateTimeOffset now) => ExpiresAt > now;

    /// <summary>
    /// <paramref name="side"/> was heard from: its deadline moves to <paramref name="until"/> (never back), and the
    /// session lives until the earlier of the two. One member's heartbeats cannot keep alive a session whose other
    /// member is gone.
    /// </summary>
    public void HeardFrom(SessionSide side, DateTimeOffset until)
    {
        var kiosk = KioskExpiresAt ?? ExpiresAt;
        var monitor = MonitorExpiresAt ?? ExpiresAt;
        if (side is SessionSide.Kiosk or SessionSide.Both)
        {
            kiosk = kiosk > until ? kiosk : until;
        }
        if (side is SessionSide.Monitor or SessionSide.Both)
        {
            monitor = monitor > until ? monitor : until;
        }
        (KioskExpiresAt, MonitorExpiresAt) = (kiosk, monitor);
        ExpiresAt = kiosk < monitor ? kiosk : monitor;
    }
}

/// <summary>Which member of a session an update speaks for.</summary>
public enum SessionSide
{
    Kiosk,
    Monitor,
    Both,
}
