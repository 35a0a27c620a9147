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

    /// <summary>Takes one attempt for the request's address; false when the address has used up its minute.</summary>
    public bool TryAcquire(HttpRequest request, out string address)
    {
        address = request.HttpContext.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        using var lease = _limiter.AttemptAcquire(address);
        return lease.IsAcquired;
    }

    public void Dispose() => _limiter.Dispose();
}
