using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using RailCloud.Signaling.Http;
using RailCloud.Signaling.Hub;
using RailCloud.WebPubSub;

namespace RailCloud.Signaling.Accounts;

/// <summary>The tokens a caller may show, as Accounts knows them: ours (not voided by a logout), and Entra ID's when it is set up.</summary>
public sealed class CallerTokens(AccountService accounts, EntraTokenValidator entra) : ICallerTokens
{
    public Task<Caller?> OursAsync(string? bearerToken, CancellationToken cancellationToken) => accounts.AuthenticateAsync(bearerToken, cancellationToken);

    public async Task<Caller?> EntraAsync(HttpContext context, CancellationToken cancellationToken) =>
        entra.Enabled ? await accounts.AdmitEntraAsync(await entra.AuthenticateAsync(context).ConfigureAwait(false), cancellationToken).ConfigureAwait(false) : null;
}

/// <summary>
/// A keyless hub signs nothing: a request to the event handler must carry an Entra token for this API from Web
/// PubSub's own identity (<c>WebPubSub:EventHandlerClientId</c>).
/// </summary>
public sealed class WebPubSubIdentity(EntraTokenValidator entra, IOptions<WebPubSubOptions> options) : IEventHandlerIdentity
{
    public async Task<bool> IsWebPubSubAsync(HttpContext context)
    {
        var expected = options.Value.EventHandlerClientId;
        if (string.IsNullOrEmpty(expected) || !entra.Enabled)
        {
            return false; // no way to tell the service from anyone else: refuse everything
        }
        var principal = await entra.ValidateAsync(context).ConfigureAwait(false);
        var caller = principal?.FindFirst("azp")?.Value ?? principal?.FindFirst("appid")?.Value;
        return string.Equals(caller, expected, StringComparison.OrdinalIgnoreCase);
    }
}
