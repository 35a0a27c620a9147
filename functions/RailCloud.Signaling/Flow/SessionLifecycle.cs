using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RailCloud.Protocol;
using RailCloud.Signaling.Storage;

namespace RailCloud.Signaling.Flow;

/// <summary>
/// Ending sessions and taking kiosks offline, whoever does it (stop, disconnect, heartbeat lapse, replacement):
/// the row goes only if it is still the version we read, the other side is told why, and the audit trail records it.
/// </summary>
public sealed class SessionLifecycle(KioskStore kiosks, SessionStore sessions, AuditStore audit, Devices.DeviceStore devices, Notifier notify, IOptions<SessionOptions> options, TimeProvider time, ILogger<SessionLifecycle> logger)
{
    /// <summary>Ends <paramref name="session"/>; tells the monitor and/or kiosk connections named. False if someone else ended or changed it first.</summary>
    public async Task<bool> EndAsync(SessionEntity session, string reason, bool tellMonitor, bool tellKiosk, CancellationToken cancellationToken = default)
    {
        if (!await sessions.EndAsync(session, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }
        logger.LogInformation("Session {SessionId} ({MonitorId} watching {KioskId}) ended: {Reason}", session.SessionId, session.MonitorId, session.KioskId, reason);
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
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var session = await sessions.GetAsync(kioskId, cancellationToken).ConfigureAwait(false);
            if (session is null || !isThisOne(session))
            {
                return (false, session);
            }
            if (await EndAsync(session, reason, tellMonitor, tellKiosk, cancellationToken).ConfigureAwait(false))
            {
                return (true, session);
            }
        }
        throw new StorageContentionException($"The session row of kiosk {kioskId} kept changing under ten attempts to end it.");
    }

    /// <summary>
    /// A session whose row a new session replaced (<see cref="SessionStore.StartAsync"/>): it has ended without anyone
    /// being told, so both of its members are, and the audit trail records it.
    /// </summary>
    public async Task EndedByTakeoverAsync(SessionEntity takenOver, string reason, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        logger.LogInformation("Session {SessionId} ({MonitorId} watching {KioskId}) ended: {Reason}, taken over by a new session", takenOver.SessionId, takenOver.MonitorId, takenOver.KioskId, reason);
        await notify.LeaveSessionAsync(takenOver.SessionId, cancellationToken).ConfigureAwait(false);
        var message = new MonitoringEnded(takenOver.KioskId, takenOver.SessionId, reason);
        await notify.ToConnectionAsync(takenOver.MonitorConnectionId, message, cancellationToken).ConfigureAwait(false);
        await notify.ToConnectionAsync(takenOver.KioskConnectionId, message, cancellationToken).ConfigureAwait(false);
        await audit.AddAsync(new AuditEntry("session-ended", now, takenOver.KioskId, MonitorId: takenOver.MonitorId, SessionId: takenOver.SessionId, Reason: reason), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Takes a kiosk offline if <paramref name="connectionId"/> is still its connection; monitors are told.</summary>
    public async Task<bool> TakeOfflineAsync(string kioskId, string connectionId, string reason, CancellationToken cancellationToken = default)
    {
        var changed = false;
        await kiosks.UpdateAsync(kioskId, k =>
        {
            changed = k.Online && k.ConnectionId == connectionId;
            if (changed)
            {
                k.Online = false;
            }
            return changed;
        }, cancellationToken).ConfigureAwait(false);
        if (changed)
        {
            logger.LogInformation("Kiosk {KioskId} is offline: {Reason}", kioskId, reason);
            await notify.ToMonitorsAsync(new KioskOffline(kioskId, time.GetUtcNow(), reason), cancellationToken).ConfigureAwait(false);
        }
        return changed;
    }

    /// <summary>
    /// The sweep (timer in Azure, background service locally): sessions past their TTL end with reason
    /// <c>expired</c>, kiosks whose heartbeat lapsed go offline. Safe to run on several instances at once.
    /// When no sweep completed for a while, the backend itself was down (the API, or storage): whatever was live when
    /// it was last healthy gets <see cref="SessionOptions.Grace"/> from now instead, so an outage of ours never ends
    /// a video that was flowing between the peers.
    /// </summary>
    public async Task<(int Sessions, int Kiosks)> SweepAsync(CancellationToken cancellationToken = default)
    {
        // Read first, then take the time: the first storage answer of a new instance sets its clock (StorageClock).
        var mark = await kiosks.GetSweepMarkAsync(cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow();
        if (mark is not null && now - mark.SweptAt > options.Value.OutageAfter)
        {
            await GraceAfterOutageAsync(mark.SweptAt, now, cancellationToken).ConfigureAwait(false);
        }
        var endedSessions = 0;
        foreach (var session in await sessions.ListExpiredAsync(now, cancellationToken).ConfigureAwait(false))
        {
            if (await EndAsync(session, EndReasons.Expired, tellMonitor: true, tellKiosk: true, cancellationToken).ConfigureAwait(false))
            {
                endedSessions++;
            }
        }
        var offline = 0;
        foreach (var kiosk in await kiosks.ListLapsedAsync(now, cancellationToken).ConfigureAwait(false))
        {
            kiosk.Online = false;
            if (await kiosks.TryReplaceAsync(kiosk, cancellationToken).ConfigureAwait(false))
            {
                offline++;
                logger.LogInformation("Kiosk {KioskId} is offline: no heartbeat since {LastSeen}", kiosk.RowKey, kiosk.LastSeen);
                await notify.ToMonitorsAsync(new KioskOffline(kiosk.RowKey, now, "heartbeat-lost"), cancellationToken).ConfigureAwait(false);
            }
        }
        await devices.DeleteExpiredAsync(now, cancellationToken).ConfigureAwait(false);
        await kiosks.MarkSweepAsync(now, cancellationToken).ConfigureAwait(false);
        if (endedSessions + offline > 0)
        {
            logger.LogInformation("Sweep ended {Sessions} expired session(s) and took {Kiosks} silent kiosk(s) offline", endedSessions, offline);
        }
        return (endedSessions, offline);
    }

    private async Task GraceAfterOutageAsync(DateTimeOffset lastHealthy, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var until = now + options.Value.Grace;
        var (extendedSessions, extendedKiosks) = (0, 0);
        foreach (var session in await sessions.ListExpiredSinceAsync(lastHealthy, until, cancellationToken).ConfigureAwait(false))
        {
            session.HeardFrom(SessionSide.Both, until);
            if (await sessions.TryReplaceAsync(session, cancellationToken).ConfigureAwait(false))
            {
                extendedSessions++;
            }
        }
        foreach (var kiosk in await kiosks.ListLapsingSinceAsync(lastHealthy, until, cancellationToken).ConfigureAwait(false))
        {
            kiosk.ExpiresAt = until;
            if (await kiosks.TryReplaceAsync(kiosk, cancellationToken).ConfigureAwait(false))
            {
                extendedKiosks++;
            }
        }
        logger.LogWarning(
            "No sweep completed from {LastHealthy:o} to {Now:o}: RailCloud itself was unreachable. {Sessions} session(s) and {Kiosks} kiosk(s) live then have until {Until:o} to be heard from again",
            lastHealthy, now, extendedSessions, extendedKiosks, until);
    }

    public TimeSpan Ttl => options.Value.Ttl;
}
