using System.Diagnostics;
using System.Text;

namespace RailCloud.Testing;

/// <summary>Runs a Node.js script from the repository with the root's node_modules; a missing Node or package is a failure, never a skip.</summary>
public static class NodeScript
{
    public sealed record Result(int ExitCode, string Output);

    public static async Task<Result> RunAsync(string scriptPath, IDictionary<string, string> environment, TimeSpan timeout, params string[] arguments)
    {
        var modules = Path.Combine(RepoPaths.Root, "node_modules", "@azure", "web-pubsub-client");
        if (!Directory.Exists(modules))
        {
            throw new InvalidOperationException($"npm packages are not installed ({modules} is missing): run 'npm ci' in {RepoPaths.Root}, or use the README's test command, which does.");
        }
        var start = new ProcessStartInfo("node", [Path.Combine(RepoPaths.Root, scriptPath), .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepoPaths.Root,
        };
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        using var process = new Process { StartInfo = start };
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("Node.js is not installed or not on PATH; the conformance tests need it.", ex);
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            lock (output) return new Result(-1, output + $"\n(killed after {timeout})");
        }
        process.WaitForExit();
        lock (output) return new Result(process.ExitCode, output.ToString());
    }
}
