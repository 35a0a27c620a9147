using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using RailCloud.Signaling.Flow;
using RailCloud.Signaling.Storage;

namespace RailCloud.Functions;

/// <summary>Ends sessions whose TTL passed and takes silent kiosks offline, telling the survivors.</summary>
public sealed class SweepFunction(SessionLifecycle lifecycle, Tables tables, ILogger<SweepFunction> logger)
{
    [Function(nameof(Sweep))]
    public async Task Sweep([TimerTrigger("*/15 * * * * *")] TimerInfo timer, CancellationToken cancellationToken)
    {
        await tables.EnsureCreatedAsync(cancellationToken);
        var (sessions, kiosks) = await lifecycle.SweepAsync(cancellationToken);
        logger.LogDebug("Sweep done: {Sessions} session(s) ended, {Kiosks} kiosk(s) offline; next at {Next}", sessions, kiosks, timer.ScheduleStatus?.Next);
    }
}
