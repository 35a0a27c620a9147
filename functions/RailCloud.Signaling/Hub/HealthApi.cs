using Microsoft.AspNetCore.Http;
using RailCloud.Signaling.Storage;
using RailCloud.WebPubSub;

namespace RailCloud.Signaling.Hub;

/// <summary><c>GET /api/health</c>: 200 when storage and Web PubSub answer, 503 saying which does not.</summary>
public sealed class HealthApi(Tables tables, WebPubSubServiceClient webPubSub, SignalingMetrics metrics)
{
    public async Task<IResult> CheckAsync(HttpRequest request)
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
}
