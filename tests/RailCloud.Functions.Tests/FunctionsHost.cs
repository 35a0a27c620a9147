using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RailCloud.Signaling;
using RailCloud.Signaling.Accounts;
using RailCloud.Signaling.Storage;

namespace RailCloud.Functions.Tests;

/// <summary>
/// Stands in for the Functions host, which cannot run here: every [Function] with an [HttpTrigger] is routed as
/// its attribute says (methods, <c>api/</c> + Route) to the function class itself, with a real Kestrel HttpContext.
/// The emulator's event handler points at it, and Azurite holds the tables.
/// </summary>
public sealed class FunctionsHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FunctionsHost(WebApplication app, EmulatorServer emulator, Uri baseUri)
    {
        _app = app;
        Emulator = emulator;
        BaseUri = baseUri;
        Http = new HttpClient { BaseAddress = baseUri };
        Api = new RailCloudApi(Http);
    }

    public EmulatorServer Emulator { get; }
    public Uri BaseUri { get; }
    public HttpClient Http { get; }
    public RailCloudApi Api { get; }
    public IServiceProvider Services => _app.Services;

    /// <summary>The function classes of the app (each feature's triggers).</summary>
    public static readonly Type[] FunctionClasses = [.. typeof(SweepFunction).Assembly.GetTypes()
        .Where(t => t.GetMethods().Any(m => m.GetCustomAttribute<FunctionAttribute>() is not null))];

    public static IReadOnlyList<(MethodInfo Method, string[] Verbs, string Route)> HttpTriggers() =>
        [.. FunctionClasses.SelectMany(t => t.GetMethods())
            .Where(m => m.GetCustomAttribute<FunctionAttribute>() is not null)
            .Select(m => (Method: m, Trigger: m.GetParameters().Select(p => p.GetCustomAttribute<HttpTriggerAttribute>()).FirstOrDefault(a => a is not null)))
            .Where(x => x.Trigger is not null)
            .Select(x => (x.Method, x.Trigger!.Methods!, x.Trigger.Route!))];

    public static async Task<FunctionsHost> StartAsync(AzuriteServer azurite, IDictionary<string, string?>? overrides = null)
    {
        var port = FreePort.Next();
        var emulator = await RailCloudStack.StartEmulatorForAsync(port);
        var settings = RailCloudStack.Settings(azurite, emulator);
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddRailCloudSignaling();
        foreach (var functions in FunctionClasses)
        {
            builder.Services.AddSingleton(functions);
        }
        var app = builder.Build();
        foreach (var (method, verbs, route) in HttpTriggers())
        {
            app.MapMethods("/api/" + route, [.. verbs.Select(v => v.ToUpperInvariant())], async (HttpContext context) =>
            {
                var functions = context.RequestServices.GetRequiredService(method.DeclaringType!);
                var arguments = method.GetParameters().Select(p => p.ParameterType == typeof(HttpRequest) ? context.Request : (object?)context.GetRouteValue(p.Name!)).ToArray();
                var result = await (Task<IResult>)method.Invoke(functions, arguments)!;
                await result.ExecuteAsync(context);
            });
        }
        await app.StartAsync();
        await app.Services.GetRequiredService<Tables>().EnsureCreatedAsync();
        return new FunctionsHost(app, emulator, new Uri($"http://127.0.0.1:{port}/"));
    }

    public async Task CreateAccountAsync(string id, string role)
    {
        var error = await Services.GetRequiredService<AccountService>().CreateAsync(id, role, RailCloudStack.Password);
        Assert.Null(error);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Emulator.DisposeAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
