using System.Diagnostics;
using System.Text;

namespace RailCloud.Testing;

/// <summary>
/// The <c>railcloud</c> command as a person runs it: a separate process (the railcloud.dll copied beside the test
/// assembly, so the test project references the CLI project), its output collected, killed on dispose.
/// </summary>
public sealed class RailcloudCommand : IDisposable
{
    private readonly StringBuilder _output = new();

    public static string Path => System.IO.Path.Combine(AppContext.BaseDirectory, "railcloud.dll");

    public RailcloudCommand(string[] args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet", [Path, .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }
        Process = Process.Start(start)!;
        Process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        Process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        Process.BeginOutputReadLine();
        Process.BeginErrorReadLine();
    }

    public Process Process { get; }

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>Runs the command to its end (killed after <paramref name="timeout"/>): its exit code and everything it printed.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string[] args, TimeSpan? timeout = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        using var command = new RailcloudCommand(args, environment);
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await command.Process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"railcloud {string.Join(' ', args)} did not finish within {timeout ?? TimeSpan.FromSeconds(60)}. Output:\n{command.Output}");
        }
        command.Process.WaitForExit();
        return (command.Process.ExitCode, command.Output);
    }

    public async Task SendLineAsync(string line)
    {
        await Process.StandardInput.WriteLineAsync(line);
        await Process.StandardInput.FlushAsync();
    }

    /// <summary>Waits until the output holds <paramref name="text"/> (after <paramref name="from"/> characters, if given).</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan? timeout = null, int from = 0)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (Output.IndexOf(text, Math.Min(from, Output.Length), StringComparison.Ordinal) < 0)
        {
            if (DateTime.UtcNow > deadline || Process.HasExited)
            {
                throw new TimeoutException($"'{text}' did not appear{(Process.HasExited ? $" (railcloud exited with {Process.ExitCode})" : "")}. Output so far:\n{Output}");
            }
            await Task.Delay(50);
        }
    }

    public void Dispose()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
            Process.WaitForExit(5000);
        }
        Process.Dispose();
    }
}
