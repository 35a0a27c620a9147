using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace RailCloud.Signaling.Auth;

/// <summary>
/// How many guessable sign-in attempts one client address may make a minute: password logins and device enrolments
/// (a code) share it, so guessing through either is as slow as through /api/login.
/// </summary>
public sealed class SignInLimiter(IOptions<AuthOptions> options) : AddressLimiter(options.Value.LoginsPerMinutePerAddress);

/// <summary>
/// How many device sign-in requests (nonce, token) one client address may make a minute: an allowance of its own, since
/// an assertion signed by a device key cannot be guessed, and a depot's kiosks share one address behind NAT. It still
/// bounds what an anonymous caller can cost (each nonce is a storage write).
/// </summary>
public sealed class DeviceSignInLimiter(IOptions<Devices.DeviceOptions> options) : AddressLimiter(options.Value.SignInsPerMinutePerAddress);

/// <summary>A number of requests one client address may make a minute.</summary>
public abstract class AddressLimiter(int permitsPerMinute) : IDisposable
{
    private readonly PerMinuteLimiter _limiter = new(permitsPerMinute);

    /// <summary>
    /// Takes one attempt for the request's address; false when the address has used up its minute.
    /// <paramref name="log"/> is true for the first refusal of the address in a minute only, so a flood of attempts
    /// cannot flood the log too.
    /// </summary>
    public bool TryAcquire(HttpRequest request, out string address, out bool log)
    {
        address = request.HttpContext.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        return _limiter.TryAcquire(address, out log);
    }

    public void Dispose()
    {
        _limiter.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>
/// How many client URLs one bearer token may ask for a minute, counted before the token is even checked (so a flood
/// costs no storage read); a client that reconnects with backoff needs a few.
/// </summary>
public sealed class NegotiateLimiter(IOptions<AuthOptions> options) : IDisposable
{
    private readonly PerMinuteLimiter _limiter = new(options.Value.NegotiatesPerMinutePerToken);

    /// <summary>One negotiate for the request's token; <paramref name="log"/> as <see cref="SignInLimiter.TryAcquire"/>'s.</summary>
    public bool TryAcquire(HttpRequest request, out bool log) =>
        // The token's hash, not the token: the limiter keeps its partitions for a while.
        _limiter.TryAcquire(Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(request.Headers.Authorization.ToString()))), out log);

    public void Dispose() => _limiter.Dispose();
}

/// <summary>A fixed number of permits per key a minute; of its refusals, the first for each key in a minute is worth a log line.</summary>
internal sealed class PerMinuteLimiter(int permits) : IDisposable
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
