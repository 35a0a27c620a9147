using System.Collections.Concurrent;
using System.Diagnostics;
using HdrHistogram;

namespace RailCloud.Cli.Load;

/// <summary>
/// Every message the fleet sent and every one that arrived, by a marker unique to it, so lost and duplicated
/// messages are counted rather than guessed; plus the latencies and the double-session watch.
/// </summary>
public sealed class FleetLedger
{
    private long _nextMarker;
    private readonly ConcurrentDictionary<long, Sent> _sent = new();
    private readonly ConcurrentDictionary<long, int> _arrivals = new();
    private readonly ConcurrentDictionary<string, byte> _cutSessions = new();
    // Kiosk → the sessions monitors believe they hold on it (sessionId → monitorId).
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, string>> _holders = new();
    private long _doubleSessions;
    private long _sessionsStarted;
    private long _starts;
    private long _refusals;
    private long _drops;
    private long _restarts;

    public LongHistogram StartLatency { get; } = new(TimeStamp.Minutes(5), 3);

    public LongHistogram RelayLatency { get; } = new(TimeStamp.Minutes(5), 3);

    public ConcurrentDictionary<string, long> RefusalCodes { get; } = new();

    /// <summary>A marker for a message about to be sent (so its arrival, even one before the send returns, is matched).</summary>
    public long Next() => Interlocked.Increment(ref _nextMarker);

    /// <summary>A message for <paramref name="to"/> within <paramref name="sessionId"/> is about to be sent (so an arrival before the ack is timed too).</summary>
    public void Sending(long marker, string kind, string sessionId, string to) => _sent[marker] = new Sent(kind, sessionId, to, Stopwatch.GetTimestamp());

    /// <summary>The message was acknowledged: it counts. One refused or never acknowledged does not.</summary>
    public void Accepted(long marker)
    {
        if (_sent.TryGetValue(marker, out var sent))
        {
            _sent[marker] = sent with { Accepted = true };
        }
    }

    /// <summary>A message arrived at <paramref name="who"/>.</summary>
    public void Arrived(long marker, string who, long at)
    {
        var key = marker;
        _arrivals.AddOrUpdate(key, 1, (_, n) => n + 1);
        if (_sent.TryGetValue(marker, out var sent) && sent.Kind != "crew" && sent.To == who)
        {
            lock (RelayLatency)
            {
                RelayLatency.RecordValue(Math.Max(0, at - sent.At));
            }
        }
    }

    /// <summary>
    /// A crew broadcast reached one monitor. Broadcasts are counted per monitor (each should get each once): the
    /// marker is combined with the monitor's number.
    /// </summary>
    public void CrewArrived(long marker, int monitor) => _arrivals.AddOrUpdate(-(marker * 100_000 + monitor), 1, (_, n) => n + 1);

    public void CrewSent(long marker, int monitors, long at)
    {
        for (var m = 0; m < monitors; m++)
        {
            _sent[-(marker * 100_000 + m)] = new Sent("crew", null, $"monitor {m}", at) { Accepted = true };
        }
    }

    /// <summary>A session cut short on purpose (its kiosk restarted): what was in flight to the old connection is not counted as lost.</summary>
    public void Cut(string sessionId) => _cutSessions[sessionId] = 0;

    public void Started(TimeSpan latency)
    {
        Interlocked.Increment(ref _sessionsStarted);
        lock (StartLatency)
        {
            StartLatency.RecordValue(latency.Ticks * Stopwatch.Frequency / TimeSpan.TicksPerSecond);
        }
    }

    public void StartAttempted() => Interlocked.Increment(ref _starts);

    public void Refused(string code)
    {
        Interlocked.Increment(ref _refusals);
        RefusalCodes.AddOrUpdate(code, 1, (_, n) => n + 1);
    }

    public void Dropped() => Interlocked.Increment(ref _drops);

    public void Restarted() => Interlocked.Increment(ref _restarts);

    /// <summary>
    /// A monitor now holds a session on a kiosk. If another monitor still holds one there five seconds later (long
    /// enough for any end notice to arrive), that is a double session.
    /// </summary>
    public void Hold(string kioskId, string sessionId, string monitorId)
    {
        var holders = _holders.GetOrAdd(kioskId, _ => new ConcurrentDictionary<string, string>());
        holders[sessionId] = monitorId;
        if (holders.Count > 1)
        {
            var seen = holders.Keys.ToHashSet();
            _ = Task.Delay(TimeSpan.FromSeconds(5)).ContinueWith(_ =>
            {
                if (holders.Keys.Count(seen.Contains) > 1)
                {
                    Interlocked.Increment(ref _doubleSessions);
                    Console.Error.WriteLine($"double session on {kioskId}: {string.Join(", ", holders.Where(h => seen.Contains(h.Key)).Select(h => $"{h.Value} ({h.Key[..8]})"))}");
                }
            }, TaskScheduler.Default);
        }
    }

    public void Release(string kioskId, string sessionId)
    {
        if (_holders.TryGetValue(kioskId, out var holders))
        {
            holders.TryRemove(sessionId, out _);
        }
    }

    public long SessionsStarted => Interlocked.Read(ref _sessionsStarted);

    public long StartsAttempted => Interlocked.Read(ref _starts);

    public long Refusals => Interlocked.Read(ref _refusals);

    public long Drops => Interlocked.Read(ref _drops);

    public long Restarts => Interlocked.Read(ref _restarts);

    public long DoubleSessions => Interlocked.Read(ref _doubleSessions);

    public (long Sent, long Arrived, long Lost, long Duplicated, long Cut) Relayed() => Count(s => s.Kind != "crew");

    public (long Sent, long Arrived, long Lost, long Duplicated, long Cut) Broadcasts() => Count(s => s.Kind == "crew");

    private (long Sent, long Arrived, long Lost, long Duplicated, long Cut) Count(Func<Sent, bool> which)
    {
        long sent = 0, arrived = 0, lost = 0, duplicated = 0, cut = 0;
        foreach (var (marker, message) in _sent.Where(s => s.Value.Accepted && which(s.Value)))
        {
            var arrivals = _arrivals.GetValueOrDefault(marker);
            if (message.SessionId is not null && _cutSessions.ContainsKey(message.SessionId) && arrivals == 0)
            {
                cut++;
                continue;
            }
            sent++;
            arrived += Math.Min(arrivals, 1);
            lost += arrivals == 0 ? 1 : 0;
            duplicated += Math.Max(0, arrivals - 1);
        }
        return (sent, arrived, lost, duplicated, cut);
    }

    private sealed record Sent(string Kind, string? SessionId, string To, long At)
    {
        public bool Accepted { get; init; }
    }
}
