using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using RailCloud.Protocol;
using RailCloud.Signaling.Auth;
using RailCloud.Signaling.Http;
using RailCloud.Signaling.Storage;

namespace RailCloud.Signaling.Devices;

/// <summary>
/// The device routes: enrolment codes (supervisors), registration, nonces and sign-in (devices), listing and
/// revocation (supervisors). The anonymous ones are rate-limited per address: registration (a code) like /api/login,
/// nonces and sign-in by an allowance of their own (<see cref="DeviceOptions.SignInsPerMinutePerAddress"/>).
/// </summary>
public sealed class DeviceApi(DeviceService devices, RequestAuthenticator authenticator, SignInLimiter limiter, DeviceSignInLimiter signInLimiter, Tables tables, SignalingMetrics metrics, IConfiguration configuration, ILogger<DeviceApi> logger)
{
    public const string TokenPath = "/api/devices/token";

    public async Task<IResult> CreateEnrolmentAsync(HttpRequest request, string kioskId)
    {
        metrics.Invoked("enrolments");
        var (supervisor, refusal) = await authenticator.SupervisorAsync(request, "Devices").ConfigureAwait(false);
        if (supervisor is null)
        {
            return refusal;
        }
        var page = new Uri(OriginOf(request) + "/kiosk");
        return Answer(await devices.CreateEnrolmentAsync(kioskId, supervisor.Id, page, request.HttpContext.RequestAborted).ConfigureAwait(false), created: true);
    }

    public async Task<IResult> RegisterAsync(HttpRequest request)
    {
        metrics.Invoked("devices-register");
        if (Throttled(request, limiter) is { } throttled)
        {
            return throttled;
        }
        var (body, unreadable) = await SignalingApi.ReadJsonAsync<DeviceRegistrationRequest>(request).ConfigureAwait(false);
        if (unreadable is not null)
        {
            return unreadable;
        }
        if (body is null || string.IsNullOrEmpty(body.Code))
        {
            return SignalingApi.Problem(StatusCodes.Status400BadRequest, "Invalid enrolment request", "Send JSON {\"code\": \"…\", \"publicKey\": {JWK}, \"name\": \"…\"}.", ErrorCodes.InvalidPayload);
        }
        await tables.EnsureCreatedAsync(request.HttpContext.RequestAborted).ConfigureAwait(false);
        return Answer(await devices.RegisterAsync(body, request.Headers.UserAgent.ToString(), request.HttpContext.RequestAborted).ConfigureAwait(false), created: true);
    }

    public async Task<IResult> NonceAsync(HttpRequest request)
    {
        metrics.Invoked("devices-nonce");
        if (Throttled(request, signInLimiter) is { } throttled)
        {
            return throttled;
        }
        await tables.EnsureCreatedAsync(request.HttpContext.RequestAborted).ConfigureAwait(false);
        return TypedResults.Ok(await devices.IssueNonceAsync(request.HttpContext.RequestAborted).ConfigureAwait(false));
    }

    public async Task<IResult> TokenAsync(HttpRequest request)
    {
        metrics.Invoked("devices-token");
        if (Throttled(request, signInLimiter) is { } throttled)
        {
            return throttled;
        }
        var (body, unreadable) = await SignalingApi.ReadJsonAsync<DeviceTokenRequest>(request).ConfigureAwait(false);
        if (unreadable is not null)
        {
            return unreadable;
        }
        await tables.EnsureCreatedAsync(request.HttpContext.RequestAborted).ConfigureAwait(false);
        return Answer(await devices.SignInAsync(body?.Assertion, AudiencesOf(request), request.Headers.UserAgent.ToString(), request.HttpContext.RequestAborted).ConfigureAwait(false));
    }

    public async Task<IResult> ListAsync(HttpRequest request)
    {
        metrics.Invoked("devices");
        var (supervisor, refusal) = await authenticator.SupervisorAsync(request, "Devices").ConfigureAwait(false);
        if (supervisor is null)
        {
            return refusal;
        }
        return TypedResults.Ok(await devices.ListAsync(request.HttpContext.RequestAborted).ConfigureAwait(false));
    }

    public async Task<IResult> RevokeAsync(HttpRequest request, string deviceId)
    {
        metrics.Invoked("devices-revoke");
        var (supervisor, refusal) = await authenticator.SupervisorAsync(request, "Devices").ConfigureAwait(false);
        if (supervisor is null)
        {
            return refusal;
        }
        var result = await devices.RevokeAsync(deviceId, supervisor.Id, request.HttpContext.RequestAborted).ConfigureAwait(false);
        return result.Ok ? TypedResults.NoContent() : Answer(result);
    }

    /// <summary>
    /// What a device's assertion may name as its audience: this route's absolute URL as the request arrived, or, in
    /// App Service, at the app's own host name (<c>WEBSITE_HOSTNAME</c>): the Functions host forwards requests to the
    /// worker, which need not see the public Host header.
    /// </summary>
    private string[] AudiencesOf(HttpRequest request) => configuration["WEBSITE_HOSTNAME"] is { Length: > 0 } site
        ? [OriginOf(request) + TokenPath, $"https://{site}{TokenPath}"]
        : [OriginOf(request) + TokenPath];

    /// <summary>The API's origin (and path base) as this request reached it.</summary>
    private static string OriginOf(HttpRequest request) => $"{request.Scheme}://{request.Host}{request.PathBase}";

    private IResult? Throttled(HttpRequest request, AddressLimiter allowance)
    {
        if (allowance.TryAcquire(request, out var address, out var log))
        {
            return null;
        }
        if (log)
        {
            logger.LogWarning("Device request throttled for address {Address} (further refusals this minute are not logged)", address);
        }
        return SignalingApi.TooMany(request, "Too many attempts", "Wait a minute before trying again.");
    }

    private static IResult Answer<T>(DeviceResult<T> result, bool created = false) =>
        !result.Ok ? SignalingApi.Problem(result.Status, result.Title!, result.Detail!, result.Code!)
        : TypedResults.Json(result.Value, statusCode: created ? StatusCodes.Status201Created : StatusCodes.Status200OK);
}
