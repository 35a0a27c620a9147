using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using RailCloud.Signaling.Http;
using RailCloud.Signaling.Hub;
using RailCloud.WebPubSub;

namespace RailCloud.Signaling.Accounts;

/// <summary>
/// Web PubSub's <c>connect</c> event: a connection is admitted for a known account whose URL was issued after its
/// last logout (and, for an enrolled device, while the device is still enrolled). Our answer sets the connection
/// state every later event reads its identity from.
/// </summary>
public sealed class ConnectAdmission(AccountStore accounts, IDeviceStatus devices, ILogger<ConnectAdmission> logger) : IConnectHandler
{
    public async Task<IResult> ConnectAsync(ConnectEventRequest request, CancellationToken cancellationToken)
    {
        var userId = request.Context.UserId;
        if (string.IsNullOrEmpty(userId))
        {
            return WebPubSubEventResults.Error(StatusCodes.Status401Unauthorized, "Connections need a user: get the URL from /api/negotiate.");
        }
        var account = await accounts.GetAsync(userId, cancellationToken).ConfigureAwait(false);
        if (account is null)
        {
            logger.LogWarning("Refused a connection for unknown user {UserId}", userId);
            return WebPubSubEventResults.Error(StatusCodes.Status401Unauthorized, "Unknown account.");
        }
        if (request.Claims.TryGetValue("iat", out var iat) && long.TryParse(iat.FirstOrDefault(), out var issuedAt)
            && DateTimeOffset.FromUnixTimeSeconds(issuedAt) < account.TokensValidFrom)
        {
            logger.LogWarning("Refused a connection for {UserId}: its URL was issued before the account's last logout", userId);
            return WebPubSubEventResults.Error(StatusCodes.Status401Unauthorized, "This connection URL was issued before a logout; negotiate again.");
        }
        // An enrolled device's URL puts it in its device group; a URL issued before the device was revoked must not
        // connect again.
        foreach (var group in request.Claims.GetValueOrDefault("webpubsub.group") ?? [])
        {
            if (group.StartsWith(Notifier.DeviceGroup(""), StringComparison.Ordinal) && !await devices.IsActiveAsync(group[Notifier.DeviceGroup("").Length..], userId, cancellationToken).ConfigureAwait(false))
            {
                logger.LogWarning("Refused a connection for {UserId}: its device was removed", userId);
                return WebPubSubEventResults.Error(StatusCodes.Status401Unauthorized, "This device was removed; ask a supervisor for a new enrolment code.");
            }
        }
        var state = new ClientState { Role = account.Role, Id = userId };
        return WebPubSubEventResults.Connect(null, state.ToStates());
    }
}
