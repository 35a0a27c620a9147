using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using RailCloud.Protocol;

namespace RailCloud.Signaling.Storage;

/// <summary>Accounts: who may log in, with which role.</summary>
public sealed class AccountStore(Tables tables)
{
    public async Task<AccountEntity?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        var response = await tables.Accounts.GetEntityIfExistsAsync<AccountEntity>(AccountEntity.Partition, id, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue ? response.Value : null;
    }

    /// <summary>Adds an account; false if the id is taken.</summary>
    public async Task<bool> AddAsync(AccountEntity account, CancellationToken cancellationToken = default)
    {
        try
        {
            await tables.Accounts.AddEntityAsync(account, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            return false;
        }
    }

    /// <summary>Writes the account back if nobody changed it since it was read; false on a conflict.</summary>
    public async Task<bool> TryUpdateAsync(AccountEntity account, CancellationToken cancellationToken = default)
    {
        try
        {
            await tables.Accounts.UpdateEntityAsync(account, account.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status is 412 or 404)
        {
            return false;
        }
    }

    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        var response = await tables.Accounts.DeleteEntityAsync(AccountEntity.Partition, id, ETag.All, cancellationToken).ConfigureAwait(false);
        return response.Status != 404;
    }

    public async Task<IReadOnlyList<AccountEntity>> ListAsync(CancellationToken cancellationToken = default)
    {
        var list = new List<AccountEntity>();
        await foreach (var account in tables.Accounts.QueryAsync<AccountEntity>(a => a.PartitionKey == AccountEntity.Partition, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            list.Add(account);
        }
        return list;
    }
}

/// <summary>Kiosk presence and crew on duty.</summary>
public sealed class KioskStore(Tables tables)
{
    public async Task<KioskEntity?> GetAsync(string kioskId, CancellationToken cancellationToken = default)
    {
        var response = await tables.Kiosks.GetEntityIfExistsAsync<KioskEntity>(KioskEntity.Partition, kioskId, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue ? response.Value : null;
    }

    /// <summary>Makes the presence row of a new kiosk account (offline); nothing if it exists.</summary>
    public async Task EnsureAsync(string kioskId, CancellationToken cancellationToken = default)
    {
        try
        {
            await tables.Kiosks.AddEntityAsync(new KioskEntity { RowKey = kioskId }, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            // Already there: a kiosk keeps its presence row across account changes.
        }
    }

    public async Task DeleteAsync(string kioskId, CancellationToken cancellationToken = default) =>
        await tables.Kiosks.DeleteEntityAsync(KioskEntity.Partition, kioskId, ETag.All, cancellationToken).ConfigureAwait(false);

    public async Task<IReadOnlyList<KioskEntity>> ListAsync(CancellationToken cancellationToken = default)
    {
        var list = new List<KioskEntity>();
        await foreach (var kiosk in tables.Kiosks.QueryAsync<KioskEntity>(k => k.PartitionKey == KioskEntity.Partition, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            list.Add(kiosk);
        }
        return list;
    }

    /// <summary>Online kiosks whose presence lapsed (no heartbeat within the TTL).</summary>
    public async Task<IReadOnlyList<KioskEntity>> ListLapsedAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var list = new List<KioskEntity>();
        await foreach (var kiosk in tables.Kiosks.QueryAsync<KioskEntity>(k => k.PartitionKey == KioskEntity.Partition && k.Online == true && k.ExpiresAt < now, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            list.Add(kiosk);
        }
        return list;
    }

    /// <summary>Online kiosks whose presence was live at <paramref name="since"/> and lapses before <paramref name="until"/>.</summary>
    public async Task<IReadOnlyList<KioskEntity>> ListLapsingSinceAsync(DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken = default)
    {
        var list = new List<KioskEntity>();
        await foreach (var kiosk in tables.Kiosks.QueryAsync<KioskEntity>(k => k.PartitionKey == KioskEntity.Partition && k.Online == true && k.ExpiresAt >= since && k.ExpiresAt < until, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            list.Add(kiosk);
        }
        return list;
    }

    /// <summary>When the sweep last completed (any instance), or null before the first one.</summary>
    public async Task<SweepMarkEntity?> GetSweepMarkAsync(CancellationToken cancellationToken = default)
    {
        var response = await tables.Kiosks.GetEntityIfExistsAsync<SweepMarkEntity>(SweepMarkEntity.Partition, SweepMarkEntity.Row, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue ? response.Value : null;
    }

    public async Task MarkSweepAsync(DateTimeOffset at, CancellationToken cancellationToken = default) =>
        await tables.Kiosks.UpsertEntityAsync(new SweepMarkEntity { SweptAt = at }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);

    /// <summary>Writes a changed row if nobody else changed it since it was read.</summary>
    public async Task<bool> TryReplaceAsync(KioskEntity kiosk, CancellationToken cancellationToken = default)
    {
        try
        {
            var response = await tables.Kiosks.UpdateEntityAsync(kiosk, kiosk.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            kiosk.ETag = response.Headers.ETag ?? kiosk.ETag;
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status is 412 or 404)
        {
            return false;
        }
    }

    /// <summary>Read, change, write with If-Match, again on a conflict. Returns the row as written, or null if it does not exist.</summary>
    public async Task<KioskEntity?> UpdateAsync(string kioskId, Func<KioskEntity, bool> change, CancellationToken cancellationToken = default)
    {
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var kiosk = await GetAsync(kioskId, cancellationToken).ConfigureAwait(false);
            if (kiosk is null)
            {
                return null;
            }
            if (!change(kiosk))
            {
                return kiosk;
            }
            if (await TryReplaceAsync(kiosk, cancellationToken).ConfigureAwait(false))
            {
                return kiosk;
            }
        }
        throw new StorageContentionException($"Kiosk {kioskId} kept changing under ten attempts to update it.");
    }

    public static List<CrewOnDuty> ReadCrew(KioskEntity kiosk) =>
        JsonSerializer.Deserialize<List<CrewOnDuty>>(kiosk.Crew, ProtocolJson.Options) ?? [];

    public static void WriteCrew(KioskEntity kiosk, List<CrewOnDuty> crew) =>
        kiosk.Crew = JsonSerializer.Serialize(crew, ProtocolJson.Options);
}

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
    public async Task<SessionEntity?> GetAsync(string kioskId, CancellationToken cancellationToken = default)
    {
        var response = await tables.Sessions.GetEntityIfExistsAsync<SessionEntity>(kioskId, SessionEntity.Row, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue ? response.Value : null;
    }

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
        for (var attempt = 0; attempt < 10; attempt++)
        {
            try
            {
                await tables.Sessions.AddEntityAsync(wanted, cancellationToken).ConfigureAwait(false);
                return (StartOutcome.Started, await GetAsync(wanted.KioskId, cancellationToken).ConfigureAwait(false) ?? wanted, null, null);
            }
            catch (RequestFailedException ex) when (ex.Status == 409)
            {
                // Someone's row is there; see whose.
            }

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
            try
            {
                await tables.Sessions.UpdateEntityAsync(wanted, existing.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
                return (StartOutcome.Started, await GetAsync(wanted.KioskId, cancellationToken).ConfigureAwait(false) ?? wanted, existing, reason);
            }
            catch (RequestFailedException ex) when (ex.Status is 412 or 404)
            {
                // Someone else took it over (or it went away) first; look again.
            }
        }
        throw new StorageContentionException($"The session row of kiosk {wanted.KioskId} kept changing under ten attempts to start a session.");
    }

    /// <summary>Deletes exactly this version of the session; false if it changed or is gone (someone else ended it).</summary>
    public async Task<bool> EndAsync(SessionEntity session, CancellationToken cancellationToken = default)
    {
        try
        {
            var response = await tables.Sessions.DeleteEntityAsync(session.PartitionKey, session.RowKey, session.ETag, cancellationToken).ConfigureAwait(false);
            return response.Status != 404;
        }
        catch (RequestFailedException ex) when (ex.Status == 412)
        {
            return false;
        }
    }

    /// <summary>Writes a changed session back if it is still the version read; false if it changed or is gone.</summary>
    public async Task<bool> TryReplaceAsync(SessionEntity session, CancellationToken cancellationToken = default)
    {
        try
        {
            var response = await tables.Sessions.UpdateEntityAsync(session, session.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            session.ETag = response.Headers.ETag ?? session.ETag;
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status is 412 or 404)
        {
            return false;
        }
    }

    /// <summary>
    /// Read, change, write with If-Match, again on a conflict (the other member heartbeating or resuming at the same
    /// moment). <paramref name="change"/> returns false to leave the row as it is. Returns the row as last read (null
    /// when there is none) and whether it was written.
    /// </summary>
    public async Task<(SessionEntity? Session, bool Written)> UpdateAsync(string kioskId, Func<SessionEntity, bool> change, CancellationToken cancellationToken = default)
    {
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var session = await GetAsync(kioskId, cancellationToken).ConfigureAwait(false);
            if (session is null || !change(session))
            {
                return (session, false);
            }
            if (await TryReplaceAsync(session, cancellationToken).ConfigureAwait(false))
            {
                return (session, true);
            }
        }
        throw new StorageContentionException($"The session row of kiosk {kioskId} kept changing under ten attempts to update it.");
    }

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

    public async Task<IReadOnlyList<SessionEntity>> ListByMonitorAsync(string monitorId, CancellationToken cancellationToken = default)
    {
        var list = new List<SessionEntity>();
        await foreach (var session in tables.Sessions.QueryAsync<SessionEntity>(s => s.RowKey == SessionEntity.Row && s.MonitorId == monitorId, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            list.Add(session);
        }
        return list;
    }

    /// <summary>
    /// Rows the sweep would end or take offline that were still live when the backend was last seen healthy
    /// (<paramref name="since"/>): after an outage they get until <paramref name="until"/> instead.
    /// </summary>
    public async Task<IReadOnlyList<SessionEntity>> ListExpiredSinceAsync(DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken = default)
    {
        var list = new List<SessionEntity>();
        await foreach (var session in tables.Sessions.QueryAsync<SessionEntity>(s => s.RowKey == SessionEntity.Row && s.ExpiresAt >= since && s.ExpiresAt < until, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            list.Add(session);
        }
        return list;
    }

    public async Task<IReadOnlyList<SessionEntity>> ListAsync(CancellationToken cancellationToken = default)
    {
        var list = new List<SessionEntity>();
        await foreach (var session in tables.Sessions.QueryAsync<SessionEntity>(s => s.RowKey == SessionEntity.Row, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            list.Add(session);
        }
        return list;
    }

    public async Task<IReadOnlyList<SessionEntity>> ListExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var list = new List<SessionEntity>();
        await foreach (var session in tables.Sessions.QueryAsync<SessionEntity>(s => s.RowKey == SessionEntity.Row && s.ExpiresAt < now, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            list.Add(session);
        }
        return list;
    }

    public async Task<IReadOnlyList<SessionEntity>> ListByMonitorConnectionAsync(string connectionId, CancellationToken cancellationToken = default)
    {
        var list = new List<SessionEntity>();
        await foreach (var session in tables.Sessions.QueryAsync<SessionEntity>(s => s.RowKey == SessionEntity.Row && s.MonitorConnectionId == connectionId, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            list.Add(session);
        }
        return list;
    }
}

/// <summary>The audit trail of a kiosk: crew and session events, newest first.</summary>
public sealed class AuditStore(Tables tables)
{
    public Task AddAsync(AuditEntry entry, CancellationToken cancellationToken = default) =>
        tables.Audit.AddEntityAsync(new AuditEntity
        {
            PartitionKey = entry.KioskId,
            RowKey = AuditEntity.RowKeyFor(entry.At),
            Kind = entry.Kind,
            At = entry.At,
            CrewId = entry.CrewId,
            Name = entry.Name,
            MonitorId = entry.MonitorId,
            SessionId = entry.SessionId,
            Reason = entry.Reason,
            DeviceId = entry.DeviceId,
            By = entry.By,
        }, cancellationToken);

    public async Task<AuditPage> PageAsync(string kioskId, int pageSize, string? continuationToken, CancellationToken cancellationToken = default)
    {
        var pages = tables.Audit.QueryAsync<AuditEntity>(a => a.PartitionKey == kioskId, maxPerPage: pageSize, cancellationToken: cancellationToken)
            .AsPages(continuationToken, pageSize);
        await foreach (var page in pages.ConfigureAwait(false))
        {
            return new AuditPage(
                [.. page.Values.Select(a => new AuditEntry(a.Kind, a.At, a.PartitionKey, a.CrewId, a.Name, a.MonitorId, a.SessionId, a.Reason, a.DeviceId, a.By))],
                page.ContinuationToken);
        }
        return new AuditPage([], null);
    }
}
