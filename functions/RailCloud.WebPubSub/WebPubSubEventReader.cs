using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace RailCloud.WebPubSub;

/// <summary>Why an upstream request was refused, with the status to answer.</summary>
public sealed record WebPubSubRequestError(HttpStatusCode Status, string Message);

/// <summary>
/// Reads and checks what Web PubSub posts to the event handler (CloudEvents, binary mode): the abuse-protection
/// handshake, the <c>ce-*</c> headers, the <c>ce-signature</c> against every configured access key, and the
/// bodies of each event kind. It answers with typed requests or typed errors, never by throwing on bad input.
/// </summary>
public sealed class WebPubSubEventReader
{
    /// <summary>Largest body read from the service: one WebSocket frame is at most 1 MB, plus room for headers of a connect body.</summary>
    public const int MaxBodyBytes = 1024 * 1024 + 64 * 1024;

    private readonly string _hub;
    private readonly byte[][] _keys;
    private readonly HashSet<string> _allowedOrigins;

    public WebPubSubEventReader(string hub, IEnumerable<WebPubSubConnectionString> connections)
    {
        _hub = hub;
        var list = connections.ToList();
        if (list.Count == 0)
        {
            throw new ArgumentException("At least one access key is needed to check signatures.", nameof(connections));
        }
        _keys = [.. list.Select(c => Encoding.UTF8.GetBytes(c.AccessKey))];
        _allowedOrigins = new HashSet<string>(list.Select(c => c.Endpoint.Authority), StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>
    /// For a keyless service (local auth off): there is no key to sign events with, so the caller must authenticate
    /// each request another way (Web PubSub's managed-identity token) before trusting what this reader returns.
    /// </summary>
    private WebPubSubEventReader(string hub, Uri endpoint)
    {
        _hub = hub;
        _keys = [];
        _allowedOrigins = new HashSet<string>([endpoint.Authority], StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>False for a keyless service: requests must then be authenticated by their bearer token.</summary>
    public bool ChecksSignatures => _keys.Length > 0;

    public static WebPubSubEventReader FromOptions(WebPubSubOptions options)
    {
        var connections = new[] { options.ConnectionString, options.SecondaryConnectionString }
            .Where(s => !string.IsNullOrWhiteSpace(s))
            .Select(s => WebPubSubConnectionString.Parse(s!))
            .ToList();
        return connections.Count > 0 ? new WebPubSubEventReader(options.Hub, connections)
            : options.Endpoint is { } endpoint ? new WebPubSubEventReader(options.Hub, endpoint)
            : throw new InvalidOperationException("Web PubSub needs WebPubSub:ConnectionString or WebPubSub:Endpoint.");
    }

    /// <summary>The abuse-protection handshake: an OPTIONS request naming the service in <c>WebHook-Request-Origin</c>.</summary>
    public static bool IsValidationRequest(HttpRequest request) => HttpMethods.IsOptions(request.Method);

    /// <summary>Answers the handshake: 200 with <c>WebHook-Allowed-Origin</c> for a known service host, 400 otherwise.</summary>
    public IResult Validate(HttpRequest request)
    {
        var origins = request.Headers["WebHook-Request-Origin"].ToString()
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var allowed = origins.FirstOrDefault(_allowedOrigins.Contains);
        if (allowed is null)
        {
            return Results.Problem(
                statusCode: StatusCodes.Status400BadRequest,
                title: "Unknown webhook origin",
                detail: origins.Length == 0 ? "WebHook-Request-Origin is missing." : "WebHook-Request-Origin is not a configured Web PubSub service.");
        }
        return new AllowedOriginResult(allowed);
    }

    public async Task<(WebPubSubEventRequest? Request, WebPubSubRequestError? Error)> ReadAsync(HttpRequest request, CancellationToken cancellationToken = default)
    {
        if (!HttpMethods.IsPost(request.Method))
        {
            return Fail(HttpStatusCode.MethodNotAllowed, "Web PubSub events arrive as POST.");
        }
        var headers = request.Headers;
        string? Header(string name) => headers.TryGetValue(name, out var v) && !string.IsNullOrEmpty(v.ToString()) ? v.ToString() : null;

        var specVersion = Header("ce-specversion");
        var type = Header("ce-type");
        var hub = Header("ce-hub");
        var connectionId = Header("ce-connectionId");
        var eventName = Header("ce-eventName");
        var signature = Header("ce-signature");
        if (specVersion is null || type is null || hub is null || connectionId is null || eventName is null)
        {
            var missing = new[] { ("ce-specversion", specVersion), ("ce-type", type), ("ce-hub", hub), ("ce-connectionId", connectionId), ("ce-eventName", eventName) }
                .Where(p => p.Item2 is null).Select(p => p.Item1);
            return Fail(HttpStatusCode.BadRequest, $"Not a Web PubSub CloudEvents request: missing {string.Join(", ", missing)}.");
        }
        if (ChecksSignatures && (signature is null || !SignatureMatches(connectionId, signature)))
        {
            return Fail(HttpStatusCode.Unauthorized, signature is null ? "ce-signature is missing." : "ce-signature does not match any configured access key.");
        }
        if (!string.Equals(hub, _hub, StringComparison.OrdinalIgnoreCase))
        {
            return Fail(HttpStatusCode.NotFound, $"This handler serves hub '{_hub}', not '{hub}'.");
        }
        if (!TryDecodeStates(Header("ce-connectionState"), out var states))
        {
            return Fail(HttpStatusCode.BadRequest, "ce-connectionState is not base64-encoded JSON.");
        }

        var context = new WebPubSubConnectionContext(hub, connectionId, Header("ce-userId"), type, eventName, Header("ce-subprotocol"), Header("WebHook-Request-Origin"), states);
        var (body, tooLarge) = await ReadBodyAsync(request, cancellationToken).ConfigureAwait(false);
        if (tooLarge)
        {
            return Fail(HttpStatusCode.RequestEntityTooLarge, $"The event body is larger than {MaxBodyBytes} bytes.");
        }

        if (context.IsUserEvent)
        {
            var dataType = request.ContentType is null ? WebPubSubContentType.Binary : WebPubSubContentTypes.FromMediaType(request.ContentType);
            if (dataType is null)
            {
                return Fail(HttpStatusCode.UnsupportedMediaType, $"User events are text/plain, application/json or application/octet-stream, not '{request.ContentType}'.");
            }
            return (new UserEventRequest(context, BinaryData.FromBytes(body), dataType.Value), null);
        }

        switch (type)
        {
            case WebPubSubConnectionContext.SystemPrefix + "connect":
                return ParseConnect(context, body);
            case WebPubSubConnectionContext.SystemPrefix + "connected":
                return (new ConnectedEventRequest(context), null);
            case WebPubSubConnectionContext.SystemPrefix + "disconnected":
                string? reason = null;
                if (body.Length > 0)
                {
                    try
                    {
                        using var doc = JsonDocument.Parse(body);
                        if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("reason", out var r) && r.ValueKind == JsonValueKind.String)
                        {
                            reason = r.GetString();
                        }
                    }
                    catch (JsonException)
                    {
                        return Fail(HttpStatusCode.BadRequest, "The disconnected event body is not JSON.");
                    }
                }
                return (new DisconnectedEventRequest(context, reason), null);
            default:
                return Fail(HttpStatusCode.BadRequest, $"Unknown event type '{type}'.");
        }
    }

    /// <summary>True when one of the comma-separated <c>sha256=hex</c> values is the HMAC of the connection id under one of our keys.</summary>
    public bool SignatureMatches(string connectionId, string signatureHeader)
    {
        var data = Encoding.UTF8.GetBytes(connectionId);
        Span<byte> expected = stackalloc byte[32];
        Span<byte> given = stackalloc byte[32];
        foreach (var part in signatureHeader.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!part.StartsWith("sha256=", StringComparison.OrdinalIgnoreCase) || part.Length != 7 + 64)
            {
                continue;
            }
            try
            {
                if (Convert.FromHexString(part.AsSpan(7), given, out _, out var written) != System.Buffers.OperationStatus.Done || written != 32)
                {
                    continue;
                }
            }
            catch (FormatException)
            {
                continue;
            }
            foreach (var key in _keys)
            {
                HMACSHA256.HashData(key, data, expected);
                if (CryptographicOperations.FixedTimeEquals(expected, given))
                {
                    return true;
                }
            }
        }
        return false;
    }

    /// <summary>The <c>ce-signature</c> value the service sends for a connection, one entry per key.</summary>
    public static string Sign(string connectionId, IEnumerable<string> accessKeys) =>
        string.Join(",", accessKeys.Select(k => "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(k), Encoding.UTF8.GetBytes(connectionId)))));

    public static string EncodeStates(IReadOnlyDictionary<string, JsonElement> states) =>
        Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(states));

    public static bool TryDecodeStates(string? header, out IReadOnlyDictionary<string, JsonElement> states)
    {
        states = new Dictionary<string, JsonElement>();
        if (string.IsNullOrEmpty(header))
        {
            return true;
        }
        try
        {
            var parsed = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(Convert.FromBase64String(header));
            if (parsed is null)
            {
                return false;
            }
            states = parsed;
            return true;
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return false;
        }
    }

    private static (WebPubSubEventRequest?, WebPubSubRequestError?) ParseConnect(WebPubSubConnectionContext context, byte[] body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body.Length == 0 ? "{}"u8.ToArray() : body);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return Fail(HttpStatusCode.BadRequest, "The connect event body is not a JSON object.");
            }
            var subprotocols = root.TryGetProperty("subprotocols", out var sp) && sp.ValueKind == JsonValueKind.Array
                ? sp.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToList()
                : [];
            var certificates = root.TryGetProperty("clientCertificates", out var cc) && cc.ValueKind == JsonValueKind.Array
                ? cc.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.Object).Select(e => new ClientCertificateInfo(
                    e.TryGetProperty("thumbprint", out var t) ? t.GetString() : null,
                    e.TryGetProperty("content", out var c) ? c.GetString() : null)).ToList()
                : [];
            return (new ConnectEventRequest(context, Multimap(root, "claims"), Multimap(root, "query"), Multimap(root, "headers"), subprotocols, certificates), null);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return Fail(HttpStatusCode.BadRequest, "The connect event body is not valid JSON.");
        }
    }

    private static Dictionary<string, string[]> Multimap(JsonElement root, string name)
    {
        var map = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
        if (root.TryGetProperty(name, out var element) && element.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in element.EnumerateObject())
            {
                map[property.Name] = property.Value.ValueKind switch
                {
                    JsonValueKind.Array => [.. property.Value.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.String ? v.GetString()! : v.GetRawText())],
                    JsonValueKind.String => [property.Value.GetString()!],
                    _ => [property.Value.GetRawText()],
                };
            }
        }
        return map;
    }

    private static async Task<(byte[] Body, bool TooLarge)> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            return ([], true);
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                return ([], true);
            }
            buffer.Write(chunk, 0, read);
        }
        return (buffer.ToArray(), false);
    }

    private static (WebPubSubEventRequest?, WebPubSubRequestError?) Fail(HttpStatusCode status, string message) =>
        (null, new WebPubSubRequestError(status, message));

    private sealed class AllowedOriginResult(string origin) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = StatusCodes.Status200OK;
            httpContext.Response.Headers["WebHook-Allowed-Origin"] = origin;
            return Task.CompletedTask;
        }
    }
}
