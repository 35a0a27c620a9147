using Azure.Data.Tables;

namespace RailCloud.Signaling.Storage;

/// <summary>RailCloud's tables, created on first use.</summary>
public sealed class Tables(TableServiceClient service, string prefix)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile bool _created;

    public TableClient Accounts { get; } = service.GetTableClient(prefix + "Accounts");
    public TableClient Kiosks { get; } = service.GetTableClient(prefix + "Kiosks");
    public TableClient Sessions { get; } = service.GetTableClient(prefix + "Sessions");
    public TableClient Audit { get; } = service.GetTableClient(prefix + "Audit");
    /// <summary>Enrolled devices, enrolment codes, nonces and used assertion ids (Devices/DeviceStore).</summary>
    public TableClient Devices { get; } = service.GetTableClient(prefix + "Devices");

    /// <summary>
    /// A point read of a row that never exists: it needs only the data-plane read that the app's role (Storage Table
    /// Data Contributor) grants. Get Table Service Properties would need tableServices/read, which it does not.
    /// </summary>
    public async Task ProbeAsync(CancellationToken cancellationToken = default) =>
        await Accounts.GetEntityIfExistsAsync<TableEntity>("health", "probe", ["PartitionKey"], cancellationToken).ConfigureAwait(false);

    /// <summary>Creates the tables once per process; after that it is a flag check that completes synchronously.</summary>
    public ValueTask EnsureCreatedAsync(CancellationToken cancellationToken = default) =>
        _created ? ValueTask.CompletedTask : new(CreateAsync(cancellationToken));

    private async Task CreateAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_created)
            {
                foreach (var table in new[] { Accounts, Kiosks, Sessions, Audit, Devices })
                {
                    await table.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
                }
                _created = true;
            }
        }
        finally
        {
            _gate.Release();
        }
    }
}
