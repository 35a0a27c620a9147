using Microsoft.AspNetCore.Http;
using RailCloud.Signaling.Devices;
using RailCloud.Signaling.Storage;

namespace RailCloud.Signaling.Auth;

/// <summary>
/// Who is calling an HTTP route: one of our tokens (not voided by a logout, and for an enrolled device, the device
/// still enrolled), or else an Entra ID token when Entra is configured. Every feature's routes ask this.
/// </summary>
public sealed class RequestAuthenticator(AccountService accounts, DeviceService devices, Tables tables, EntraTokenValidator entra)
{
    public async Task<Caller?> AuthenticateAsync(HttpRequest request)
    {
        await tables.EnsureCreatedAsync(request.HttpContext.RequestAborted).ConfigureAwait(false);
        var cancellationToken = request.HttpContext.RequestAborted;
        var caller = await accounts.AuthenticateAsync(TokenService.BearerToken(request), cancellationToken).ConfigureAwait(false);
        if (caller is { DeviceId: { } device })
        {
            // A revoked device's tokens stop working at once, not when they expire.
            return await devices.IsActiveAsync(device, caller.Id, cancellationToken).ConfigureAwait(false) ? caller : null;
        }
        return caller ?? (entra.Enabled ? await accounts.AdmitEntraAsync(await entra.AuthenticateAsync(request.HttpContext).ConfigureAwait(false), cancellationToken).ConfigureAwait(false) : null);
    }

    /// <summary>The caller when it is a supervisor; otherwise the refusal to answer (401 not signed in, 403 not a supervisor).</summary>
    public async Task<(Caller? Supervisor, IResult Refusal)> SupervisorAsync(HttpRequest request, string managed)
    {
        var caller = await AuthenticateAsync(request).ConfigureAwait(false);
        return caller switch
        {
            { Role: Protocol.Roles.Supervisor } => (caller, TypedResults.Ok()),
            null => (null, Http.SignalingApi.Unauthorized()),
            _ => (null, Http.SignalingApi.Problem(StatusCodes.Status403Forbidden, "Not allowed", $"{managed} are managed by supervisors.", Protocol.ErrorCodes.Forbidden)),
        };
    }
}
