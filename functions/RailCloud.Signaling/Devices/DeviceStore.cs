using Azure;
using Azure.Data.Tables;
using RailCloud.Signaling.Storage;

namespace RailCloud.Signaling.Devices;

/// <summary>An enrolled device. PartitionKey "device", RowKey = device id. Kept (revoked) after revocation, so its
/// tokens and connections are told "removed" rather than "unknown".</summary>
public sealed class DeviceEntity : ITableEntity
{
    public const string Partition = "device";
    public string PartitionKey { get; set; } = Partition;
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public string KioskId { get; set; } = "";
    public string? Name { get; set; }
    /// <summary>The device's ECDSA P-256 public key as a JWK (JSON); the private key never leaves the device.</summary>
    public string PublicKey { get; set; } = "";
    public DateTimeOffset EnrolledAt { get; set; }
    public string EnrolledBy { get; set; } = "";
    public DateTimeOffset? LastSeen { get; set; }
    public string? UserAgent { get; set; }
    public bool Revoked { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
    public string? RevokedBy { get; set; }

    public string DeviceId => RowKey;
}

/// <summary>A one-time enrolment code, stored only as its SHA-256. PartitionKey "code", RowKey = the hash.</summary>
public sealed class EnrolmentCodeEntity : ITableEntity
{
    public const string Partition = "code";
    public string PartitionKey { get; set; } = Partition;
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public string KioskId { get; set; } = "";
    public string CreatedBy { get; set; } = "";
    public DateTimeOffset ExpiresAt { get; set; }
}

/// <summary>Which code is a kiosk's current one (a new code voids the last). PartitionKey "enrolment", RowKey = kiosk id.</summary>
public sealed class CurrentEnrolmentEntity : ITableEntity
{
    public const string Partition = "enrolment";
    public string PartitionKey { get; set; } = Partition;
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public string CodeHash { get; set; } = "";
}

/// <summary>A single-use value: a server nonce (PartitionKey "nonce") or a used assertion id (PartitionKey "jti").</summary>
public sealed class OnceEntity : ITableEntity
{
    public string PartitionKey { get; set; } = "";
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }
}

/// <summary>Devices, enrolment codes and single-use values; every "only once" is an insert-if-absent or an If-Match delete.</summary>
public sealed class DeviceStore(Tables tables)
{
    private TableClient Table => tables.Devices;

    public async Task<DeviceEntity?> GetAsync(string deviceId, CancellationToken cancellationToken = default)
    {
        var response = await Table.GetEntityIfExistsAsync<DeviceEntity>(DeviceEntity.Partition, deviceId, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue ? response.Value : null;
    }

    public async Task AddAsync(DeviceEntity device, CancellationToken cancellationToken = default) =>
        await Table.AddEntityAsync(device, cancellationToken).ConfigureAwait(false);

    /// <summary>Writes the device back if nobody changed it since it was read.</summary>
    public async Task<bool> TryUpdateAsync(DeviceEntity device, CancellationToken cancellationToken = default)
    {
        try
        {
            await Table.UpdateEntityAsync(device, device.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status is 412 or 404)
        {
            return false;
        }
    }

    public async Task<IReadOnlyList<DeviceEntity>> ListAsync(CancellationToken cancellationToken = default)
    {
        var list = new List<DeviceEntity>();
        await foreach (var device in Table.QueryAsync<DeviceEntity>(d => d.PartitionKey == DeviceEntity.Partition, cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            list.Add(device);
        }
        return list;
    }

    public async Task AddCodeAsync(EnrolmentCodeEntity code, CancellationToken cancellationToken = default) =>
        await Table.AddEntityAsync(code, cancellationToken).ConfigureAwait(false);

    public async Task<EnrolmentCodeEntity?> GetCodeAsync(string hash, CancellationToken cancellationToken = default)
    {
        var response = await Table.GetEntityIfExistsAsync<EnrolmentCodeEntity>(EnrolmentCodeEntity.Partition, hash, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue ? response.Value : null;
    }

    /// <summary>
    /// Uses up a row that was read (a code, a nonce): of any number of racers holding it, exactly one gets true. The
    /// claim is an insert-if-absent of a "used" marker (409 for everybody else), which every store does atomically;
    /// a conditional delete is not enough (Azurite lets two concurrent If-Match deletes of one row both succeed).
    /// </summary>
    public async Task<bool> TryUseAsync(ITableEntity row, DateTimeOffset keepUntil, CancellationToken cancellationToken = default)
    {
        if (!await TryAddOnceAsync("used-" + row.PartitionKey, row.RowKey, keepUntil, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }
        await Table.DeleteEntityAsync(row.PartitionKey, row.RowKey, ETag.All, cancellationToken).ConfigureAwait(false);
        return true;
    }

    public async Task DeleteCodeAsync(string hash, CancellationToken cancellationToken = default) =>
        await Table.DeleteEntityAsync(EnrolmentCodeEntity.Partition, hash, ETag.All, cancellationToken).ConfigureAwait(false);

    public async Task<CurrentEnrolmentEntity?> GetCurrentAsync(string kioskId, CancellationToken cancellationToken = default)
    {
        var response = await Table.GetEntityIfExistsAsync<CurrentEnrolmentEntity>(CurrentEnrolmentEntity.Partition, kioskId, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue ? response.Value : null;
    }

    /// <summary>Makes <paramref name="hash"/> the kiosk's current code if the pointer is still as read (null: absent).</summary>
    public async Task<bool> TrySetCurrentAsync(string kioskId, string hash, CurrentEnrolmentEntity? read, CancellationToken cancellationToken = default)
    {
        try
        {
            var row = new CurrentEnrolmentEntity { RowKey = kioskId, CodeHash = hash };
            if (read is null)
            {
                await Table.AddEntityAsync(row, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await Table.UpdateEntityAsync(row, read.ETag, TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            }
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412 or 404)
        {
            return false;
        }
    }

    /// <summary>Records a single-use value; false when it was recorded before (a replay).</summary>
    public async Task<bool> TryAddOnceAsync(string partition, string value, DateTimeOffset expiresAt, CancellationToken cancellationToken = default)
    {
        try
        {
            await Table.AddEntityAsync(new OnceEntity { PartitionKey = partition, RowKey = value, ExpiresAt = expiresAt }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status == 409)
        {
            return false;
        }
    }

    /// <summary>Uses up a single-use value: true once, for a value that exists and has not expired.</summary>
    public async Task<bool> TryConsumeOnceAsync(string partition, string value, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var response = await Table.GetEntityIfExistsAsync<OnceEntity>(partition, value, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.HasValue && response.Value!.ExpiresAt > now && await TryUseAsync(response.Value, response.Value.ExpiresAt, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes used-up and expired codes, nonces and assertion ids (reads already treat them as gone).</summary>
    public async Task<int> DeleteExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var deleted = 0;
        var filter = TableClient.CreateQueryFilter($"ExpiresAt lt {now}");
        await foreach (var row in Table.QueryAsync<TableEntity>(filter, select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            var response = await Table.DeleteEntityAsync(row.PartitionKey, row.RowKey, ETag.All, cancellationToken).ConfigureAwait(false);
            deleted += response.Status == 404 ? 0 : 1;
        }
        return deleted;
    }
}
