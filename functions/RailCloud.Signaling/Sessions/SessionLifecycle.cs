using Microsoft.Extensions.Logging;
using RailCloud.Protocol;
using RailCloud.Signaling.Hub;
using RailCloud.Signaling.Kiosks;

namespace RailCloud.Signaling.Sessions;

/// <summary>
/// Beginning and ending sessions, whoever does it (start, stop, disconnect, expiry, replacement, takeover): the row
/// goes only if it is still the version we read, the session's Web PubSub group is kept to its members, each side is
/// told, and the audit trail records it.
/// </summary>
public sealed class SessionLifecycle(SessionStore sessions, AuditStore audit, Notifier notify, TimeProvider time, ILogger<SessionLifecycle> logger)
{
    /// <summary>
    /// A session is in force (<see cref="SessionStore.StartAsync"/>): its two connections join its group before anyone
    /// is told (the relay reaches only connections in it). A session it took over has ended without anyone being told,
    /// so both of that one's members are, the kiosk before it hears of the new session. A new session is then told to
    /// its kiosk (<paramref name="kioskNotice"/>) and recorded.
    /// </summary>
    public async Task BeginAsync(SessionEntity session, bool started, SessionEntity? takenOver, string? takenOverReason, MonitoringStartedForKiosk kioskNotice, SessionDescription? offer, CancellationToken cancellationToken)
    {
        await notify.JoinSessionAsync(session.SessionId, [session.KioskConnectionId, session.MonitorConnectionId], cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow();
        if (takenOver is not null)
        {
            var reason = takenOverReason ?? EndReasons.Expired;
            logger.LogInformation("Session {SessionId} ({MonitorId} watching {KioskId}) ended: {Reason}, taken over by a new session", takenOver.SessionId, takenOver.MonitorId, takenOver.KioskId, reason);
            SignalingTelemetry.SessionEnded(reason);
            await notify.LeaveSessionAsync(takenOver.SessionId, cancellationToken).ConfigureAwait(false);
            var ended = new MonitoringEnded(takenOver.KioskId, takenOver.SessionId, reason);
            await notify.ToConnectionAsync(takenOver.MonitorConnectionId, ended, cancellationToken).ConfigureAwait(false);
            await notify.ToConnectionAsync(takenOver.KioskConnectionId, ended, cancellationToken).ConfigureAwait(false);
            await audit.AddAsync(new AuditEntry("session-ended", now, takenOver.KioskId, MonitorId: takenOver.MonitorId, SessionId: takenOver.SessionId, Reason: reason), cancellationToken).ConfigureAwait(false);
        }
        if (started)
        {
            logger.LogInformation("Session {SessionId}: {MonitorId} is watching {KioskId}", session.SessionId, session.MonitorId, session.KioskId);
            SignalingTelemetry.SessionStarted();
            await notify.ToConnectionAsync(session.KioskConnectionId, kioskNotice, cancellationToken).ConfigureAwait(false);
        }
        if (offer is not null)
        {
            // The offer that came with the start: right after monitoring-started, before the audit write.
            await notify.ToSessionPeerAsync(session.KioskId, session.KioskConnectionId, session.SessionId, new OfferMessage(session.MonitorId, session.SessionId, offer), cancellationToken).ConfigureAwait(false);
        }
        if (started)
        {
            await audit.AddAsync(new AuditEntry("session-started", now, session.KioskId, MonitorId: session.MonitorId, SessionId: session.SessionId), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Ends <paramref name="session"/>; tells the monitor and/or kiosk connections named. False if someone else ended or changed it first.</summary>
    public async Task<bool> EndAsync(SessionEntity session, string reason, bool tellMonitor, bool tellKiosk, CancellationToken cancellationToken = default)
    {
        if (!await sessions.EndAsync(session, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }
        logger.LogInformation("Session {SessionId} ({MonitorId} watching {KioskId}) ended: {Reason}", session.SessionId, session.MonitorId, session.KioskId, reason);
        SignalingTelemetry.SessionEnded(reason);
        await notify.LeaveSessionAsync(session.SessionId, cancellationToken).ConfigureAwait(false);
        var message = new MonitoringEnded(session.KioskId, session.SessionId, reason);
        if (tellMonitor)
        {
            await notify.ToConnectionAsync(session.MonitorConnectionId, message, cancellationToken).ConfigureAwait(false);
        }
        if (tellKiosk)
        {
            await notify.ToConnectionAsync(session.KioskConnectionId, message, cancellationToken).ConfigureAwait(false);
        }
        await audit.AddAsync(new AuditEntry("session-ended", time.GetUtcNow(), session.KioskId, MonitorId: session.MonitorId, SessionId: session.SessionId, Reason: reason), cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Ends the session of <paramref name="kioskId"/> if <paramref name="isThisOne"/> holds for its row, whatever the
    /// row's deadline says, reading it again when it changed under us (a heartbeat extending it at the same moment is
    /// not a reason to fail). Returns whether it ended and the row last read (null when there is none).
    /// </summary>
    public async Task<(bool Ended, SessionEntity? Session)> EndIfAsync(string kioskId, Func<SessionEntity, bool> isThisOne, string reason, bool tellMonitor, bool tellKiosk, CancellationToken cancellationToken = default)
    {
        var (session, ended) = await Storage.Optimistic.UpdateAsync(
            () => sessions.GetAsync(kioskId, cancellationToken), isThisOne,
            row => EndAsync(row, reason, tellMonitor, tellKiosk, cancellationToken), $"The session row of kiosk {kioskId}").ConfigureAwait(false);
        return (ended, session);
    }

    /// <summary>The sweep's part: sessions past their deadline end with <c>expired</c>, both sides told; how many did.</summary>
    public async Task<int> EndExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var ended = 0;
        foreach (var session in await sessions.ListExpiredAsync(now, cancellationToken).ConfigureAwait(false))
        {
            if (await EndAsync(session, EndReasons.Expired, tellMonitor: true, tellKiosk: true, cancellationToken).ConfigureAwait(false))
            {
                ended++;
            }
        }
        return ended;
    }
}
