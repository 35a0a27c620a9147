using RailCloud.LocalHost;
using RailCloud.Signaling;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
builder.Services.AddProblemDetails();
builder.Services.AddRailCloudSignaling();
builder.Services.AddHostedService<SweepService>();
builder.Services.AddHostedService<DevAccounts>();

var app = builder.Build();
app.UseExceptionHandler();
app.MapRailCloudApi();
app.MapWebClient();
app.Lifetime.ApplicationStarted.Register(() => app.Logger.LogInformation("RailCloud local host listening on {Urls}", string.Join(", ", app.Urls)));
app.Run();

public partial class Program;
