using Azure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using RailCloud.Signaling.Http;
using RailCloud.Signaling.Hub;

namespace RailCloud.Signaling.Kiosks;

/// <summary>The kiosks feature's routes, for monitors and supervisors: the kiosk list and each kiosk's audit trail.</summary>
public static class KioskRoutes
{
    public static RouteGroupBuilder MapKiosks(this IEndpointRouteBuilder app)
    {
        var kiosks = app.MapGroup("/api/kiosks").WithTags("Kiosks");
        kiosks.MapGet("", (HttpRequest request, KioskApi api) => api.ListAsync(request));
        kiosks.MapGet("/{kioskId}/events", (HttpRequest request, string kioskId, KioskApi api) => api.EventsAsync(request, kioskId));
        return kiosks;
    }
}

/// <summary>Every route here is for monitors and supervisors (<see cref="RequestAuthenticator.MonitorAsync"/>).</summary>
public sealed class KioskApi(KioskDirectory directory, AuditStore audit, RequestAuthenticator authenticator, SignalingMetrics metrics)
{
    public async Task<IResult> ListAsync(HttpRequest request)
    {
        metrics.Invoked("kiosks");
        var (caller, refusal) = await authenticator.MonitorAsync(request).ConfigureAwait(false);
        return caller is null ? refusal : TypedResults.Ok(await directory.ListAsync(request.HttpContext.RequestAborted).ConfigureAwait(false));
    }

    public async Task<IResult> EventsAsync(HttpRequest request, string kioskId)
    {
        metrics.Invoked("kiosk-events");
        var (caller, refusal) = await authenticator.MonitorAsync(request).ConfigureAwait(false);
        if (caller is null)
        {
            return refusal;
        }
        if (!Ids.IsValid(kioskId))
        {
            return Problems.InvalidPayload("Invalid kiosk id", $"'{kioskId}' is not a kiosk id.");
        }
        var pageSize = int.TryParse(request.Query["pageSize"], out var size) ? size : 50;
        if (pageSize is < 1 or > 200)
        {
            return Problems.InvalidPayload("Invalid page size", "pageSize must be from 1 to 200.");
        }
        var continuation = request.Query["continuationToken"].ToString();
        try
        {
            return TypedResults.Ok(await audit.PageAsync(kioskId, pageSize, continuation.Length == 0 ? null : continuation, request.HttpContext.RequestAborted).ConfigureAwait(false));
        }
        catch (RequestFailedException ex) when (ex.Status == 400)
        {
            return Problems.InvalidPayload("Invalid continuation token", "Use the continuationToken of the previous page as it was given.");
        }
    }
}

public static class KioskServices
{
    /// <summary>Presence, crew on duty, the audit trail, and the kiosk list.</summary>
    public static IServiceCollection AddKiosks(this IServiceCollection services)
    {
        services.AddSingleton<KioskStore>();
        services.AddSingleton<AuditStore>();
        services.AddSingleton<Presence>();
        services.AddSingleton<KioskDirectory>();
        services.AddSingleton<IHubEventHandler, CrewHandler>();
        services.AddSingleton<KioskApi>();
        return services;
    }
}
