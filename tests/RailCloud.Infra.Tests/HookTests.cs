using System.Diagnostics;
using System.Text.Json.Nodes;
using RailCloud.Testing;

namespace RailCloud.Infra.Tests;

/// <summary>
/// azure.yaml's hooks, run as azd runs them (the hook's shell command, from the project folder, with the
/// environment's values as variables) against stand-in <c>az</c> and <c>azd</c> executables that record their
/// arguments and refuse anything they do not know, as the real ones refuse an unknown flag.
/// </summary>
public sealed class HookTests : IDisposable
{
    private const string ClientId = "00000000-1111-2222-3333-444444444444";
    private readonly DirectoryInfo _project = Directory.CreateTempSubdirectory("railcloud-hooks-");
    private readonly string _log;

    public HookTests()
    {
        var hooks = Directory.CreateDirectory(Path.Combine(_project.FullName, "infra", "hooks"));
        foreach (var file in Directory.GetFiles(Path.Combine(RepoPaths.Root, "infra", "hooks")))
        {
            File.Copy(file, Path.Combine(hooks.FullName, Path.GetFileName(file)));
        }
        var bin = Directory.CreateDirectory(Path.Combine(_project.FullName, "stand-in-bin"));
        foreach (var tool in new[] { "az", "azd" })
        {
            var path = Path.Combine(bin.FullName, tool);
            File.WriteAllText(path, StandIn);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, File.GetUnixFileMode(path) | UnixFileMode.UserExecute);
            }
        }
        _log = Path.Combine(_project.FullName, "calls.jsonl");
    }

    public void Dispose() => _project.Delete(recursive: true);

    /// <summary>The stand-in for both tools (it knows which it is by its file name).</summary>
    private const string StandIn = """
        #!/usr/bin/env node
        const fs = require("node:fs"), path = require("node:path");
        const tool = path.basename(process.argv[1]), args = process.argv.slice(2);
        const refuse = (why) => { process.stderr.write(`${tool}: error: ${why}\n`); process.exit(2); };
        const call = { tool, args };
        if (tool === "azd") {
          if (args[0] !== "env" || args[1] !== "set" || args.length !== 4) refuse(`unknown command or arguments: ${args.join(" ")}`);
        } else {
          if (args[0] !== "rest") refuse(`'${args.slice(0, 3).join(" ")}' is not a command this stand-in knows (unrecognized arguments)`);
          const known = new Set(["--method", "--uri", "--headers", "--body", "--output"]);
          for (let i = 1; i < args.length; i += 2) {
            if (!known.has(args[i])) refuse(`unrecognized arguments: ${args[i]}`);
            call[args[i].slice(2)] = args[i + 1];
          }
          if (call.body?.startsWith("@")) call.body = JSON.parse(fs.readFileSync(call.body.slice(1), "utf8"));
        }
        fs.appendFileSync(process.env.STANDIN_LOG, JSON.stringify(call) + "\n");
        if (tool === "az" && call.uri.startsWith("https://graph.microsoft.com/") && process.env.STANDIN_GRAPH_FAILS) {
          process.stderr.write("ERROR: Forbidden({\"error\":{\"code\":\"Authorization_RequestDenied\",\"message\":\"Insufficient privileges to complete the operation.\"}})\n");
          process.exit(1);
        }
        if (tool === "az" && call.method === "GET") process.stdout.write(JSON.stringify({ spa: { redirectUris: JSON.parse(process.env.STANDIN_SPA_URIS || "[]") } }));
        """;

    private static string HookCommand(string hook, string platform)
    {
        var lines = File.ReadAllLines(Path.Combine(RepoPaths.Root, "azure.yaml"));
        var start = Array.FindIndex(lines, l => l == $"  {hook}:");
        var block = Array.FindIndex(lines, start, l => l.Trim() == $"{platform}:");
        return Array.Find(lines[block..], l => l.TrimStart().StartsWith("run: ", StringComparison.Ordinal))!.Trim()["run: ".Length..];
    }

    private async Task<(int ExitCode, string Output, List<JsonObject> Calls)> RunHookAsync(string hook, Dictionary<string, string> environment)
    {
        var start = new ProcessStartInfo("sh", ["-c", HookCommand(hook, "posix")])
        {
            WorkingDirectory = _project.FullName,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["PATH"] = Path.Combine(_project.FullName, "stand-in-bin") + ":" + Environment.GetEnvironmentVariable("PATH");
        start.Environment["STANDIN_LOG"] = _log;
        foreach (var name in new[] { "RAILCLOUD_API_CLIENT_ID", "RAILCLOUD_TURN_SSH_PUBLIC_KEY", "RAILCLOUD_WEB_URL", "RAILCLOUD_API_URL", "RAILCLOUD_WEBPUBSUB_ENDPOINT", "AZURE_TENANT_ID" })
        {
            start.Environment.Remove(name);
        }
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var calls = File.Exists(_log) ? File.ReadAllLines(_log).Select(l => JsonNode.Parse(l)!.AsObject()).ToList() : [];
        File.Delete(_log);
        return (process.ExitCode, await output + await errors, calls);
    }

    private static Dictionary<string, string> Provisioned(params (string Key, string Value)[] extra)
    {
        var environment = new Dictionary<string, string>
        {
            ["RAILCLOUD_API_CLIENT_ID"] = ClientId,
            ["RAILCLOUD_WEB_URL"] = "https://nice-sea-0123.westeurope.azurestaticapps.net",
            ["AZURE_SUBSCRIPTION_ID"] = "99999999-8888-7777-6666-555555555555",
            ["AZURE_RESOURCE_GROUP"] = "rg-railcloud-prod",
            ["AZURE_FUNCTION_APP_NAME"] = "func-abc123",
        };
        foreach (var (key, value) in extra)
        {
            environment[key] = value;
        }
        return environment;
    }

    [Theory]
    [InlineData("preprovision")]
    [InlineData("postprovision")]
    [InlineData("prepackage")]
    public void EachHookIsOneNodeScriptThatRunsTheSameOnWindows(string hook)
    {
        var posix = HookCommand(hook, "posix");

        Assert.Equal(posix, HookCommand(hook, "windows"));
        Assert.Matches("^node infra/hooks/[a-z]+\\.mjs$", posix);
        Assert.True(File.Exists(Path.Combine(RepoPaths.Root, posix["node ".Length..])));
    }

    [Fact]
    public async Task PostprovisionAddsTheSpaRedirectUriThroughGraphKeepingOthersAndRefreshesKeyVaultReferences()
    {
        var (exitCode, output, calls) = await RunHookAsync("postprovision", Provisioned(("STANDIN_SPA_URIS", "[\"http://localhost:5173/auth-redirect.html\"]")));

        Assert.True(exitCode == 0, output);
        var application = $"https://graph.microsoft.com/v1.0/applications(appId='{ClientId}')";
        Assert.Equal(["GET", "PATCH", "POST"], calls.Select(c => (string)c["method"]!));
        Assert.Equal(application + "?$select=spa", (string?)calls[0]["uri"]);
        Assert.Equal(application, (string?)calls[1]["uri"]);
        Assert.Equal("Content-Type=application/json", (string?)calls[1]["headers"]);
        Assert.Equal("""{"spa":{"redirectUris":["http://localhost:5173/auth-redirect.html","https://nice-sea-0123.westeurope.azurestaticapps.net/auth-redirect.html"]}}""",
            calls[1]["body"]!.ToJsonString());
        Assert.Equal("https://management.azure.com/subscriptions/99999999-8888-7777-6666-555555555555/resourceGroups/rg-railcloud-prod/providers/Microsoft.Web/sites/func-abc123/config/configreferences/appsettings/refresh?api-version=2022-03-01",
            (string?)calls[2]["uri"]);
    }

    [Fact]
    public async Task PostprovisionChangesNothingWhenTheRedirectUriIsThereAndFailsLoudlyWhenGraphRefuses()
    {
        var (again, _, calls) = await RunHookAsync("postprovision", Provisioned(("STANDIN_SPA_URIS", "[\"https://nice-sea-0123.westeurope.azurestaticapps.net/auth-redirect.html\"]")));
        var (refused, output, refusedCalls) = await RunHookAsync("postprovision", Provisioned(("STANDIN_GRAPH_FAILS", "1")));

        Assert.Equal(0, again);
        Assert.DoesNotContain(calls, c => (string?)c["method"] == "PATCH");
        Assert.NotEqual(0, refused);
        Assert.Contains("Insufficient privileges", output);
        Assert.Contains("Entra admin center", output);
        Assert.Single(refusedCalls);   // nothing after the refused read
    }

    [Fact]
    public async Task PreprovisionGivesTheTurnVmAnRsaKeyWhenNoneIsSetAndLeavesAGivenOneAlone()
    {
        var (exitCode, output, calls) = await RunHookAsync("preprovision", new() { ["RAILCLOUD_API_CLIENT_ID"] = ClientId });
        var (givenExit, _, givenCalls) = await RunHookAsync("preprovision", new() { ["RAILCLOUD_API_CLIENT_ID"] = ClientId, ["RAILCLOUD_TURN_SSH_PUBLIC_KEY"] = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMine me@laptop" });
        var (missingExit, missingOutput, missingCalls) = await RunHookAsync("preprovision", []);

        Assert.True(exitCode == 0, output);
        var set = Assert.Single(calls);
        Assert.Equal(["env", "set", "RAILCLOUD_TURN_SSH_PUBLIC_KEY"], set["args"]!.AsArray().Take(3).Select(a => (string)a!));
        var key = ((string)set["args"]![3]!).Split(' ');
        Assert.Equal("ssh-rsa", key[0]);
        // RFC 4253: string "ssh-rsa", mpint e, mpint n; Azure wants RSA of at least 2048 bits.
        var blob = Convert.FromBase64String(key[1]);
        var offset = 0;
        byte[] Next()
        {
            var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(blob.AsSpan(offset));
            var value = blob.AsSpan(offset + 4, length).ToArray();
            offset += 4 + length;
            return value;
        }
        Assert.Equal("ssh-rsa", System.Text.Encoding.ASCII.GetString(Next()));
        Assert.Equal(new System.Numerics.BigInteger(65537), new System.Numerics.BigInteger(Next(), isUnsigned: true, isBigEndian: true));
        Assert.Equal(3072, (int)new System.Numerics.BigInteger(Next(), isUnsigned: true, isBigEndian: true).GetBitLength());
        Assert.Equal(blob.Length, offset);

        Assert.Equal(0, givenExit);
        Assert.Empty(givenCalls);
        Assert.NotEqual(0, missingExit);
        Assert.Contains("RAILCLOUD_API_CLIENT_ID is not set", missingOutput);
        Assert.Empty(missingCalls);
    }

    [Fact]
    public async Task PrepackageWritesThePagesConfigWithAScopeEntraAcceptsAndRefusesToRunBeforeProvisioning()
    {
        Directory.CreateDirectory(Path.Combine(_project.FullName, "clients", "web", "static"));
        var config = Path.Combine(_project.FullName, "clients", "web", "static", "config.json");
        var (early, earlyOutput, _) = await RunHookAsync("prepackage", new() { ["RAILCLOUD_API_CLIENT_ID"] = ClientId, ["AZURE_TENANT_ID"] = "55555555-6666-7777-8888-999999999999" });
        var earlyConfig = File.Exists(config);
        var (exitCode, output, _) = await RunHookAsync("prepackage", new()
        {
            ["RAILCLOUD_API_URL"] = "https://func-abc123.azurewebsites.net",
            ["RAILCLOUD_WEBPUBSUB_ENDPOINT"] = "https://wps-abc123.webpubsub.azure.com",
            ["RAILCLOUD_API_CLIENT_ID"] = ClientId,
            ["AZURE_TENANT_ID"] = "55555555-6666-7777-8888-999999999999",
        });

        Assert.NotEqual(0, early);
        Assert.Contains("Run 'azd provision' before packaging", earlyOutput);
        Assert.False(earlyConfig);
        Assert.True(exitCode == 0, output);
        var json = JsonNode.Parse(await File.ReadAllTextAsync(config))!;
        Assert.Equal("https://func-abc123.azurewebsites.net", (string?)json["apiBaseUrl"]);
        Assert.Equal("https://wps-abc123.webpubsub.azure.com", (string?)json["webPubSubEndpoint"]);
        Assert.Equal(ClientId, (string?)json["entra"]!["clientId"]);
        Assert.Equal("https://login.microsoftonline.com/55555555-6666-7777-8888-999999999999", (string?)json["entra"]!["authority"]);
        // Not api://<id>/.default: the pages sign in as the API's own app, and Entra refuses that (AADSTS90009).
        Assert.Equal($"{ClientId}/.default", (string?)json["entra"]!["scope"]);
    }
}
