using System.Net;
using Azure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RailCloud.Protocol;
using RailCloud.Signaling.Auth;
using RailCloud.Signaling.Flow;
using RailCloud.Signaling.Storage;
using RailCloud.WebPubSub;

namespace RailCloud.Signaling.Http;

/// <summary>
/// Every HTTP route of the contract, once. The Functions triggers and the local minimal-API host both call these
/// and return their results unchanged. Errors are RFC 9457 problem+json.
/// </summary>
public sealed class SignalingApi(
    AccountService accounts, Tables tables, KioskDirectory directory, AuditStore audit, SignalingHandler signaling,
    WebPubSubEventReader eventReader, WebPubSubServiceClient webPubSub, Notifier notify, IceServerProvider ice,
    SignInLimiter signInLimiter, NegotiateLimiter negotiateLimiter, RequestAuthenticator authenticator, IOptions<WebPubSubOptions> webPubSubOptions, EntraTokenValidator entra, SignalingMetrics metrics,
    ILogger<SignalingApi> logger)
{
    private static readonly TimeSpan ClientUrlLifetime = TimeSpan.FromMinutes(30);

    public async Task<IResult> LoginAsync(HttpRequest request)
    {
        metrics.Invoked("login");
        if (!signInLimiter.TryAcquire(request, out var address, out var log))
        {
            if (log)
            {
                logger.LogWarning("Login throttled for address {Address} (further refusals this minute are not logged)", address);
            }
            return TooMany(request, "Too many login attempts", "Wait a minute before trying again.");
        }
        var (body, unreadable) = await ReadJsonAsync<LoginRequest>(request).ConfigureAwait(false);
        if (unreadable is not null)
        {
            return unreadable;
        }
        if (body is null || string.IsNullOrEmpty(body.Id) || string.IsNullOrEmpty(body.Password) || body.Id.Length > 200 || body.Password.Length > 1024)
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid login request", "Send JSON {\"id\": \"...\", \"password\": \"...\"}.", ErrorCodes.InvalidPayload);
        }
        await tables.EnsureCreatedAsync(request.HttpContext.RequestAborted).ConfigureAwait(false);
        var (outcome, response) = await accounts.LoginAsync(body.Id, body.Password, request.HttpContext.RequestAborted).ConfigureAwait(false);
        return outcome switch
        {
            LoginOutcome.Success => TypedResults.Ok(response),
            LoginOutcome.LockedOut => Problem(StatusCodes.Status429TooManyRequests, "Too many failed logins", "This account is locked for a few minutes after repeated failures.", ErrorCodes.RateLimited),
            _ => Problem(StatusCodes.Status401Unauthorized, "Login failed", "Unknown id or wrong password.", ErrorCodes.Unauthorized),
        };
    }

    public async Task<IResult> LogoutAsync(HttpRequest request)
    {
        metrics.Invoked("logout");
        var caller = await AuthenticateAsync(request).ConfigureAwait(false);
        if (caller is null)
        {
            return Unauthorized();
        }
        await accounts.LogoutAsync(caller.Id, request.HttpContext.RequestAborted).ConfigureAwait(false);
        await notify.CloseUserAsync(caller.Id, "Logged out.", request.HttpContext.RequestAborted).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    public async Task<IResult> NegotiateAsync(HttpRequest request)
    {
        metrics.Invoked("negotiate");
        if (!negotiateLimiter.TryAcquire(request, out var log))
        {
            if (log)
            {
                logger.LogWarning("Negotiate throttled for one token (further refusals this minute are not logged)");
            }
            return TooMany(request, "Too many negotiates", "This sign-in asked for too many connections this minute; wait a minute.");
        }
        var caller = await AuthenticateAsync(request).ConfigureAwait(false);
        if (caller is null)
        {
            return Unauthorized();
        }
        // No Web PubSub roles: clients may only send events, so every message passes through our checks. An enrolled
        // device's connections join its own group, so revoking it closes exactly them.
        string[] groups = caller.DeviceId is { } device ? [Devices.DeviceService.GroupFor(device)] : [];
        var url = await webPubSub.GetClientAccessUriAsync(caller.Id, roles: [], groups, ClientUrlLifetime, request.HttpContext.RequestAborted).ConfigureAwait(false);
        return TypedResults.Ok(new NegotiateResponse(url.ToString(), DateTimeOffset.UtcNow + ClientUrlLifetime, ice.For(caller.Id)));
    }

    /// <summary>Who the bearer token says the caller is, for pages that show more to supervisors (any sign-in kind).</summary>
    public async Task<IResult> MeAsync(HttpRequest request)
    {
        metrics.Invoked("me");
        var caller = await AuthenticateAsync(request).ConfigureAwait(false);
        return caller is null ? Unauthorized() : TypedResults.Ok(new CallerView(caller.Id, caller.Role, caller.DeviceId));
    }

    public async Task<IResult> ListKiosksAsync(HttpRequest request)
    {
        metrics.Invoked("kiosks");
        var caller = await AuthenticateAsync(request).ConfigureAwait(false);
        if (caller is null)
        {
            return Unauthorized();
        }
        if (!Roles.CanMonitor(caller.Role))
        {
            return Forbidden();
        }
        return TypedResults.Ok(await directory.ListAsync(request.HttpContext.RequestAborted).ConfigureAwait(false));
    }

    public async Task<IResult> KioskEventsAsync(HttpRequest request, string kioskId)
    {
        metrics.Invoked("kiosk-events");
        var caller = await AuthenticateAsync(request).ConfigureAwait(false);
        if (caller is null)
        {
            return Unauthorized();
        }
        if (!Roles.CanMonitor(caller.Role))
        {
            return Forbidden();
        }
        if (!AccountService.IdPattern().IsMatch(kioskId))
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid kiosk id", $"'{kioskId}' is not a kiosk id.", ErrorCodes.InvalidPayload);
        }
        var pageSize = int.TryParse(request.Query["pageSize"], out var size) ? size : 50;
        if (pageSize is < 1 or > 200)
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid page size", "pageSize must be from 1 to 200.", ErrorCodes.InvalidPayload);
        }
        var continuation = request.Query["continuationToken"].ToString();
        try
        {
            return TypedResults.Ok(await audit.PageAsync(kioskId, pageSize, continuation.Length == 0 ? null : continuation, request.HttpContext.RequestAborted).ConfigureAwait(false));
        }
        catch (RequestFailedException ex) when (ex.Status == 400)
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid continuation token", "Use the continuationToken of the previous page as it was given.", ErrorCodes.InvalidPayload);
        }
    }

    public async Task<IResult> HealthAsync(HttpRequest request)
    {
        metrics.Invoked("health");
        var storage = "ok";
        try
        {
            await tables.EnsureCreatedAsync(request.HttpContext.RequestAborted).ConfigureAwait(false);
            await tables.ProbeAsync(request.HttpContext.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (BackendFailure.Is(ex, request.HttpContext.RequestAborted))
        {
            storage = "unreachable: " + ex.Message.Split('\n')[0];
        }
        var pubsub = await webPubSub.IsHealthyAsync(request.HttpContext.RequestAborted).ConfigureAwait(false) ? "ok" : "unreachable";
        var healthy = storage == "ok" && pubsub == "ok";
        return TypedResults.Json(new { status = healthy ? "healthy" : "unhealthy", storage, webPubSub = pubsub },
            statusCode: healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    /// <summary>The hub's event handler: the abuse-protection handshake, then validated CloudEvents.</summary>
    public async Task<IResult> WebPubSubEventAsync(HttpRequest request)
    {
        metrics.Invoked("webpubsub:" + (request.Headers["ce-eventName"].FirstOrDefault() ?? "validate"));
        if (WebPubSubEventReader.IsValidationRequest(request))
        {
            return eventReader.Validate(request);
        }
        if (!eventReader.ChecksSignatures && !await IsWebPubSubIdentityAsync(request).ConfigureAwait(false))
        {
            logger.LogWarning("Refused a Web PubSub event without a valid managed-identity token");
            return WebPubSubEventResults.Error(StatusCodes.Status401Unauthorized, "Events must carry Web PubSub's managed-identity token.");
        }
        var (cloudEvent, error) = await eventReader.ReadAsync(request, request.HttpContext.RequestAborted).ConfigureAwait(false);
        if (error is not null)
        {
            logger.LogWarning("Refused a Web PubSub event: {Status} {Problem}", (int)error.Status, error.Message);
            return WebPubSubEventResults.Error(error);
        }
        return await signaling.HandleAsync(cloudEvent!, request.HttpContext.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>A keyless hub signs nothing: the request must carry an Entra token for this API from Web PubSub's identity.</summary>
    private async Task<bool> IsWebPubSubIdentityAsync(HttpRequest request)
    {
        var expected = webPubSubOptions.Value.EventHandlerClientId;
        if (string.IsNullOrEmpty(expected) || !entra.Enabled)
        {
            return false; // no way to tell the service from anyone else: refuse everything
        }
        var principal = await entra.ValidateAsync(request.HttpContext).ConfigureAwait(false);
        var caller = principal?.FindFirst("azp")?.Value ?? principal?.FindFirst("appid")?.Value;
        return string.Equals(caller, expected, StringComparison.OrdinalIgnoreCase);
    }

    private Task<Caller?> AuthenticateAsync(HttpRequest request) => authenticator.AuthenticateAsync(request);

    /// <summary>Largest JSON body any route takes; a larger one is refused before it is read to the end.</summary>
    public const int MaxJsonBodyBytes = 64 * 1024;

    /// <summary>
    /// The request's JSON body: null when there is none; a problem (413 or 400) when it is too large or not JSON of
    /// that shape. Reads at most <see cref="MaxJsonBodyBytes"/> + 1 bytes, whatever Content-Length says (chunked bodies have none).
    /// </summary>
    internal static async Task<(T? Body, IResult? Problem)> ReadJsonAsync<T>(HttpRequest request) where T : class
    {
        var tooLarge = Problem(StatusCodes.Status413PayloadTooLarge, "Request body too large", $"A request body may be at most {MaxJsonBodyBytes} bytes.", ErrorCodes.PayloadTooLarge);
        if (request.ContentLength > MaxJsonBodyBytes)
        {
            return (null, tooLarge);
        }
        var buffer = new byte[MaxJsonBodyBytes + 1];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await request.Body.ReadAsync(buffer.AsMemory(length), request.HttpContext.RequestAborted).ConfigureAwait(false)) > 0)
        {
            length += read;
        }
        if (length > MaxJsonBodyBytes)
        {
            return (null, tooLarge);
        }
        if (length == 0)
        {
            return (null, null);
        }
        try
        {
            return (System.Text.Json.JsonSerializer.Deserialize<T>(buffer.AsSpan(0, length), ProtocolJson.Options), null);
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidOperationException or NotSupportedException)
        {
            // InvalidOperationException: a string with a lone surrogate, which no .NET string can hold.
            return (null, Problem(StatusCodes.Status400BadRequest, "Invalid JSON", "The body is not JSON of the expected shape.", ErrorCodes.InvalidPayload));
        }
    }

    internal static IResult Unauthorized() =>
        Problem(StatusCodes.Status401Unauthorized, "Not signed in", "Send a valid bearer token from /api/login.", ErrorCodes.Unauthorized);

    private static IResult Forbidden() =>
        Problem(StatusCodes.Status403Forbidden, "Not allowed", "This needs a monitor or supervisor account.", ErrorCodes.Forbidden);

    /// <summary>429 <c>rate-limited</c> from a per-minute allowance, with Retry-After: the allowance is whole again within a minute.</summary>
    public static IResult TooMany(HttpRequest request, string title, string detail)
    {
        request.HttpContext.Response.Headers.RetryAfter = "60";
        return Problem(StatusCodes.Status429TooManyRequests, title, detail, ErrorCodes.RateLimited);
    }

    public static IResult Problem(int status, string title, string detail, string code) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title, extensions: new Dictionary<string, object?> { ["code"] = code });
}
