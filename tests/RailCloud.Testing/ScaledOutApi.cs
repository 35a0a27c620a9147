using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RailCloud.Client;
using RailCloud.LocalHost;
using RailCloud.Signaling.Accounts;

namespace RailCloud.Testing;

/// <summary>
/// RailCloud as Functions scale it out: several API hosts against the same storage and Web PubSub emulator, behind
/// a front door that hands each request to the next host in turn (and to another when a host refuses the
/// connection, as the platform routes around a dead instance). Clients and the emulator's event handler both go
/// through the front door. A host can be killed mid-run.
/// </summary>
public sealed class ScaledOutApi : IAsyncDisposable
{
    private readonly WebApplication _frontDoor;
    private readonly List<WebApplication?> _hosts;
    private readonly HttpClient _forward = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromSeconds(30) }) { Timeout = TimeSpan.FromSeconds(60) };
    private readonly HttpClient _http;
    private int _next;

    private ScaledOutApi(WebApplication frontDoor, List<WebApplication?> hosts, EmulatorServer emulator, Uri baseUri)
    {
        _frontDoor = frontDoor;
        _hosts = hosts;
        Emulator = emulator;
        BaseUri = baseUri;
        _http = new HttpClient { BaseAddress = baseUri };
        Api = new RailCloudApi(_http);
    }

    public EmulatorServer Emulator { get; }

    /// <summary>The front door: what clients and the emulator call.</summary>
    public Uri BaseUri { get; }

    public RailCloudApi Api { get; }

    /// <summary>The services of host <paramref name="index"/> (null once killed).</summary>
    public IServiceProvider? Services(int index) => _hosts[index]?.Services;

    /// <param name="clocks">One per host: the clock each host's machine has (null: the real one).</param>
    public static async Task<ScaledOutApi> StartAsync(IReadOnlyList<TimeProvider?> clocks, IDictionary<string, string?>? overrides = null, ILoggerProvider? logs = null)
    {
        var azurite = await RailCloudStack.SharedAzuriteAsync();
        var frontPort = FreePort.Next();
        var emulator = await EmulatorServer.StartAsync(RailCloudStack.EmulatorHandlerSettings(frontPort), logs: logs);
        var settings = RailCloudStack.Settings(azurite, emulator);
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        var hosts = new List<WebApplication?>();
        foreach (var clock in clocks)
        {
            var host = LocalHostApp.Build(["--urls", "http://127.0.0.1:0"], builder =>
            {
                builder.Configuration.AddInMemoryCollection(settings);
                if (clock is not null)
                {
                    builder.Services.AddSingleton(clock);
                }
                if (logs is not null)
                {
                    builder.Logging.AddProvider(logs);
                }
            });
            await host.StartAsync();
            hosts.Add(host);
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{frontPort}");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var frontDoor = builder.Build();
        ScaledOutApi? api = null;
        frontDoor.Run(context => api!.ForwardAsync(context));
        await frontDoor.StartAsync();
        api = new ScaledOutApi(frontDoor, hosts, emulator, new Uri($"http://127.0.0.1:{frontPort}/"));
        return api;
    }

    /// <summary>Creates an account through the first live host's services.</summary>
    public async Task CreateAccountAsync(string id, string role)
    {
        var services = _hosts.First(h => h is not null)!.Services;
        await services.GetRequiredService<RailCloud.Signaling.Storage.Tables>().EnsureCreatedAsync();
        if (await services.GetRequiredService<RailCloud.Signaling.Accounts.AccountService>().CreateAsync(id, role, RailCloudStack.Password) is { } error)
        {
            throw new InvalidOperationException(error.Message);
        }
    }

    /// <summary>Kills host <paramref name="index"/> at once, as a crashed instance: in-flight requests are cut.</summary>
    public async Task KillAsync(int index)
    {
        var host = _hosts[index] ?? throw new InvalidOperationException($"Host {index} is already down.");
        _hosts[index] = null;
        using var now = new CancellationTokenSource();
        await now.CancelAsync();
        await host.StopAsync(now.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await host.DisposeAsync();
    }

    private async Task ForwardAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted);
        for (var attempt = 0; attempt < _hosts.Count * 2; attempt++)
        {
            var hosts = _hosts.Where(h => h is not null).ToList();
            if (hosts.Count == 0)
            {
                break;
            }
            var host = hosts[(int)((uint)Interlocked.Increment(ref _next) % hosts.Count)]!;
            using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), new Uri(new Uri(host.Urls.First()), context.Request.Path + context.Request.QueryString));
            if (body.Length > 0 || context.Request.ContentLength is not null)
            {
                request.Content = new ByteArrayContent(body.ToArray());
            }
            foreach (var (name, values) in context.Request.Headers)
            {
                if (name is "Host" or "Content-Length" or "Transfer-Encoding" or "Connection")
                {
                    continue;
                }
                if (!request.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
                {
                    request.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
                }
            }
            HttpResponseMessage response;
            try
            {
                response = await _forward.SendAsync(request, context.RequestAborted);
            }
            catch (HttpRequestException)
            {
                continue;   // that instance is gone: the platform tries another
            }
            using (response)
            {
                context.Response.StatusCode = (int)response.StatusCode;
                foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
                {
                    if (name is not ("Transfer-Encoding" or "Connection"))
                    {
                        context.Response.Headers[name] = values.ToArray();
                    }
                }
                if (response.StatusCode is not (System.Net.HttpStatusCode.NoContent or System.Net.HttpStatusCode.NotModified) && !HttpMethods.IsHead(context.Request.Method))
                {
                    await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
                }
            }
            return;
        }
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await Emulator.DisposeAsync();
        await _frontDoor.StopAsync();
        await _frontDoor.DisposeAsync();
        foreach (var host in _hosts.Where(h => h is not null))
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await host!.StopAsync(timeout.Token);
            await host.DisposeAsync();
        }
        _forward.Dispose();
    }
}
