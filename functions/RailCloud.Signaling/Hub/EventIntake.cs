using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using RailCloud.WebPubSub;

namespace RailCloud.Signaling.Hub;

/// <summary>
/// Whether a request to the event handler comes from the Web PubSub service itself, for a keyless hub that signs
/// nothing: it must carry an Entra token for this API from Web PubSub's own identity (Accounts answers, with Entra ID).
/// </summary>
public interface IEventHandlerIdentity
{
    Task<bool> IsWebPubSubAsync(HttpContext context);
}

/// <summary>
/// <c>/api/webpubsub/{event}</c>, the hub's event handler: the abuse-protection handshake, then CloudEvents that are
/// signed with the hub's key (or, keyless, carry the service's token), read and validated, and routed.
/// </summary>
public sealed class EventIntake(WebPubSubEventReader reader, IEventHandlerIdentity identity, EventRouter router, SignalingMetrics metrics, ILogger<EventIntake> logger)
{
    public async Task<IResult> HandleAsync(HttpRequest request)
    {
        metrics.Invoked("webpubsub:" + (request.Headers["ce-eventName"].FirstOrDefault() ?? "validate"));
        if (WebPubSubEventReader.IsValidationRequest(request))
        {
            return reader.Validate(request);
        }
        if (!reader.ChecksSignatures && !await identity.IsWebPubSubAsync(request.HttpContext).ConfigureAwait(false))
        {
            logger.LogWarning("Refused a Web PubSub event without a valid managed-identity token");
            return WebPubSubEventResults.Error(StatusCodes.Status401Unauthorized, "Events must carry Web PubSub's managed-identity token.");
        }
        var (cloudEvent, error) = await reader.ReadAsync(request, request.HttpContext.RequestAborted).ConfigureAwait(false);
        if (error is not null)
        {
            logger.LogWarning("Refused a Web PubSub event: {Status} {Problem}", (int)error.Status, error.Message);
            return WebPubSubEventResults.Error(error);
        }
        return await router.HandleAsync(cloudEvent!, request.HttpContext.RequestAborted).ConfigureAwait(false);
    }
}
