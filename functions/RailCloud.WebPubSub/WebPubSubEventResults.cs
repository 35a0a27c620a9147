using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace RailCloud.WebPubSub;

/// <summary>
/// The answers an event handler gives the service. Each may carry new connection state
/// (<c>ce-connectionState</c>, base64 JSON), which the service sends back on the connection's later events.
/// </summary>
public static class WebPubSubEventResults
{
    /// <summary>Accepts a connect event, optionally overriding userId, groups, roles or subprotocol.</summary>
    public static IResult Connect(ConnectEventResponse? response = null, IReadOnlyDictionary<string, JsonElement>? states = null)
    {
        if (response is null || (response.UserId, response.Groups, response.Roles, response.Subprotocol) == (null, null, null, null))
        {
            return new EventResult(StatusCodes.Status204NoContent, null, null, states);
        }
        var body = new Dictionary<string, object>();
        if (response.UserId is not null) body["userId"] = response.UserId;
        if (response.Groups is not null) body["groups"] = response.Groups;
        if (response.Roles is not null) body["roles"] = response.Roles;
        if (!string.IsNullOrEmpty(response.Subprotocol)) body["subprotocol"] = response.Subprotocol;
        return new EventResult(StatusCodes.Status200OK, JsonSerializer.SerializeToUtf8Bytes(body), "application/json", states);
    }

    /// <summary>Replies to a user event; the sender receives <paramref name="data"/> as a server message.</summary>
    public static IResult Reply(BinaryData data, WebPubSubContentType dataType, IReadOnlyDictionary<string, JsonElement>? states = null) =>
        new EventResult(StatusCodes.Status200OK, data.ToArray(), dataType.ToMediaType(), states);

    /// <summary>Handled, nothing to send back.</summary>
    public static IResult NoContent(IReadOnlyDictionary<string, JsonElement>? states = null) =>
        new EventResult(StatusCodes.Status204NoContent, null, null, states);

    /// <summary>Refuses the request; for connect the status goes back to the client's WebSocket upgrade.</summary>
    public static IResult Error(int status, string message) =>
        new EventResult(status, System.Text.Encoding.UTF8.GetBytes(message), "text/plain; charset=utf-8", null);

    public static IResult Error(WebPubSubRequestError error) => Error((int)error.Status, error.Message);

    private sealed class EventResult(int status, byte[]? body, string? contentType, IReadOnlyDictionary<string, JsonElement>? states) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = status;
            if (states is not null)
            {
                response.Headers["ce-connectionState"] = WebPubSubEventReader.EncodeStates(states);
            }
            if (body is not null)
            {
                response.ContentType = contentType;
                response.ContentLength = body.Length;
                await response.Body.WriteAsync(body, httpContext.RequestAborted).ConfigureAwait(false);
            }
        }
    }
}
