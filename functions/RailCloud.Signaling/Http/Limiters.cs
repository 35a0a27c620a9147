using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace RailCloud.Signaling.Http;

/// <summary>
/// A number of requests one client address may make a minute (each feature keeps its own allowance). A refusal is
/// 429 with Retry-After, and is logged once a minute per address, so a flood cannot flood the log too.
/// </summary>
public abstract class AddressLimiter(int permitsPerMinute) : IDisposable
{
    private readonly PerMinuteLimiter _limiter = new(permitsPerMinute);

    /// <summary>
    /// Takes one request for the request's address; false when the address has used up its minute.
    /// <paramref name="log"/> is true for the first refusal of the address in a minute only.
    /// </summary>
    public bool TryAcquire(HttpRequest request, out string address, out bool log)
    {
        address = request.HttpContext.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        return _limiter.TryAcquire(address, out log);
    }

    /// <summary>Null when the request fits the allowance; else the 429 to answer (logged once a minute per address).</summary>
    public IResult? Refusal(HttpRequest request, ILogger logger, string what, string title)
    {
        if (TryAcquire(request, out var address, out var log))
        {
            return null;
        }
        if (log)
        {
            logger.LogWarning("{What} throttled for address {Address} (further refusals this minute are not logged)", what, address);
        }
        return Problems.TooMany(request, title, "Wait a minute before trying again.");
    }

    public void Dispose()
    {
        _limiter.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>A fixed number of permits per key a minute; of its refusals, the first for each key in a minute is worth a log line.</summary>
public sealed class PerMinuteLimiter(int permits) : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter = PartitionedRateLimiter.Create<string, string>(key =>
        RateLimitPartition.GetFixedWindowLimiter(key, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = permits,
            Window = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
        }));

    private readonly ConcurrentDictionary<string, long> _lastLogged = new();

    public bool TryAcquire(string key, out bool log)
    {
        using var lease = _limiter.AttemptAcquire(key);
        log = !lease.IsAcquired && IsFirstRefusalThisMinute(key);
        return lease.IsAcquired;
    }

    private bool IsFirstRefusalThisMinute(string key)
    {
        var minute = Environment.TickCount64 / 60_000;
        if (_lastLogged.Count > 10_000)
        {
            _lastLogged.Clear();   // many keys at once: forget them rather than grow
        }
        var previous = _lastLogged.GetValueOrDefault(key, -1);
        return previous != minute && _lastLogged.TryUpdate(key, minute, previous) | _lastLogged.TryAdd(key, minute);
    }

    public void Dispose() => _limiter.Dispose();
}
