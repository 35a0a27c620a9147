using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;

namespace RailCloud.Testing;

/// <summary>
/// Azurite's Table service (npm <c>azurite</c>) in memory on 127.0.0.1 and a free port; stopped on dispose. With
/// <c>keyless: true</c> it speaks HTTPS (a self-signed certificate, <see cref="CertificatePemPath"/>) and also
/// accepts Entra ID bearer tokens (Azurite's basic OAuth check), like a deployed account reached by identity.
/// </summary>
public sealed class AzuriteServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly DirectoryInfo? _tlsFolder;
    private readonly DirectoryInfo? _dataFolder;
    private bool _handedOver;   // restarted: the new server owns the process slot and the folders

    private AzuriteServer(Process process, int port, DirectoryInfo? tlsFolder, DirectoryInfo? dataFolder)
    {
        _process = process;
        Port = port;
        _tlsFolder = tlsFolder;
        _dataFolder = dataFolder;
    }

    public int Port { get; }

    private string Scheme => _tlsFolder is null ? "http" : "https";

    /// <summary>The self-signed certificate (PEM) of a keyless Azurite, for SSL_CERT_FILE.</summary>
    public string? CertificatePemPath => _tlsFolder is null ? null : Path.Combine(_tlsFolder.FullName, "cert.pem");

    /// <summary>The table endpoint, as a deployment's RAILCLOUD_STORAGE_TABLE_ENDPOINT names it.</summary>
    public Uri TableEndpoint => new($"{Scheme}://127.0.0.1:{Port}/devstoreaccount1");

    /// <summary>Azurite's well-known development account.</summary>
    public string ConnectionString =>
        $"DefaultEndpointsProtocol={Scheme};AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint={TableEndpoint};";

    /// <param name="keyless">HTTPS with a self-signed certificate, and Entra ID bearer tokens accepted.</param>
    /// <param name="onDisk">Keep the data in a folder of its own (else in memory), so <see cref="StopAsync"/> and <see cref="StartAgainAsync"/> keep it.</param>
    public static Task<AzuriteServer> StartAsync(bool keyless = false, bool onDisk = false) =>
        StartAsync(keyless ? WriteSelfSignedCertificate() : null, onDisk ? Directory.CreateTempSubdirectory("railcloud-azurite-data-") : null, port: null);

    /// <summary>
    /// Stops Azurite the way Ctrl+C does (it writes its data out first); its port refuses connections until
    /// <see cref="StartAgainAsync"/>: storage unreachable.
    /// </summary>
    public async Task StopAsync()
    {
        if (_dataFolder is null)
        {
            throw new InvalidOperationException("Only an Azurite started with onDisk: true keeps its data to start again with.");
        }
        await StopGracefullyAsync();
        _handedOver = true;
    }

    /// <summary>
    /// Kills Azurite with SIGKILL, as a crash or an out-of-memory kill would: whatever it had not yet written to disk
    /// (it saves every 5 s) is lost, so <see cref="StartAgainAsync"/> may come back with older versions of rows.
    /// </summary>
    public async Task KillAsync()
    {
        if (_dataFolder is null)
        {
            throw new InvalidOperationException("Only an Azurite started with onDisk: true keeps its data to start again with.");
        }
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        _handedOver = true;
    }

    /// <summary>Starts a stopped Azurite again on the same port and data; the returned server is the one to dispose.</summary>
    public Task<AzuriteServer> StartAgainAsync() =>
        _handedOver ? StartAsync(_tlsFolder, _dataFolder, Port) : throw new InvalidOperationException("Stop it first.");

    private static async Task<AzuriteServer> StartAsync(DirectoryInfo? tls, DirectoryInfo? data, int? port)
    {
        var script = Path.Combine(RepoPaths.Root, "node_modules", "azurite", "dist", "src", "table", "main.js");
        if (!File.Exists(script))
        {
            throw new InvalidOperationException($"Azurite is not installed ({script} is missing): run 'npm ci' in {RepoPaths.Root}, or use the README's test command.");
        }
        for (var attempt = 0; ; attempt++)
        {
            var chosen = port ?? FreePort.Next();
            string[] tlsArgs = tls is null ? [] : ["--cert", Path.Combine(tls.FullName, "cert.pem"), "--key", Path.Combine(tls.FullName, "key.pem"), "--oauth", "basic"];
            string[] dataArgs = data is null ? ["--inMemoryPersistence"] : ["--location", data.FullName];
            // No telemetry: Azurite would otherwise try to send usage data off this machine.
            var start = new ProcessStartInfo("node", [script, "--tableHost", "127.0.0.1", "--tablePort", chosen.ToString(System.Globalization.CultureInfo.InvariantCulture),
                .. dataArgs, "--skipApiVersionCheck", "--disableProductStyleUrl", "--disableTelemetry", .. tlsArgs])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            var process = Process.Start(start) ?? throw new InvalidOperationException("node could not be started for Azurite.");
            var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var output = new System.Text.StringBuilder();
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null) return;
                lock (output) output.AppendLine(e.Data);
                if (e.Data.Contains("successfully started", StringComparison.OrdinalIgnoreCase)) ready.TrySetResult();
            };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var finished = await Task.WhenAny(ready.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(30)));
            if (finished == ready.Task)
            {
                return new AzuriteServer(process, chosen, tls, data);
            }
            process.Kill(entireProcessTree: true);
            process.Dispose();
            // A restart on a fixed port may find it still closing for a moment; a fresh start takes another port.
            if (attempt >= 2)
            {
                tls?.Delete(recursive: true);
                lock (output) throw new InvalidOperationException("Azurite did not start:\n" + output);
            }
            await Task.Delay(500);
        }
    }

    private static DirectoryInfo WriteSelfSignedCertificate()
    {
        var folder = Directory.CreateTempSubdirectory("railcloud-azurite-tls-");
        using var certificate = LoopbackCertificate.Create();
        File.WriteAllText(Path.Combine(folder.FullName, "cert.pem"), certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(folder.FullName, "key.pem"), certificate.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
        return folder;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);

    /// <summary>SIGINT, as Ctrl+C: Azurite closes its database (writing it out) and exits; killed if it has not within 10 s.</summary>
    private async Task StopGracefullyAsync()
    {
        if (!_process.HasExited)
        {
            _ = SendSignal(_process.Id, 2);
            await Task.WhenAny(_process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(10)));
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        _process.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        if (_handedOver)
        {
            return;
        }
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        _tlsFolder?.Delete(recursive: true);
        if (_dataFolder is { Exists: true })
        {
            _dataFolder.Delete(recursive: true);
        }
    }
}
