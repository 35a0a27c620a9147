using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace RailCloud.WebPubSubEmulator;

/// <summary>Builds the emulator as a web application; Program runs it, tests start it on a free port.</summary>
public static class EmulatorApp
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("System.Net.Http.HttpClient", LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 17 * 1024 * 1024);
        configure?.Invoke(builder);

        var options = EmulatorOptions.FromConfiguration(builder.Configuration);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<EndpointInfo>();
        builder.Services.AddSingleton<HubRegistry>();
        builder.Services.AddSingleton<TokenValidator>();
        builder.Services.AddSingleton<AsyncEventTracker>();
        builder.Services.AddSingleton<ConnectionLifecycle>();
        builder.Services.AddSingleton<ClientEndpoint>();
        builder.Services.AddSingleton<ClientSocket>();
        builder.Services.AddHttpClient<UpstreamInvoker>(c => c.Timeout = TimeSpan.FromSeconds(100));
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver()));

        var app = builder.Build();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(20) });
        app.Map("/client/hubs/{hub}", (HttpContext context, string hub, ClientEndpoint endpoint) => endpoint.HandleAsync(context, hub));
        app.Map("/client", (HttpContext context, ClientEndpoint endpoint) => endpoint.HandleAsync(context, null));
        app.MapRestApi();

        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var endpoint = app.Services.GetRequiredService<EndpointInfo>();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
            if (address is not null)
            {
                endpoint.BaseUri = new Uri(address.Replace("://+", "://localhost").Replace("://*", "://localhost").Replace("://[::]", "://localhost").Replace("://0.0.0.0", "://localhost"));
            }
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("RailCloud.WebPubSubEmulator");
            logger.LogInformation("Web PubSub emulator listening on {Address}", endpoint.BaseUri);
            foreach (var (hub, hubOptions) in options.Hubs)
            {
                foreach (var handler in hubOptions.EventHandlers)
                {
                    logger.LogInformation("Hub {Hub}: events {Events} → {Url}", hub,
                        string.Join(",", handler.SystemEvents.Append(handler.EventPattern ?? "").Where(e => e.Length > 0)), handler.UrlTemplate.Split('?')[0]);
                }
            }
            // The connection string is what every other program needs; print it plainly on stdout.
            Console.Out.WriteLine($"ConnectionString: {endpoint.ConnectionString(options.AccessKey)}");
            Console.Out.Flush();
        });
        app.Lifetime.ApplicationStopping.Register(() =>
        {
            foreach (var hub in app.Services.GetRequiredService<HubRegistry>().All)
            {
                foreach (var connection in hub.Connections())
                {
                    app.Services.GetRequiredService<ConnectionLifecycle>().Close(connection, System.Net.WebSockets.WebSocketCloseStatus.EndpointUnavailable, "The emulator is shutting down.");
                }
            }
        });
        app.Lifetime.ApplicationStopped.Register(() =>
            app.Services.GetRequiredService<AsyncEventTracker>().DrainAsync().Wait(TimeSpan.FromSeconds(5)));
        return app;
    }
}
