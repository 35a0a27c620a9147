using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace RailCloud.Signaling.Auth;

/// <summary>
/// How many sign-in attempts one client address may make a minute: password logins, device enrolments, nonces and
/// device sign-ins share it, so guessing through any of them is as slow as through /api/login.
/// </summary>
public sealed class SignInLimiter(IOptions<AuthOptions> options) : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter = PartitionedRateLimiter.Create<string, string>(address =>
        RateLimitPartition.GetFixedWindowLimiter(address, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = options.Value.LoginsPerMinutePerAddress,
            Window = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
        }));

    private readonly RefusalLog _refusals = new();

    /// <summary>
    /// Takes one attempt for the request's address; false when the address has used up its minute.
    /// <paramref name="log"/> is true for the first refusal of the address in a minute only, so a flood of attempts
    /// cannot flood the log too.
    /// </summary>
    public bool TryAcquire(HttpRequest request, out string address, out bool log)
    {
        address = request.HttpContext.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        using var lease = _limiter.AttemptAcquire(address);
        log = !lease.IsAcquired && _refusals.IsFirstThisMinute(address);
        return lease.IsAcquired;
    }

    public void Dispose() => _limiter.Dispose();
}

/// <summary>Which refusals are worth a log line: the first for each key in each minute.</summary>
internal sealed class RefusalLog
{
    private readonly ConcurrentDictionary<string, long> _lastLogged = new();

    public bool IsFirstThisMinute(string key)
    {
        var minute = Environment.TickCount64 / 60_000;
        if (_lastLogged.Count > 10_000)
        {
            _lastLogged.Clear();   // many addresses at once: forget them rather than grow
        }
        var previous = _lastLogged.GetValueOrDefault(key, -1);
        return previous != minute && _lastLogged.TryUpdate(key, minute, previous) | _lastLogged.TryAdd(key, minute);
    }
}

/// <summary>
/// How many client URLs one bearer token may ask for a minute, counted before the token is even checked (so a flood
/// costs no storage read); a client that reconnects with backoff needs a few.
/// </summary>
public sealed class NegotiateLimiter(IOptions<AuthOptions> options) : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter = PartitionedRateLimiter.Create<string, string>(token =>
        RateLimitPartition.GetFixedWindowLimiter(token, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = options.Value.NegotiatesPerMinutePerToken,
            Window = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
        }));

    private readonly RefusalLog _refusals = new();

    /// <summary>One negotiate for the request's token; <paramref name="log"/> as <see cref="SignInLimiter.TryAcquire"/>'s.</summary>
    public bool TryAcquire(HttpRequest request, out bool log)
    {
        // The token's hash, not the token: the limiter keeps its partitions for a while.
        var key = Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(request.Headers.Authorization.ToString())));
        using var lease = _limiter.AttemptAcquire(key);
        log = !lease.IsAcquired && _refusals.IsFirstThisMinute(key);
        return lease.IsAcquired;
    }

    public void Dispose() => _limiter.Dispose();
}
