using Azure;
using Azure.Data.Tables;
using RailCloud.Protocol;
using RailCloud.Signaling.Storage;

namespace RailCloud.Signaling.Sessions;

/// <summary>What starting a session came to.</summary>
public enum StartOutcome
{
    Started,
    AlreadyYours,
    Busy,
}

/// <summary>
/// Monitoring sessions: one row per kiosk, so exclusivity comes from the store. A session starts with
/// insert-if-absent (409 means someone is watching); an expired row is taken over only with If-Match on its ETag;
/// a retried write that had in fact succeeded is recognised by its WriteId and not reported as busy.
/// </summary>
public sealed class SessionStore(Tables tables)
{
    private TableClient Table => tables.Sessions;

    public Task<SessionEntity?> GetAsync(string kioskId, CancellationToken cancellationToken = default) =>
        Table.FindAsync<SessionEntity>(kioskId, SessionEntity.Row, cancellationToken);

    /// <summary>The session of a kiosk if it is live (an expired row counts as absent).</summary>
    public async Task<SessionEntity?> GetLiveAsync(string kioskId, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var session = await GetAsync(kioskId, cancellationToken).ConfigureAwait(false);
        return session is not null && session.IsLive(now) ? session : null;
    }

    /// <returns>
    /// The outcome, the session now in force, and a session that was taken over (its parties are owed a notice, with
    /// <paramref name="TakenOverReason"/>): one past its deadline that no sweep had ended yet (<c>expired</c>), or one
    /// of the same monitor on another connection (<c>taken-over</c>: a monitor back on a new connection that did not
    /// resume is never told "busy" by its own session).
    /// </returns>
    public async Task<(StartOutcome Outcome, SessionEntity Session, SessionEntity? TakenOver, string? TakenOverReason)> StartAsync(
        SessionEntity wanted, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        for (var attempt = 0; attempt < Optimistic.Attempts; attempt++)
        {
            if (await Table.TryAddAsync(wanted, cancellationToken).ConfigureAwait(false))
            {
                return (StartOutcome.Started, wanted, null, null);   // with the ETag the insert returned
            }
            // Someone's row is there; see whose.
            var existing = await GetAsync(wanted.KioskId, cancellationToken).ConfigureAwait(false);
            if (existing is null)
            {
                continue; // deleted in between: try the insert again
            }
            if (existing.WriteId == wanted.WriteId)
            {
                return (StartOutcome.Started, existing, null, null); // our own insert, retried by the SDK after it succeeded
            }
            string reason;
            if (!existing.IsLive(now))
            {
                reason = EndReasons.Expired;
            }
            else if (existing.MonitorId != wanted.MonitorId)
            {
                return (StartOutcome.Busy, existing, null, null);
            }
            else if (existing.MonitorConnectionId == wanted.MonitorConnectionId)
            {
                return (StartOutcome.AlreadyYours, existing, null, null);
            }
            else
            {
                reason = EndReasons.TakenOver;
            }
            wanted.ETag = existing.ETag;
            if (await Table.TryReplaceAsync(wanted, cancellationToken).ConfigureAwait(false))
            {
                return (StartOutcome.Started, wanted, existing, reason);
            }
            // Someone else took it over (or it went away) first; look again.
        }
        throw new StorageContentionException($"The session row of kiosk {wanted.KioskId} kept changing under {Optimistic.Attempts} attempts to start a session.");
    }

    /// <summary>Deletes exactly this version of the session; false if it changed or is gone (someone else ended it).</summary>
    public Task<bool> EndAsync(SessionEntity session, CancellationToken cancellationToken = default) => Table.TryDeleteAsync(session, cancellationToken);

    /// <summary>Writes a changed session back if it is still the version read; false if it changed or is gone.</summary>
    public Task<bool> TryReplaceAsync(SessionEntity session, CancellationToken cancellationToken = default) => Table.TryReplaceAsync(session, cancellationToken);

    /// <summary>
    /// Read, change, write with If-Match, again on a conflict (the other member heartbeating or resuming at the same
    /// moment). <paramref name="change"/> returns false to leave the row as it is. Returns the row as last read (null
    /// when there is none) and whether it was written.
    /// </summary>
    public Task<(SessionEntity? Session, bool Written)> UpdateAsync(string kioskId, Func<SessionEntity, bool> change, CancellationToken cancellationToken = default) =>
        Optimistic.UpdateAsync(() => GetAsync(kioskId, cancellationToken), change, s => TryReplaceAsync(s, cancellationToken), $"The session row of kiosk {kioskId}");

    /// <summary>
    /// A resume: moves the live session <paramref name="sessionId"/> of <paramref name="kioskId"/> to a member's new
    /// connection and extends that member's deadline. Null when the session is not live any more, is another one, or
    /// <paramref name="isMember"/> says no.
    /// </summary>
    public async Task<SessionEntity?> RebindAsync(string kioskId, string sessionId, Func<SessionEntity, bool> isMember, string? kioskConnectionId, string? monitorConnectionId,
        DateTimeOffset now, DateTimeOffset expiresAt, CancellationToken cancellationToken = default)
    {
        var (session, written) = await UpdateAsync(kioskId, session =>
        {
            if (!session.IsLive(now) || session.SessionId != sessionId || !isMember(session))
            {
                return false;
            }
            session.KioskConnectionId = kioskConnectionId ?? session.KioskConnectionId;
            session.MonitorConnectionId = monitorConnectionId ?? session.MonitorConnectionId;
            session.HeardFrom(kioskConnectionId is not null ? SessionSide.Kiosk : SessionSide.Monitor, expiresAt);
            return true;
        }, cancellationToken).ConfigureAwait(false);
        return written ? session : null;
    }

    public Task<IReadOnlyList<SessionEntity>> ListAsync(CancellationToken cancellationToken = default) =>
        QueryAsync(s => s.RowKey == SessionEntity.Row, cancellationToken);

    public Task<IReadOnlyList<SessionEntity>> ListByMonitorAsync(string monitorId, CancellationToken cancellationToken = default) =>
        QueryAsync(s => s.RowKey == SessionEntity.Row && s.MonitorId == monitorId, cancellationToken);

    public Task<IReadOnlyList<SessionEntity>> ListByMonitorConnectionAsync(string connectionId, CancellationToken cancellationToken = default) =>
        QueryAsync(s => s.RowKey == SessionEntity.Row && s.MonitorConnectionId == connectionId, cancellationToken);

    public Task<IReadOnlyList<SessionEntity>> ListExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken = default) =>
        QueryAsync(s => s.RowKey == SessionEntity.Row && s.ExpiresAt < now, cancellationToken);

    /// <summary>
    /// Rows the sweep would end that were still live when the backend was last seen healthy
    /// (<paramref name="since"/>): after an outage they get until <paramref name="until"/> instead.
    /// </summary>
    public Task<IReadOnlyList<SessionEntity>> ListExpiredSinceAsync(DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken = default) =>
        QueryAsync(s => s.RowKey == SessionEntity.Row && s.ExpiresAt >= since && s.ExpiresAt < until, cancellationToken);

    private async Task<IReadOnlyList<SessionEntity>> QueryAsync(System.Linq.Expressions.Expression<Func<SessionEntity, bool>> filter, CancellationToken cancellationToken) =>
        await Table.QueryAsync(filter, cancellationToken: cancellationToken).ToListAsync().ConfigureAwait(false);
}
