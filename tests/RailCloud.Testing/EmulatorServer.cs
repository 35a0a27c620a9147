using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using RailCloud.WebPubSubEmulator;

namespace RailCloud.Testing;

/// <summary>The Web PubSub emulator on 127.0.0.1 and a free port, stopped on dispose.</summary>
public sealed class EmulatorServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private EmulatorServer(WebApplication app, Uri baseUri, string accessKey)
    {
        _app = app;
        BaseUri = baseUri;
        AccessKey = accessKey;
    }

    public Uri BaseUri { get; }

    public string AccessKey { get; }

    public string ConnectionString => $"Endpoint={BaseUri.GetLeftPart(UriPartial.Authority)};AccessKey={AccessKey};Version=1.0;";

    public IServiceProvider Services => _app.Services;

    /// <summary>
    /// Starts an emulator. <paramref name="settings"/> are configuration keys, e.g.
    /// <c>WebPubSub:Hubs:chat:EventHandlers:0:UrlTemplate</c>.
    /// </summary>
    public static async Task<EmulatorServer> StartAsync(IDictionary<string, string?>? settings = null, int port = 0, ILoggerProvider? logs = null)
    {
        var app = EmulatorApp.Build(["--urls", $"http://127.0.0.1:{port}"], builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings ?? new Dictionary<string, string?>());
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            if (logs is not null)
            {
                builder.Logging.AddProvider(logs);
            }
        });
        await app.StartAsync();
        var address = app.Urls.First();
        var key = app.Configuration["WebPubSub:AccessKey"] ?? EmulatorOptions.DefaultAccessKey;
        return new EmulatorServer(app, new Uri(address), key);
    }

    /// <summary>Settings for one event handler of a hub.</summary>
    public static Dictionary<string, string?> HandlerSettings(string hub, string urlTemplate, string systemEvents, string? eventPattern = "*", int index = 0) => new()
    {
        [$"WebPubSub:Hubs:{hub}:EventHandlers:{index}:UrlTemplate"] = urlTemplate,
        [$"WebPubSub:Hubs:{hub}:EventHandlers:{index}:SystemEvents"] = systemEvents,
        [$"WebPubSub:Hubs:{hub}:EventHandlers:{index}:EventPattern"] = eventPattern,
    };

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
    }
}
