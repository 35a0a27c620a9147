using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;
using RailCloud.Signaling.Sessions;
using RailCloud.Signaling.Storage;

namespace RailCloud.Functions;

/// <summary>Ends sessions whose TTL passed and takes silent kiosks offline, telling the survivors.</summary>
public sealed class SweepFunction(Sweeper sweeper, Tables tables, ILogger<SweepFunction> logger)
{
    // Once a minute, not every 15 s: on Flex Consumption each run bills at least one second of the instance's
    // memory, and this is what the app costs when nobody uses it (README, "Cost"). Reads already treat expired rows
    // as gone; the sweep only tells the survivors, at most a minute late.
    [Function(nameof(Sweep))]
    public async Task Sweep([TimerTrigger("0 * * * * *")] TimerInfo timer, CancellationToken cancellationToken)
    {
        await tables.EnsureCreatedAsync(cancellationToken);
        var (sessions, kiosks) = await sweeper.SweepAsync(cancellationToken);
        logger.LogDebug("Sweep done: {Sessions} session(s) ended, {Kiosks} kiosk(s) offline; next at {Next}", sessions, kiosks, timer.ScheduleStatus?.Next);
    }
}
