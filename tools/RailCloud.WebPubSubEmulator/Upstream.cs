using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace RailCloud.WebPubSubEmulator;

/// <summary>What a handler answered; <see cref="Status"/> 0 means it could not be reached.</summary>
public sealed record UpstreamResponse(int Status, byte[] Body, string? ContentType, string? ConnectionState, string? Failure)
{
    public bool Succeeded => Status is >= 200 and < 300;
}

/// <summary>
/// Posts events to a hub's event handlers as CloudEvents (binary mode), after the abuse-protection handshake,
/// with <c>ce-signature</c> computed from the access key. Asynchronous events are retried on 408, 5xx and
/// network failures; blocking events get one attempt, because a client is waiting on them.
/// </summary>
public sealed class UpstreamInvoker(HttpClient http, EmulatorOptions options, EndpointInfo endpoint, TimeProvider time, ILogger<UpstreamInvoker> logger)
{
    private readonly ConcurrentDictionary<string, bool> _validated = new(StringComparer.OrdinalIgnoreCase);

    public EventHandlerOptions? FindSystemHandler(string hub, string eventName) =>
        options.Hubs.TryGetValue(hub, out var h) ? h.EventHandlers.FirstOrDefault(e => e.HandlesSystemEvent(eventName)) : null;

    public EventHandlerOptions? FindUserHandler(string hub, string eventName) =>
        options.Hubs.TryGetValue(hub, out var h) ? h.EventHandlers.FirstOrDefault(e => e.HandlesUserEvent(eventName)) : null;

    public async Task<UpstreamResponse> InvokeAsync(
        EventHandlerOptions handler, ClientConnection? connection, string hub, string connectionId, string? userId, string? subprotocol, string? state,
        long eventId, bool isSystem, string eventName, byte[] body, string contentType, bool retry, CancellationToken cancellationToken)
    {
        var url = handler.UrlFor(hub, eventName);
        if (!await EnsureValidatedAsync(handler, hub, cancellationToken).ConfigureAwait(false))
        {
            return new UpstreamResponse(0, [], null, null, $"The event handler {Redact(url)} did not pass abuse-protection validation (OPTIONS with WebHook-Request-Origin).");
        }

        var delays = retry ? options.UpstreamRetryDelays : [];
        for (var attempt = 0; ; attempt++)
        {
            UpstreamResponse result;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
                var h = request.Headers;
                h.TryAddWithoutValidation("ce-specversion", "1.0");
                h.TryAddWithoutValidation("ce-type", (isSystem ? "azure.webpubsub.sys." : "azure.webpubsub.user.") + eventName);
                h.TryAddWithoutValidation("ce-source", $"/hubs/{hub}/client/{connectionId}");
                h.TryAddWithoutValidation("ce-id", eventId.ToString(System.Globalization.CultureInfo.InvariantCulture));
                h.TryAddWithoutValidation("ce-time", time.GetUtcNow().ToString("O", System.Globalization.CultureInfo.InvariantCulture));
                h.TryAddWithoutValidation("ce-awpsversion", "1.0");
                h.TryAddWithoutValidation("ce-hub", hub);
                h.TryAddWithoutValidation("ce-connectionId", connectionId);
                h.TryAddWithoutValidation("ce-eventName", eventName);
                if (userId is not null) h.TryAddWithoutValidation("ce-userId", userId);
                if (subprotocol is not null) h.TryAddWithoutValidation("ce-subprotocol", subprotocol);
                if (state is not null) h.TryAddWithoutValidation("ce-connectionState", state);
                h.TryAddWithoutValidation("ce-signature", Sign(connectionId));
                h.TryAddWithoutValidation("WebHook-Request-Origin", endpoint.Origin);

                using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
                var responseBody = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
                var newState = response.Headers.TryGetValues("ce-connectionState", out var states) ? states.FirstOrDefault() : null;
                result = new UpstreamResponse((int)response.StatusCode, responseBody, response.Content.Headers.ContentType?.ToString(), newState,
                    response.IsSuccessStatusCode ? null : $"{(int)response.StatusCode} {Encoding.UTF8.GetString(responseBody.AsSpan(0, Math.Min(300, responseBody.Length)))}");
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                result = new UpstreamResponse(0, [], null, null, ex.Message);
            }

            var transient = result.Status is 0 or 408 or >= 500;
            if (result.Succeeded || !transient || attempt >= delays.Count)
            {
                if (!result.Succeeded)
                {
                    logger.LogWarning("Event {EventName} for connection {ConnectionId} in hub {Hub} failed at {Url}: {Failure}", eventName, connectionId, hub, Redact(url), result.Failure);
                }
                return result;
            }
            logger.LogInformation("Event {EventName} for connection {ConnectionId} failed ({Failure}); retrying in {Delay}", eventName, connectionId, result.Failure, delays[attempt]);
            await Task.Delay(delays[attempt], time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The handshake once per handler URL; a failed one is tried again on the next event.</summary>
    private async Task<bool> EnsureValidatedAsync(EventHandlerOptions handler, string hub, CancellationToken cancellationToken)
    {
        var url = handler.UrlFor(hub, "validate");
        var key = url.GetLeftPart(UriPartial.Path);
        if (_validated.ContainsKey(key))
        {
            return true;
        }
        foreach (var method in new[] { HttpMethod.Options, HttpMethod.Get })
        {
            try
            {
                using var request = new HttpRequestMessage(method, url);
                request.Headers.TryAddWithoutValidation("WebHook-Request-Origin", endpoint.Origin);
                // The SDKs recognise service requests, the handshake included, by this header.
                request.Headers.TryAddWithoutValidation("ce-awpsversion", "1.0");
                using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
                if (method == HttpMethod.Options && response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed)
                {
                    continue;
                }
                var allowed = response.Headers.TryGetValues("WebHook-Allowed-Origin", out var values)
                    && values.SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries)).Any(v => v == "*" || string.Equals(v, endpoint.Origin, StringComparison.OrdinalIgnoreCase));
                if (response.IsSuccessStatusCode && allowed)
                {
                    _validated[key] = true;
                    logger.LogInformation("Event handler {Url} validated", Redact(url));
                    return true;
                }
                logger.LogWarning("Event handler {Url} failed validation: {Status}, WebHook-Allowed-Origin {Allowed}", Redact(url), (int)response.StatusCode, allowed ? "ok" : "missing or wrong");
                return false;
            }
            catch (HttpRequestException ex)
            {
                logger.LogWarning("Event handler {Url} could not be reached for validation: {Error}", Redact(url), ex.Message);
                return false;
            }
        }
        return false;
    }

    private string Sign(string connectionId) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(options.AccessKey), Encoding.UTF8.GetBytes(connectionId)));

    /// <summary>Keeps a <c>code=</c> function key out of the log.</summary>
    private static string Redact(Uri url) => url.Query.Length > 0 ? url.GetLeftPart(UriPartial.Path) + "?…" : url.ToString();
}

/// <summary>Where the emulator listens, once Kestrel has bound; the origin it names in webhook requests.</summary>
public sealed class EndpointInfo
{
    public Uri BaseUri { get; set; } = new("http://localhost:8080/");

    /// <summary>Host, with the port when it is not the scheme's default (handlers compare it with the endpoint they trust).</summary>
    public string Origin => BaseUri.Authority;

    public string ConnectionString(string accessKey) =>
        $"Endpoint={BaseUri.GetLeftPart(UriPartial.Authority)};AccessKey={accessKey};Version=1.0;";
}

/// <summary>Runs each connection's asynchronous events in order, off the client's path, and waits for them at shutdown.</summary>
public sealed class AsyncEventTracker
{
    private readonly ConcurrentDictionary<Task, bool> _running = new();

    public void Chain(ClientConnection connection, Func<Task> work)
    {
        var previous = connection.AsyncEvents;
        var next = RunAfter(previous, work);
        connection.AsyncEvents = next;
        _running[next] = true;
        next.ContinueWith(t => _running.TryRemove(t, out _), TaskScheduler.Default);
    }

    private static async Task RunAfter(Task previous, Func<Task> work)
    {
        // Each step logs its own failures; one failing event must not stop the next.
        await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await work().ConfigureAwait(false);
    }

    public Task DrainAsync() => Task.WhenAll(_running.Keys);
}
