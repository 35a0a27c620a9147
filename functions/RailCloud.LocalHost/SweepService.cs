using Microsoft.Extensions.Options;
using RailCloud.Signaling;
using RailCloud.Signaling.Sessions;
using RailCloud.Signaling.Storage;

namespace RailCloud.LocalHost;

/// <summary>Locally, the Functions timer's sweep runs as a background loop.</summary>
public sealed class SweepService(Sweeper sweeper, Tables tables, IOptions<RailCloud.Signaling.Sessions.SessionOptions> options, TimeProvider time, ILogger<SweepService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.SweepInterval, time);
        do
        {
            try
            {
                await tables.EnsureCreatedAsync(stoppingToken);
                await sweeper.SweepAsync(stoppingToken);
            }
            catch (Exception ex) when (BackendFailure.Is(ex, stoppingToken))
            {
                logger.LogWarning("Sweep could not reach storage or Web PubSub; will try again in {Interval}: {Error}", options.Value.SweepInterval, ex.Message.Split('\n')[0]);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // A bug in one sweep must not stop the API that serves everyone; the Functions timer likewise just runs again.
                logger.LogError(ex, "Sweep failed; will try again in {Interval}", options.Value.SweepInterval);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
