using System.Diagnostics;
using RailCloud.Testing;

namespace RailCloud.Signaling.Tests;

/// <summary>
/// The linters, run by the README's test command: ESLint with typescript-eslint for the pages (clients/web/eslint.config.mjs)
/// and <c>dotnet format --verify-no-changes</c> for the C# (the rules are in .editorconfig). Fix what they report with
/// <c>npx eslint --fix clients/web</c> and <c>dotnet format RailCloud.sln</c>.
/// </summary>
public sealed class CodeStyleTests
{
    [Fact]
    public async Task ThePagesPassESLint()
    {
        var result = await NodeScript.RunAsync("node_modules/eslint/bin/eslint.js", new Dictionary<string, string>(), TimeSpan.FromMinutes(3),
            "--max-warnings", "0", "clients/web");
        Assert.True(result.ExitCode == 0, "ESLint found problems in the pages:\n" + result.Output);
    }

    [Fact]
    public async Task TheCSharpIsFormattedAsEditorConfigSays()
    {
        // --no-restore: the suite runs after a build, so the projects are restored; this reads them and writes nothing.
        var start = new ProcessStartInfo("dotnet", ["format", "RailCloud.sln", "--verify-no-changes", "--no-restore", "--verbosity", "quiet"]);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        var result = await ToolRun.RunAsync(start, TimeSpan.FromMinutes(8), "The dotnet CLI is not on PATH.");
        Assert.True(result.ExitCode == 0, "dotnet format found code that is not formatted as .editorconfig says (run 'dotnet format RailCloud.sln'):\n" + result.Output);
    }
}
