using Azure.Core;
using Azure.Identity;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RailCloud.Functions;
using RailCloud.Signaling;
using RailCloud.Signaling.Sessions;

var builder = FunctionsApplication.CreateBuilder(args);
// The sweep's timer runs once a minute (SweepFunction); the outage rule measures gaps against that. App settings still win.
builder.Services.PostConfigure<SessionOptions>(o => o.SweepInterval = builder.Configuration["Sessions:SweepInterval"] is { } set ? TimeSpan.Parse(set, System.Globalization.CultureInfo.InvariantCulture) : TimeSpan.FromMinutes(1));
builder.ConfigureFunctionsWebApplication();
builder.UseMiddleware<ProblemDetailsMiddleware>();
// In Azure, storage and Web PubSub are reached with the app's managed identity; locally, connection strings win.
builder.Services.AddSingleton<TokenCredential>(_ => new DefaultAzureCredential());
builder.Services.AddRailCloudSignaling();
builder.Services.AddRailCloudTelemetry("railcloud-functions");
builder.Build().Run();
