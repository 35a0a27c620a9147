using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using RailCloud.Signaling;

namespace RailCloud.LocalHost;

/// <summary>
/// Running totals of the backend's own counters (<see cref="SignalingMetrics"/>: storage requests by method, handler
/// invocations by handler), served to loopback callers at <c>GET /local/metrics</c> so <c>railcloud load</c> can say
/// what a session costs. Local only: in Azure the same counters go to Application Insights.
/// </summary>
public sealed class MeterTotals : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _totals = new();

    public MeterTotals()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == SignalingMetrics.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var key = instrument.Name;
            foreach (var tag in tags)
            {
                key += $";{tag.Key}={tag.Value}";
            }
            _totals.AddOrUpdate(key, value, (_, total) => total + value);
        });
        _listener.Start();
    }

    /// <summary>Every total, keyed "instrument;tag=value", plus this process's memory.</summary>
    public object Snapshot()
    {
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return new
        {
            counters = new SortedDictionary<string, long>(_totals),
            workingSetBytes = process.WorkingSet64,
            peakWorkingSetBytes = process.PeakWorkingSet64,
            managedHeapBytes = GC.GetTotalMemory(false),
        };
    }

    public void Dispose() => _listener.Dispose();

    public static void Map(WebApplication app)
    {
        var totals = app.Services.GetRequiredService<MeterTotals>();
        app.MapGet("/local/metrics", (HttpContext context) =>
            context.Connection.RemoteIpAddress is { } address && System.Net.IPAddress.IsLoopback(address)
                ? Results.Json(totals.Snapshot())
                : Results.NotFound());
    }
}
