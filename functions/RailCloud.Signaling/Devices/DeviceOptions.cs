using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using RailCloud.Signaling.Http;

namespace RailCloud.Signaling.Devices;

/// <summary><c>Devices</c>: enrolment codes, nonces and device assertions.</summary>
public sealed class DeviceOptions
{
    public const string SectionName = "Devices";

    /// <summary>How long an enrolment code may be used.</summary>
    [Range(typeof(TimeSpan), "00:05:00", "30.00:00:00")]
    public TimeSpan EnrolmentLifetime { get; set; } = TimeSpan.FromHours(24);

    [Range(typeof(TimeSpan), "00:00:30", "00:30:00")]
    public TimeSpan NonceLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How far a device's clock may be from ours (the assertion's <c>iat</c>).</summary>
    [Range(typeof(TimeSpan), "00:00:05", "00:30:00")]
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>The kiosk page the enrolment URL points at; empty: <c>/kiosk</c> on the API's own origin (local runs).</summary>
    public Uri? KioskPageUrl { get; set; }

    /// <summary>The token route's public URL, when a proxy in front of the API makes it differ from what the API sees.</summary>
    public Uri? Audience { get; set; }

    /// <summary>
    /// Device sign-in requests (nonces and tokens) one client address may make a minute. Kept apart from the password
    /// allowance (<c>Auth:LoginsPerMinutePerAddress</c>): a device proves possession of a key that cannot be guessed,
    /// and a depot of kiosks behind one NAT address signs in all at once after a power cut (two requests each).
    /// </summary>
    [Range(2, 100_000)]
    public int SignInsPerMinutePerAddress { get; set; } = 600;
}

/// <summary>The answer of a device operation: a value, or a refusal with its HTTP status and stable code.</summary>
public sealed record DeviceResult<T>(T? Value, int Status = 200, string? Code = null, string? Title = null, string? Detail = null)
{
    public bool Ok => Code is null;

    public static DeviceResult<T> Refused(int status, string code, string title, string detail) => new(default, status, code, title, detail);
}

/// <summary>
/// How many device sign-in requests (nonce, token) one client address may make a minute: an allowance of its own, since
/// an assertion signed by a device key cannot be guessed, and a depot's kiosks share one address behind NAT. It still
/// bounds what an anonymous caller can cost (each nonce is a storage write).
/// </summary>
public sealed class DeviceSignInLimiter(IOptions<DeviceOptions> options) : AddressLimiter(options.Value.SignInsPerMinutePerAddress);
