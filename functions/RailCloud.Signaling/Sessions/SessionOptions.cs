using System.ComponentModel.DataAnnotations;

namespace RailCloud.Signaling.Sessions;

/// <summary><c>Sessions</c>: how long presence and sessions live without a heartbeat, and how the sweep treats an outage of ours.</summary>
public sealed class SessionOptions
{
    public const string SectionName = "Sessions";

    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan Ttl { get; set; } = TimeSpan.FromSeconds(90);

    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the sweeper looks for expired rows. The Functions timer runs once a minute; the Function app sets 00:01:00 here to match.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// After the backend itself was down (no sweep completed for 1.5 × <see cref="SweepInterval"/>: the API or storage
    /// was unreachable), presence and sessions that were live when it was last healthy get this long from the moment it
    /// is healthy again before the sweep may end them: their heartbeats could not get through. Default: the TTL.
    /// </summary>
    public TimeSpan? OutageGrace { get; set; }

    public TimeSpan Grace => OutageGrace ?? Ttl;

    /// <summary>
    /// A gap between sweeps that means the backend itself was down: 1.5 × <see cref="SweepInterval"/>, and never under
    /// one <see cref="HeartbeatInterval"/>. A shorter gap cannot have cost anyone their deadline (a member lapses only
    /// when no heartbeat got through for a whole TTL), while counting a sweep that was merely late under load as an
    /// outage would keep extending sessions whose other member is gone.
    /// </summary>
    public TimeSpan OutageAfter => SweepInterval * 1.5 > HeartbeatInterval ? SweepInterval * 1.5 : HeartbeatInterval;

    public int HeartbeatSeconds => (int)Math.Ceiling(HeartbeatInterval.TotalSeconds);

    /// <summary>
    /// How long a session's route may be kept in a member's connection state (so trickled candidates need no storage
    /// read): until its next heartbeat is due, and never past the session's own deadline.
    /// </summary>
    public DateTimeOffset RouteCachedUntil(DateTimeOffset now, SessionEntity session)
    {
        var until = now + HeartbeatInterval;
        return until < session.ExpiresAt ? until : session.ExpiresAt;
    }
}
