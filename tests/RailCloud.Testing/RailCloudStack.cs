using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using RailCloud.Client;
using RailCloud.LocalHost;
using RailCloud.Signaling.Accounts;

namespace RailCloud.Testing;

/// <summary>How a stack's parts reach each other: the API port the emulator calls, and API settings that point elsewhere.</summary>
/// <param name="EmulatorToApi">The port the emulator's event handler calls for the API on this port.</param>
/// <param name="ApiSettings">Settings that replace the API's own (its storage, Web PubSub and client endpoints).</param>
public sealed record StackLinks(Func<int, int> EmulatorToApi, Func<EmulatorServer, AzuriteServer, IDictionary<string, string?>> ApiSettings);

/// <summary>
/// The whole local system over real sockets: Azurite (shared, each stack with its own tables), the Web PubSub
/// emulator, and the local host with the signaling handlers, wired as run.sh wires them.
/// </summary>
public sealed class RailCloudStack : IAsyncDisposable
{
    public const string Password = "correct-horse-1";
    public const string SigningKey = "test-signing-key-that-is-long-enough-0123456789";
    public const string TurnSecret = "test-turn-secret";

    private static readonly Lazy<Task<AzuriteServer>> SharedAzurite = new(StartSharedAzuriteAsync);

    private readonly HttpClient _http;
    private readonly Func<WebApplication> _build;
    private WebApplication _host;

    private RailCloudStack(WebApplication host, Func<WebApplication> build, EmulatorServer emulator, Uri baseUri, string storageConnectionString)
    {
        _host = host;
        _build = build;
        Emulator = emulator;
        BaseUri = baseUri;
        StorageConnectionString = storageConnectionString;
        _http = new HttpClient { BaseAddress = baseUri };
        Api = new RailCloudApi(_http);
    }

    public EmulatorServer Emulator { get; private set; }
    public Uri BaseUri { get; }
    public string StorageConnectionString { get; }
    public RailCloudApi Api { get; }
    public IServiceProvider Services => _host.Services;

    /// <summary>The Azurite every stack shares (each with its own tables).</summary>
    public static Task<AzuriteServer> SharedAzuriteAsync() => SharedAzurite.Value;

    /// <param name="logs">Also receives the log of the API and the emulator (see <see cref="LogCapture"/>).</param>
    /// <param name="systemEvents">The system events the emulator sends the API (a drill leaves out <c>disconnected</c>).</param>
    /// <param name="links">How the parts reach each other when not directly (a simulated network between them, see <see cref="Wan.WanStack"/>).</param>
    public static async Task<RailCloudStack> StartAsync(IDictionary<string, string?>? overrides = null, AzuriteServer? azurite = null, Action<IServiceCollection>? services = null,
        ILoggerProvider? logs = null, string systemEvents = "connect,connected,disconnected", StackLinks? links = null)
    {
        azurite ??= await SharedAzurite.Value;
        var port = FreePort.Next();
        var emulator = await EmulatorServer.StartAsync(EmulatorHandlerSettings(links?.EmulatorToApi(port) ?? port, systemEvents), logs: logs);
        var settings = Settings(azurite, emulator);
        foreach (var (key, value) in links?.ApiSettings(emulator, azurite) ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        WebApplication Build() => LocalHostApp.Build(["--urls", $"http://127.0.0.1:{port}"], builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings);
            services?.Invoke(builder.Services);
            if (logs is not null)
            {
                builder.Logging.AddProvider(logs);
            }
        });
        var host = Build();
        await host.StartAsync();
        return new RailCloudStack(host, Build, emulator, new Uri($"http://127.0.0.1:{port}/"), azurite.ConnectionString);
    }

    /// <summary>
    /// Takes the API down at once, as a crash would: in-flight requests are cut, nothing is drained, and until
    /// <see cref="StartApiAsync"/> its port refuses connections (the emulator's calls to it fail).
    /// </summary>
    public async Task StopApiAsync()
    {
        using var now = new CancellationTokenSource();
        await now.CancelAsync();
        await _host.StopAsync(now.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _host.DisposeAsync();
    }

    /// <summary>Starts the API again on the same port, with the same settings and storage (a new process would).</summary>
    public async Task StartApiAsync()
    {
        _host = _build();
        await _host.StartAsync();
    }

    /// <summary>Stops the Web PubSub emulator (every client connection drops; it keeps no state) and, after <paramref name="downFor"/>, starts a fresh one on the same port.</summary>
    public async Task RestartEmulatorAsync(TimeSpan downFor)
    {
        var port = Emulator.BaseUri.Port;
        await Emulator.DisposeAsync();
        await Task.Delay(downFor);
        Emulator = await EmulatorServer.StartAsync(EmulatorHandlerSettings(BaseUri.Port), port);
    }

    /// <summary>The API's settings for this Azurite and emulator: its own tables, test keys, loopback TURN.</summary>
    public static Dictionary<string, string?> Settings(AzuriteServer azurite, EmulatorServer emulator) => new()
    {
        ["Storage:ConnectionString"] = azurite.ConnectionString,
        ["Storage:TablePrefix"] = "t" + Guid.NewGuid().ToString("N")[..16],
        ["WebPubSub:ConnectionString"] = emulator.ConnectionString,
        ["WebPubSub:Hub"] = "railcloud",
        ["Auth:SigningKey"] = SigningKey,
        ["Auth:LoginsPerMinutePerAddress"] = "10000",
        ["Turn:Urls:0"] = "turn:127.0.0.1:3478?transport=udp",
        ["Turn:Secret"] = TurnSecret,
        ["Stun:Urls:0"] = "stun:127.0.0.1:3478",
        ["Logging:LogLevel:Default"] = "Warning",
    };

    /// <summary>An emulator whose hub sends every event to the API on <paramref name="apiPort"/>, as run.sh sets it up.</summary>
    public static Task<EmulatorServer> StartEmulatorForAsync(int apiPort) => EmulatorServer.StartAsync(EmulatorHandlerSettings(apiPort));

    /// <summary>The emulator's hub settings: every event to the API on <paramref name="apiPort"/> (a drill may leave out a system event).</summary>
    public static Dictionary<string, string?> EmulatorHandlerSettings(int apiPort, string systemEvents = "connect,connected,disconnected") =>
        EmulatorServer.HandlerSettings("railcloud", $"http://127.0.0.1:{apiPort}/api/webpubsub/{{event}}", systemEvents, "*");

    public async Task CreateAccountAsync(string id, string role, string password = Password)
    {
        await Services.GetRequiredService<RailCloud.Signaling.Storage.Tables>().EnsureCreatedAsync();
        var error = await Services.GetRequiredService<AccountService>().CreateAsync(id, role, password);
        if (error is not null)
        {
            throw new InvalidOperationException(error.Message);
        }
    }

    /// <summary>Logs in, connects and registers (kiosk or monitor, by the account's role).</summary>
    public async Task<RailCloudConnection> ConnectAsync(string id, string password = Password, bool register = true)
    {
        var connection = await RailCloudConnection.ConnectAsync(Api, id, password);
        if (register)
        {
            await connection.RegisterAsync();
        }
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await Emulator.DisposeAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _host.StopAsync(timeout.Token);
        await _host.DisposeAsync();
    }

    private static async Task<AzuriteServer> StartSharedAzuriteAsync()
    {
        var azurite = await AzuriteServer.StartAsync();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => azurite.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(5));
        return azurite;
    }
}
