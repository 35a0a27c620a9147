using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RailCloud.Protocol;
using RailCloud.Signaling.Http;
using RailCloud.WebPubSub;

namespace RailCloud.Signaling.Hub;

/// <summary>The hub's routes: client URLs with their ICE servers, the Web PubSub event handler, and health.</summary>
public static class HubRoutes
{
    public static RouteGroupBuilder MapHub(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("Hub");
        api.MapPost("/negotiate", (HttpRequest request, NegotiateApi negotiate) => negotiate.NegotiateAsync(request));
        api.MapMethods("/webpubsub/{event}", ["OPTIONS", "POST"], (HttpRequest request, EventIntake intake) => intake.HandleAsync(request));
        api.MapGet("/health", (HttpRequest request, HealthApi health) => health.CheckAsync(request));
        return api;
    }
}

/// <summary><c>Auth:NegotiatesPerMinutePerToken</c>.</summary>
public sealed class NegotiateOptions
{
    public const string SectionName = "Auth";

    /// <summary>Negotiates one bearer token may make per minute (a client that reconnects with backoff needs a few).</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 10_000)]
    public int NegotiatesPerMinutePerToken { get; set; } = 30;
}

/// <summary>
/// How many client URLs one bearer token may ask for a minute, counted before the token is even checked (so a flood
/// costs no storage read); a client that reconnects with backoff needs a few.
/// </summary>
public sealed class NegotiateLimiter(IOptions<NegotiateOptions> options) : IDisposable
{
    private readonly PerMinuteLimiter _limiter = new(options.Value.NegotiatesPerMinutePerToken);

    /// <summary>One negotiate for the request's token; <paramref name="log"/> is true for the first refusal of the token in a minute only.</summary>
    public bool TryAcquire(HttpRequest request, out bool log) =>
        // The token's hash, not the token: the limiter keeps its partitions for a while.
        _limiter.TryAcquire(Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(request.Headers.Authorization.ToString()))), out log);

    public void Dispose() => _limiter.Dispose();
}

/// <summary><c>POST /api/negotiate</c>: a Web PubSub client URL for the caller, and its ICE servers with TURN credentials.</summary>
public sealed class NegotiateApi(RequestAuthenticator authenticator, NegotiateLimiter limiter, WebPubSubServiceClient webPubSub, IceServerProvider ice, SignalingMetrics metrics, ILogger<NegotiateApi> logger)
{
    private static readonly TimeSpan ClientUrlLifetime = TimeSpan.FromMinutes(30);

    public async Task<IResult> NegotiateAsync(HttpRequest request)
    {
        metrics.Invoked("negotiate");
        if (!limiter.TryAcquire(request, out var log))
        {
            if (log)
            {
                logger.LogWarning("Negotiate throttled for one token (further refusals this minute are not logged)");
            }
            return Problems.TooMany(request, "Too many negotiates", "This sign-in asked for too many connections this minute; wait a minute.");
        }
        var caller = await authenticator.AuthenticateAsync(request).ConfigureAwait(false);
        if (caller is null)
        {
            return Problems.Unauthorized();
        }
        // No Web PubSub roles: clients may only send events, so every message passes through our checks. An enrolled
        // device's connections join its own group, so revoking it closes exactly them.
        string[] groups = caller.DeviceId is { } device ? [Notifier.DeviceGroup(device)] : [];
        var url = await webPubSub.GetClientAccessUriAsync(caller.Id, roles: [], groups, ClientUrlLifetime, request.HttpContext.RequestAborted).ConfigureAwait(false);
        return TypedResults.Ok(new NegotiateResponse(url.ToString(), DateTimeOffset.UtcNow + ClientUrlLifetime, ice.For(caller.Id)));
    }
}
