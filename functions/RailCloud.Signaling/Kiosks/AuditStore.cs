using Azure;
using Azure.Data.Tables;
using RailCloud.Protocol;
using RailCloud.Signaling.Storage;

namespace RailCloud.Signaling.Kiosks;

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

/// <summary>The audit trail of a kiosk: crew, session and device events, newest first.</summary>
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
