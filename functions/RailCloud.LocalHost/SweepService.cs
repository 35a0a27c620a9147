using Microsoft.Extensions.Options;
using RailCloud.Signaling;
using RailCloud.Signaling.Flow;
using RailCloud.Signaling.Storage;

namespace RailCloud.LocalHost;

/// <summary>Locally, the Functions timer's sweep runs as a background loop.</summary>
public sealed class SweepService(SessionLifecycle lifecycle, Tables tables, IOptions<RailCloud.Signaling.SessionOptions> options, TimeProvider time, ILogger<SweepService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.SweepInterval, time);
        do
        {
            try
            {
                await tables.EnsureCreatedAsync(stoppingToken);
                await lifecycle.SweepAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is Azure.RequestFailedException or HttpRequestException or RailCloud.Signaling.WebPubSub.WebPubSubRequestException)
            {
                logger.LogWarning("Sweep failed, will try again: {Error}", ex.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
