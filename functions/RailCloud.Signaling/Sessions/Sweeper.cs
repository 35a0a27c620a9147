using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RailCloud.Signaling.Kiosks;
using RailCloud.Signaling.Storage;

namespace RailCloud.Signaling.Sessions;

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

/// <summary>
/// An outage of RailCloud itself expires nobody. Each sweep leaves a mark; when a sweep finds none for
/// <see cref="SessionOptions.OutageAfter"/> (the API, or storage, was down, so heartbeats could not get through),
/// whatever was live at the last mark gets <see cref="SessionOptions.Grace"/> from now before it may be ended.
/// </summary>
public sealed class OutageGrace(Tables tables, SessionStore sessions, KioskStore kiosks, IOptions<SessionOptions> options, TimeProvider time, ILogger<OutageGrace> logger)
{
    /// <summary>
    /// Reads the last mark and, after an outage, grants the grace; call it before anything is ended. Returns the time
    /// the sweep goes by, taken after that first storage answer (which sets a new instance's clock: StorageClock).
    /// </summary>
    public async Task<DateTimeOffset> ApplyAsync(CancellationToken cancellationToken)
    {
        var mark = await tables.Kiosks.FindAsync<SweepMarkEntity>(SweepMarkEntity.Partition, SweepMarkEntity.Row, cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow();
        if (mark is null || now - mark.SweptAt <= options.Value.OutageAfter)
        {
            return now;
        }
        var until = now + options.Value.Grace;
        var (extendedSessions, extendedKiosks) = (0, 0);
        foreach (var session in await sessions.ListExpiredSinceAsync(mark.SweptAt, until, cancellationToken).ConfigureAwait(false))
        {
            session.HeardFrom(SessionSide.Both, until);
            if (await sessions.TryReplaceAsync(session, cancellationToken).ConfigureAwait(false))
            {
                extendedSessions++;
            }
        }
        foreach (var kiosk in await kiosks.ListLapsingSinceAsync(mark.SweptAt, until, cancellationToken).ConfigureAwait(false))
        {
            kiosk.ExpiresAt = until;
            if (await kiosks.TryReplaceAsync(kiosk, cancellationToken).ConfigureAwait(false))
            {
                extendedKiosks++;
            }
        }
        logger.LogWarning(
            "No sweep completed from {LastHealthy:o} to {Now:o}: RailCloud itself was unreachable. {Sessions} session(s) and {Kiosks} kiosk(s) live then have until {Until:o} to be heard from again",
            mark.SweptAt, now, extendedSessions, extendedKiosks, until);
        return now;
    }

    /// <summary>Leaves this sweep's mark.</summary>
    public async Task MarkAsync(DateTimeOffset at, CancellationToken cancellationToken) =>
        await tables.Kiosks.UpsertEntityAsync(new SweepMarkEntity { SweptAt = at }, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
}

/// <summary>
/// The sweep (a Functions timer in Azure, a background loop locally): sessions past their deadline end with
/// <c>expired</c>, kiosks whose heartbeat lapsed go offline, telling the survivors, and each feature deletes its
/// expired rows. Safe to run on several instances at once. After an outage of RailCloud itself, the
/// <see cref="OutageGrace"/> comes first, so an outage of ours never ends a video that was flowing between the peers.
/// </summary>
public sealed class Sweeper(OutageGrace grace, SessionLifecycle lifecycle, Presence presence, IEnumerable<IExpiredRows> expiring, ILogger<Sweeper> logger)
{
    public async Task<(int Sessions, int Kiosks)> SweepAsync(CancellationToken cancellationToken = default)
    {
        var now = await grace.ApplyAsync(cancellationToken).ConfigureAwait(false);
        var endedSessions = await lifecycle.EndExpiredAsync(now, cancellationToken).ConfigureAwait(false);
        var offline = await presence.TakeLapsedOfflineAsync(now, cancellationToken).ConfigureAwait(false);
        foreach (var rows in expiring)
        {
            await rows.DeleteExpiredAsync(now, cancellationToken).ConfigureAwait(false);
        }
        await grace.MarkAsync(now, cancellationToken).ConfigureAwait(false);
        if (endedSessions + offline > 0)
        {
            logger.LogInformation("Sweep ended {Sessions} expired session(s) and took {Kiosks} silent kiosk(s) offline", endedSessions, offline);
        }
        return (endedSessions, offline);
    }
}
