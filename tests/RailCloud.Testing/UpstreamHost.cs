using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace RailCloud.Testing;

/// <summary>
/// A real HTTP event handler on 127.0.0.1 for the emulator to call. It records every request it receives and answers
/// with <see cref="Handle"/> (by default: the abuse-protection handshake, then 204 to everything).
/// </summary>
public sealed class UpstreamHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private UpstreamHost(WebApplication app, Uri baseUri)
    {
        _app = app;
        BaseUri = baseUri;
    }

    public Uri BaseUri { get; }

    /// <summary>Template for the emulator's settings: <c>http://127.0.0.1:port/upstream/{hub}/{event}</c>.</summary>
    public string UrlTemplate => $"{BaseUri.GetLeftPart(UriPartial.Authority)}/upstream/{{hub}}/{{event}}";

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    /// <summary>How to answer; replaced by tests that need something else.</summary>
    public Func<HttpContext, byte[], Task<IResult>> Handle { get; set; } = DefaultHandle;

    public static async Task<UpstreamHost> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        UpstreamHost? host = null;
        app.Map("/upstream/{hub}/{event}", async (HttpContext context) =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            var body = buffer.ToArray();
            host!.Requests.Enqueue(new RecordedRequest(
                context.Request.Method,
                context.Request.Path.Value!,
                context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
                body,
                context.Request.ContentType));
            context.Request.Body = new MemoryStream(body);
            return await host.Handle(context, body);
        });
        await app.StartAsync();
        host = new UpstreamHost(app, new Uri(app.Urls.First()));
        return host;
    }

    public static Task<IResult> DefaultHandle(HttpContext context, byte[] body)
    {
        if (HttpMethods.IsOptions(context.Request.Method))
        {
            context.Response.Headers["WebHook-Allowed-Origin"] = "*";
            return Task.FromResult(Results.Ok());
        }
        return Task.FromResult(Results.NoContent());
    }

    /// <summary>Waits until a recorded POST matches (events are asynchronous).</summary>
    public async Task<RecordedRequest> WaitForAsync(Func<RecordedRequest, bool> match, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (DateTime.UtcNow < deadline)
        {
            var found = Requests.FirstOrDefault(match);
            if (found is not null)
            {
                return found;
            }
            await Task.Delay(20);
        }
        throw new TimeoutException("The expected upstream request did not arrive. Seen: " +
            string.Join("; ", Requests.Select(r => $"{r.Method} {r.Path} {r.Header("ce-type")}")));
    }

    public IEnumerable<RecordedRequest> Events(string ceType) => Requests.Where(r => r.Header("ce-type") == ceType);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    public sealed record RecordedRequest(string Method, string Path, IReadOnlyDictionary<string, string> Headers, byte[] Body, string? ContentType)
    {
        public string? Header(string name) => Headers.TryGetValue(name, out var v) ? v : null;

        public string Text => System.Text.Encoding.UTF8.GetString(Body);
    }
}
