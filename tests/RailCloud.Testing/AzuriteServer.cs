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

    private AzuriteServer(Process process, int port, DirectoryInfo? tlsFolder)
    {
        _process = process;
        Port = port;
        _tlsFolder = tlsFolder;
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

    public static async Task<AzuriteServer> StartAsync(bool keyless = false)
    {
        var tls = keyless ? WriteSelfSignedCertificate() : null;
        var script = Path.Combine(RepoPaths.Root, "node_modules", "azurite", "dist", "src", "table", "main.js");
        if (!File.Exists(script))
        {
            throw new InvalidOperationException($"Azurite is not installed ({script} is missing): run 'npm ci' in {RepoPaths.Root}, or use the README's test command.");
        }
        for (var attempt = 0; ; attempt++)
        {
            var port = FreePort.Next();
            string[] tlsArgs = tls is null ? [] : ["--cert", Path.Combine(tls.FullName, "cert.pem"), "--key", Path.Combine(tls.FullName, "key.pem"), "--oauth", "basic"];
            var start = new ProcessStartInfo("node", [script, "--tableHost", "127.0.0.1", "--tablePort", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--inMemoryPersistence", "--skipApiVersionCheck", "--disableProductStyleUrl", .. tlsArgs])
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
                if (e.Data.Contains("successfully", StringComparison.OrdinalIgnoreCase)) ready.TrySetResult();
            };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var finished = await Task.WhenAny(ready.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(30)));
            if (finished == ready.Task)
            {
                return new AzuriteServer(process, port, tls);
            }
            process.Kill(entireProcessTree: true);
            process.Dispose();
            if (attempt >= 2)
            {
                tls?.Delete(recursive: true);
                lock (output) throw new InvalidOperationException("Azurite did not start:\n" + output);
            }
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

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        _tlsFolder?.Delete(recursive: true);
    }
}
