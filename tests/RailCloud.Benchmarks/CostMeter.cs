using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using RailCloud.Signaling;
using RailCloud.WebPubSubEmulator;

namespace RailCloud.Benchmarks;

/// <summary>
/// What the backend did, counted by its own meters in this process: handler invocations by handler (each one a
/// Function invocation in Azure), storage requests (each one a billed table transaction), and the messages the
/// Web PubSub emulator delivered to clients, in billed 2 KB units.
/// </summary>
public sealed class CostMeter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _totals = new();

    public CostMeter()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name is SignalingMetrics.MeterName or EmulatorMetrics.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var key = instrument.Name;
            foreach (var tag in tags)
            {
                if (tag.Key == "handler")
                {
                    key += $":{tag.Value}";
                }
            }
            _totals.AddOrUpdate(key, value, (_, total) => total + value);
        });
        _listener.Start();
    }

    public Totals Snapshot() => new(new Dictionary<string, long>(_totals));

    public void Dispose() => _listener.Dispose();

    public sealed record Totals(IReadOnlyDictionary<string, long> Counters)
    {
        private long Get(string key) => Counters.GetValueOrDefault(key);

        private long Sum(string prefix) => Counters.Where(c => c.Key.StartsWith(prefix, StringComparison.Ordinal)).Sum(c => c.Value);

        public long Invocations => Sum("railcloud.handler.invocations");
        public long Storage => Get("railcloud.storage.requests");
        public long Messages => Get("webpubsub.outbound.messages");
        public long Units => Get("webpubsub.outbound.units");

        public long InvocationsOf(string handler) => Get($"railcloud.handler.invocations:{handler}");

        public IEnumerable<(string Handler, long Count)> ByHandler() =>
            Counters.Where(c => c.Key.StartsWith("railcloud.handler.invocations:", StringComparison.Ordinal) && c.Value > 0)
                .Select(c => (c.Key["railcloud.handler.invocations:".Length..], c.Value)).OrderByDescending(c => c.Value);

        public static Totals operator -(Totals after, Totals before) =>
            new(after.Counters.ToDictionary(c => c.Key, c => c.Value - before.Counters.GetValueOrDefault(c.Key)));
    }
}
