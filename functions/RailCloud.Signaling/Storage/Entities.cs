using Azure;
using Azure.Data.Tables;

namespace RailCloud.Signaling.Storage;

/// <summary>A login account. PartitionKey "account", RowKey = id.</summary>
public sealed class AccountEntity : ITableEntity
{
    public const string Partition = "account";
    public string PartitionKey { get; set; } = Partition;
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public string Role { get; set; } = "";
    public string PasswordHash { get; set; } = "";
    public int FailedAttempts { get; set; }
    public DateTimeOffset? LockedUntil { get; set; }
    /// <summary>Tokens issued before this instant are void (set by logout and password reset).</summary>
    public DateTimeOffset TokensValidFrom { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    /// <summary>"local" (password) or "entra" (mirrored from an Entra ID sign-in; no password login).</summary>
    public string Source { get; set; } = "local";
}

/// <summary>A kiosk's presence. PartitionKey "kiosk", RowKey = kiosk id; created with the kiosk account.</summary>
public sealed class KioskEntity : ITableEntity
{
    public const string Partition = "kiosk";
    public string PartitionKey { get; set; } = Partition;
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public bool Online { get; set; }
    public string? ConnectionId { get; set; }
    public DateTimeOffset? LastSeen { get; set; }
    /// <summary>Presence lapses at this instant unless a heartbeat extends it.</summary>
    public DateTimeOffset? ExpiresAt { get; set; }
    /// <summary>Crew on duty, JSON array of <see cref="Protocol.CrewOnDuty"/>.</summary>
    public string Crew { get; set; } = "[]";

    public bool IsOnline(DateTimeOffset now) => Online && ExpiresAt > now;
}

/// <summary>
/// When the sweep last completed, kept beside the kiosks (PartitionKey "backend", which no kiosk query reads): a
/// long gap means the backend itself was down, and nobody's silence during it counts against them.
/// </summary>
public sealed class SweepMarkEntity : ITableEntity
{
    public const string Partition = "backend";
    public const string Row = "sweep";
    public string PartitionKey { get; set; } = Partition;
    public string RowKey { get; set; } = Row;
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public DateTimeOffset SweptAt { get; set; }
}

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

/// <summary>One audit entry. PartitionKey = kiosk id, RowKey sorts newest first.</summary>
public sealed class AuditEntity : ITableEntity
{
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public string Kind { get; set; } = "";
    public DateTimeOffset At { get; set; }
    public string? CrewId { get; set; }
    public string? Name { get; set; }
    public string? MonitorId { get; set; }
    public string? SessionId { get; set; }
    public string? Reason { get; set; }
    public string? DeviceId { get; set; }
    /// <summary>Who did it, when that is not the kiosk itself (a supervisor enrolling or revoking a device).</summary>
    public string? By { get; set; }

    public static string RowKeyFor(DateTimeOffset at) =>
        $"{DateTimeOffset.MaxValue.UtcTicks - at.UtcTicks:D19}-{Guid.NewGuid():N}"[..28];
}
