using System.Diagnostics;
using System.Text;

namespace RailCloud.Testing;

/// <summary>Runs a command-line tool in the repository root and collects what it printed; one that cannot start is a failure, never a skip.</summary>
public static class ToolRun
{
    public sealed record Result(int ExitCode, string Output);

    public static async Task<Result> RunAsync(ProcessStartInfo start, TimeSpan timeout, string whenMissing)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.WorkingDirectory = RepoPaths.Root;
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
            throw new InvalidOperationException(whenMissing, ex);
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
