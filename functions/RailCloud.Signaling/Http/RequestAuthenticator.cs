using Microsoft.AspNetCore.Http;
using RailCloud.Protocol;
using RailCloud.Signaling.Storage;

namespace RailCloud.Signaling.Http;

/// <summary>Who a valid token says the caller is; <paramref name="DeviceId"/> when an enrolled device signed in with its key.</summary>
public sealed record Caller(string Id, string Role, DateTimeOffset IssuedAt, string? DeviceId = null);

/// <summary>The tokens a caller may show: ours (Accounts issues them) and, when it is set up, Entra ID's.</summary>
public interface ICallerTokens
{
    /// <summary>The caller one of our bearer tokens names, if it is valid and not voided by a logout.</summary>
    Task<Caller?> OursAsync(string? bearerToken, CancellationToken cancellationToken);

    /// <summary>The caller an Entra ID access token on the request names; null when there is none, it is invalid, or Entra is not set up.</summary>
    Task<Caller?> EntraAsync(HttpContext context, CancellationToken cancellationToken);
}

/// <summary>Whether an enrolled device still counts (Devices answers): a revoked device's tokens stop working at once.</summary>
public interface IDeviceStatus
{
    Task<bool> IsActiveAsync(string deviceId, string kioskId, CancellationToken cancellationToken);
}

/// <summary>
/// Who is calling an HTTP route: one of our tokens (not voided by a logout, and for an enrolled device, the device
/// still enrolled), or else an Entra ID token when Entra is configured. Every feature's routes ask this, once per
/// feature for its whole group of routes (<see cref="RequireAsync"/>).
/// </summary>
public sealed class RequestAuthenticator(Tables tables, ICallerTokens tokens, IDeviceStatus devices)
{
    public async Task<Caller?> AuthenticateAsync(HttpRequest request)
    {
        var cancellationToken = request.HttpContext.RequestAborted;
        await tables.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        var caller = await tokens.OursAsync(BearerToken(request), cancellationToken).ConfigureAwait(false);
        if (caller is { DeviceId: { } device })
        {
            return await devices.IsActiveAsync(device, caller.Id, cancellationToken).ConfigureAwait(false) ? caller : null;
        }
        return caller ?? await tokens.EntraAsync(request.HttpContext, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The caller when its role is one <paramref name="allowed"/> admits; otherwise the refusal to answer (401 not
    /// signed in, 403 with <paramref name="forbidden"/>).
    /// </summary>
    public async Task<(Caller? Caller, IResult Refusal)> RequireAsync(HttpRequest request, Func<string, bool> allowed, string forbidden)
    {
        var caller = await AuthenticateAsync(request).ConfigureAwait(false);
        return caller switch
        {
            null => (null, Problems.Unauthorized()),
            _ when !allowed(caller.Role) => (null, Problems.Forbidden(forbidden)),
            _ => (caller, TypedResults.Ok()),
        };
    }

    /// <summary>The caller when it is a supervisor; otherwise the refusal (401, or 403 saying supervisors manage <paramref name="managed"/>).</summary>
    public Task<(Caller? Caller, IResult Refusal)> SupervisorAsync(HttpRequest request, string managed) =>
        RequireAsync(request, role => role == Roles.Supervisor, $"{managed} are managed by supervisors.");

    /// <summary>The caller when it is a monitor or supervisor; otherwise the refusal.</summary>
    public Task<(Caller? Caller, IResult Refusal)> MonitorAsync(HttpRequest request) =>
        RequireAsync(request, Roles.CanMonitor, "This needs a monitor or supervisor account.");

    /// <summary>The token of an <c>Authorization: Bearer</c> header, or null.</summary>
    public static string? BearerToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
    }
}
