using OpenTelemetry.Trace;
using RailCloud.Signaling;
using RailCloud.Signaling.Http;

namespace RailCloud.LocalHost;

/// <summary>Builds the local host; Program runs it, tests start it on a loopback port with their own settings.</summary>
public static class LocalHostApp
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        configure?.Invoke(builder);
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = ApiRouting.AddCode);
        builder.Services.AddExceptionHandler<ApiExceptionHandler>();
        builder.Services.AddRailCloudSignaling();
        builder.Services.AddRailCloudTelemetry("railcloud-api", tracing => tracing.AddAspNetCoreInstrumentation());
        builder.Services.AddHostedService<SweepService>();
        builder.Services.AddHostedService<DevAccounts>();
        builder.Services.AddSingleton<MeterTotals>();

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();   // an unknown route or a wrong method under /api is problem+json too, not an empty body
        app.MapRailCloudApi();
        MeterTotals.Map(app);
        app.MapWebClient();
        app.Lifetime.ApplicationStarted.Register(() => app.Logger.LogInformation("RailCloud local host listening on {Urls}", string.Join(", ", app.Urls)));
        return app;
    }
}
