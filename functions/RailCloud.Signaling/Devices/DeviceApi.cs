using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RailCloud.Protocol;
using RailCloud.Signaling.Http;
using RailCloud.Signaling.Storage;

namespace RailCloud.Signaling.Devices;

/// <summary>
/// The devices feature's routes: enrolment codes (supervisors), registration with a code, nonces and sign-in (devices,
/// anonymous and rate-limited per address), and listing and revocation (supervisors).
/// </summary>
public static class DeviceRoutes
{
    public const string TokenPath = "/api/devices/token";

    public static RouteGroupBuilder MapDevices(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("Devices");
        api.MapPost("/kiosks/{kioskId}/enrolments", (HttpRequest request, string kioskId, EnrolmentApi enrolment) => enrolment.CreateAsync(request, kioskId));
        api.MapPost("/devices", (HttpRequest request, EnrolmentApi enrolment) => enrolment.RegisterAsync(request));
        api.MapGet("/devices/nonce", (HttpRequest request, DeviceSignInApi signIn) => signIn.NonceAsync(request));
        api.MapPost("/devices/token", (HttpRequest request, DeviceSignInApi signIn) => signIn.TokenAsync(request));
        api.MapGet("/devices", (HttpRequest request, DeviceAdminApi admin) => admin.ListAsync(request));
        api.MapDelete("/devices/{deviceId}", (HttpRequest request, string deviceId, DeviceAdminApi admin) => admin.RevokeAsync(request, deviceId));
        return api;
    }

    /// <summary>The API's origin (and path base) as this request reached it.</summary>
    public static string OriginOf(HttpRequest request) => $"{request.Scheme}://{request.Host}{request.PathBase}";

    public static IResult Answer<T>(DeviceResult<T> result, bool created = false) =>
        !result.Ok ? Problems.Problem(result.Status, result.Title!, result.Detail!, result.Code!)
        : TypedResults.Json(result.Value, statusCode: created ? StatusCodes.Status201Created : StatusCodes.Status200OK);
}

/// <summary>Enrolment codes (supervisors) and registering a device with one (anyone with a code, at the password allowance: a code is guessed like one).</summary>
public sealed class EnrolmentApi(DeviceEnrolment enrolment, RequestAuthenticator authenticator, Accounts.SignInLimiter limiter, SignalingMetrics metrics, ILogger<EnrolmentApi> logger)
{
    public async Task<IResult> CreateAsync(HttpRequest request, string kioskId)
    {
        metrics.Invoked("enrolments");
        var (supervisor, refusal) = await authenticator.SupervisorAsync(request, "Devices").ConfigureAwait(false);
        if (supervisor is null)
        {
            return refusal;
        }
        var page = new Uri(DeviceRoutes.OriginOf(request) + "/kiosk");
        return DeviceRoutes.Answer(await enrolment.CreateEnrolmentAsync(kioskId, supervisor.Id, page, request.HttpContext.RequestAborted).ConfigureAwait(false), created: true);
    }

    public async Task<IResult> RegisterAsync(HttpRequest request)
    {
        metrics.Invoked("devices-register");
        if (limiter.Refusal(request, logger, "Device request", "Too many attempts") is { } throttled)
        {
            return throttled;
        }
        var (body, unreadable) = await Problems.ReadJsonAsync<DeviceRegistrationRequest>(request).ConfigureAwait(false);
        if (unreadable is not null)
        {
            return unreadable;
        }
        if (body is null || string.IsNullOrEmpty(body.Code))
        {
            return Problems.InvalidPayload("Invalid enrolment request", "Send JSON {\"code\": \"…\", \"publicKey\": {JWK}, \"name\": \"…\"}.");
        }
        return DeviceRoutes.Answer(await enrolment.RegisterAsync(body, request.Headers.UserAgent.ToString(), request.HttpContext.RequestAborted).ConfigureAwait(false), created: true);
    }
}

/// <summary>A device's nonce and sign-in, at an allowance of their own per address (<see cref="DeviceOptions.SignInsPerMinutePerAddress"/>).</summary>
public sealed class DeviceSignInApi(DeviceSignIn signIn, DeviceSignInLimiter limiter, SignalingMetrics metrics, IConfiguration configuration, ILogger<DeviceSignInApi> logger)
{
    public async Task<IResult> NonceAsync(HttpRequest request)
    {
        metrics.Invoked("devices-nonce");
        if (limiter.Refusal(request, logger, "Device request", "Too many attempts") is { } throttled)
        {
            return throttled;
        }
        return TypedResults.Ok(await signIn.IssueNonceAsync(request.HttpContext.RequestAborted).ConfigureAwait(false));
    }

    public async Task<IResult> TokenAsync(HttpRequest request)
    {
        metrics.Invoked("devices-token");
        if (limiter.Refusal(request, logger, "Device request", "Too many attempts") is { } throttled)
        {
            return throttled;
        }
        var (body, unreadable) = await Problems.ReadJsonAsync<DeviceTokenRequest>(request).ConfigureAwait(false);
        if (unreadable is not null)
        {
            return unreadable;
        }
        return DeviceRoutes.Answer(await signIn.SignInAsync(body?.Assertion, AudiencesOf(request), request.Headers.UserAgent.ToString(), request.HttpContext.RequestAborted).ConfigureAwait(false));
    }

    /// <summary>
    /// What a device's assertion may name as its audience: this route's absolute URL as the request arrived, or, in
    /// App Service, at the app's own host name (<c>WEBSITE_HOSTNAME</c>): the Functions host forwards requests to the
    /// worker, which need not see the public Host header.
    /// </summary>
    private string[] AudiencesOf(HttpRequest request) => configuration["WEBSITE_HOSTNAME"] is { Length: > 0 } site
        ? [DeviceRoutes.OriginOf(request) + DeviceRoutes.TokenPath, $"https://{site}{DeviceRoutes.TokenPath}"]
        : [DeviceRoutes.OriginOf(request) + DeviceRoutes.TokenPath];
}

/// <summary>Enrolled devices for supervisors: the list, and revoking one.</summary>
public sealed class DeviceAdminApi(DeviceRegistry registry, RequestAuthenticator authenticator, SignalingMetrics metrics)
{
    public async Task<IResult> ListAsync(HttpRequest request)
    {
        metrics.Invoked("devices");
        var (supervisor, refusal) = await authenticator.SupervisorAsync(request, "Devices").ConfigureAwait(false);
        return supervisor is null ? refusal : TypedResults.Ok(await registry.ListAsync(request.HttpContext.RequestAborted).ConfigureAwait(false));
    }

    public async Task<IResult> RevokeAsync(HttpRequest request, string deviceId)
    {
        metrics.Invoked("devices-revoke");
        var (supervisor, refusal) = await authenticator.SupervisorAsync(request, "Devices").ConfigureAwait(false);
        if (supervisor is null)
        {
            return refusal;
        }
        var result = await registry.RevokeAsync(deviceId, supervisor.Id, request.HttpContext.RequestAborted).ConfigureAwait(false);
        return result.Ok ? TypedResults.NoContent() : DeviceRoutes.Answer(result);
    }
}

public static class DeviceServices
{
    /// <summary>Unattended kiosks: enrolment codes, device keys, nonces and sign-in, revocation.</summary>
    public static IServiceCollection AddDevices(this IServiceCollection services)
    {
        services.AddOptions<DeviceOptions>().BindConfiguration(DeviceOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<DeviceStore>();
        services.AddSingleton<DeviceEnrolment>();
        services.AddSingleton<DeviceSignIn>();
        services.AddSingleton<DeviceRegistry>();
        services.AddSingleton<IDeviceStatus>(sp => sp.GetRequiredService<DeviceRegistry>());
        services.AddSingleton<IExpiredRows>(sp => sp.GetRequiredService<DeviceRegistry>());
        services.AddSingleton<DeviceSignInLimiter>();
        services.AddSingleton<EnrolmentApi>();
        services.AddSingleton<DeviceSignInApi>();
        services.AddSingleton<DeviceAdminApi>();
        return services;
    }
}
