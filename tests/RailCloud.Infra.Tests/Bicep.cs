using System.Diagnostics;
using System.Reflection;
using System.Text.Json.Nodes;
using RailCloud.Testing;

namespace RailCloud.Infra.Tests;

/// <summary>The Bicep CLI from NuGet, and the compiled template as JSON with every resource of every module.</summary>
public static class Bicep
{
    public static string CliPath { get; } = typeof(Bicep).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "BicepPath").Value!;

    public static string MainFile => Path.Combine(RepoPaths.Root, "infra", "main.bicep");

    public static async Task<(int ExitCode, string Output, string Errors)> RunAsync(params string[] args)
    {
        if (!File.Exists(CliPath))
        {
            throw new InvalidOperationException($"The Bicep CLI is missing at {CliPath}; a restore of this test project downloads it.");
        }
        // NuGet does not keep the executable bit on every platform (this project uses the linux-x64 CLI).
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(CliPath, File.GetUnixFileMode(CliPath) | UnixFileMode.UserExecute);
        }
        var start = new ProcessStartInfo(CliPath, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["BICEP_TRACING_ENABLED"] = "false";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output, await errors);
    }

    private static readonly Lazy<Task<JsonObject>> Compiled = new(async () =>
    {
        var (exitCode, output, errors) = await RunAsync("build", MainFile, "--stdout");
        if (exitCode != 0)
        {
            throw new InvalidOperationException("bicep build failed:\n" + errors);
        }
        return JsonNode.Parse(output)!.AsObject();
    });

    public static Task<JsonObject> TemplateAsync() => Compiled.Value;

    /// <summary>Every resource in the template and in the templates of its nested deployments (modules).</summary>
    public static async Task<List<JsonObject>> ResourcesAsync()
    {
        var all = new List<JsonObject>();
        void Walk(JsonObject template)
        {
            var resources = template["resources"] switch
            {
                JsonArray array => array.Select(r => r!.AsObject()),
                JsonObject symbolic => symbolic.Select(p => p.Value!.AsObject()),
                _ => [],
            };
            foreach (var resource in resources)
            {
                all.Add(resource);
                if (resource["properties"]?["template"] is JsonObject nested)
                {
                    Walk(nested);
                }
            }
        }
        Walk(await TemplateAsync());
        return all;
    }

    public static async Task<List<JsonObject>> OfTypeAsync(string type) =>
        [.. (await ResourcesAsync()).Where(r => string.Equals((string?)r["type"], type, StringComparison.OrdinalIgnoreCase))];
}
